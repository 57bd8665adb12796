"""Build-time translation of the student texts that are not `_()` calls: the docstrings that
`build` copies from `solutions/` into the stubs and the notebook (course side only: never shipped).

A docstring is translated paragraph by paragraph (paragraphs are separated by a blank line); each
paragraph, as `inspect.cleandoc` leaves it, is one catalogue entry. `extract_docstrings` is the
Babel extractor that puts them in the catalogue (registered in babel.cfg for `solutions/*.py`).
"""
from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from .i18n import _, current_language, set_language

DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Say every `_()` message in `lang` inside the block (None: as the locale variables ask), then
    go back to the language spoken before. Yields the language chosen."""
    before = current_language()
    try:
        yield set_language(lang)
    finally:
        set_language(before)


def paragraphs(docstring: str) -> list[str]:
    """The paragraphs of a docstring, cleaned like `inspect.cleandoc` ("Summary.", "x: (N, K) ...\\nMath: ...")."""
    return [p.strip("\n") for p in inspect.cleandoc(docstring).split("\n\n") if p.strip()]


def translated(docstring: str) -> str:
    """A docstring's cleaned text with each paragraph in the current language."""
    return "\n\n".join(_(p) for p in paragraphs(docstring))


def _docstring_nodes(tree: ast.Module) -> Iterator[ast.Expr]:
    for node in ast.walk(tree):
        if isinstance(node, DOCUMENTED) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                yield first


def _literal(text: str, indent: str, multiline: bool) -> str:
    """`text` as a triple-quoted docstring at `indent` (closing quotes on their own line if `multiline`)."""
    escaped = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = escaped.split("\n")
    body = lines[0] + "".join("\n" + (indent + line if line else "") for line in lines[1:])
    return f'{indent}"""{body}' + (f'\n{indent}"""' if multiline else '"""')


def translate_docstrings(source: str, filename: str = "<source>") -> str:
    """`source` with every module, class and function docstring in the current language (code,
    comments and layout otherwise untouched)."""
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    for expr in sorted(_docstring_nodes(tree), key=lambda e: e.lineno, reverse=True):
        first, last = expr.lineno - 1, (expr.end_lineno or expr.lineno) - 1
        rest = lines[last][expr.end_col_offset or 0:]
        if rest.strip() or lines[first][: expr.col_offset].strip():
            raise ValueError(f"{filename}:{expr.lineno}: a docstring shares its line with code")
        doc = expr.value.value  # type: ignore[attr-defined]
        new = _literal(translated(doc), lines[first][: expr.col_offset], multiline="\n" in doc)
        lines[first : last + 1] = [new + rest]
    result = "".join(lines)
    ast.parse(result, filename)  # a translation that broke the code is caught here, not in a student's stub
    return result


def extract_docstrings(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                       options: dict[str, Any]) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel extractor: every paragraph of every docstring of a Python file, as one message each."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    for expr in sorted(_docstring_nodes(ast.parse(source)), key=lambda e: e.lineno):
        for paragraph in paragraphs(expr.value.value):  # type: ignore[attr-defined]
            yield expr.lineno, None, paragraph, ["docstring paragraph: keep code names, shapes and numbers as they are"]
