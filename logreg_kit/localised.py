"""Build-time translation of the student texts that are not `_()` calls: the docstrings that
`build` copies from `solutions/` into the stubs and the notebook (course side only: never shipped).

A docstring is translated paragraph by paragraph (paragraphs are separated by a blank line); each
paragraph, as `inspect.cleandoc` leaves it, is one catalogue entry. `extract_docstrings` is the
Babel extractor that puts them in the catalogue (registered in babel.cfg for `solutions/*.py`).

A bundle ships each language's compiled catalogue cut down to the messages its own modules say
(`only_said`): no hidden check's title or hint, no text of the reference, reaches a student.
"""
from __future__ import annotations

import ast
import inspect
import struct
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .i18n import _, speaking  # noqa: F401  (speaking: re-exported for build, release and tests)

DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


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


# --- a bundle's catalogues: only the messages its own code says ---------------------------------

MO_MAGIC = 0x950412DE
KEYWORDS = ("_", "N_", "ngettext")  # as extracted (logreg_kit.catalogue): ngettext's singular and plural


def said_messages(sources: Iterable[str]) -> set[bytes]:
    """The catalogue keys of every message that Python `sources` say or declare: the string
    arguments of `_`, `N_` and `ngettext` calls ("singular\\0plural" for ngettext), UTF-8."""
    keys: set[bytes] = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in KEYWORDS):
                continue
            texts = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if texts:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                keys.add("\0".join(texts if name == "ngettext" else texts[:1]).encode())
    return keys


def mo_entries(data: bytes) -> dict[bytes, bytes]:
    """The (original, translation) pairs of a compiled gettext catalogue (.mo), as stored."""
    order = "<" if struct.unpack("<I", data[:4])[0] == MO_MAGIC else ">"
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])
    entries = {}
    for i in range(count):
        olen, ooff = struct.unpack(order + "2I", data[originals + 8 * i: originals + 8 * i + 8])
        tlen, toff = struct.unpack(order + "2I", data[translations + 8 * i: translations + 8 * i + 8])
        entries[data[ooff: ooff + olen]] = data[toff: toff + tlen]
    return entries


def mo_bytes(entries: dict[bytes, bytes]) -> bytes:
    """A compiled gettext catalogue (.mo, little-endian, no hash table) of `entries`."""
    keys = sorted(entries)
    originals, translations = 28, 28 + 8 * len(keys)
    start = translations + 8 * len(keys)
    table, data = [], b""
    for blob in keys + [entries[k] for k in keys]:
        table.append(struct.pack("<2I", len(blob), start + len(data)))
        data += blob + b"\0"
    head = struct.pack("<7I", MO_MAGIC, 0, len(keys), originals, translations, 0, 0)
    return head + b"".join(table) + data


def only_said(mo: bytes, sources: Iterable[str]) -> bytes:
    """The compiled catalogue `mo` cut down to its header and the messages `sources` say."""
    wanted = said_messages(sources) | {b""}
    return mo_bytes({k: v for k, v in mo_entries(mo).items() if k in wanted})
