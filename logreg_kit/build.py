"""Generate the student stubs in `assignments/` from the reference in `solutions/`.

Each `### BEGIN SOLUTION` ... `### END SOLUTION` region becomes one line,
`raise NotImplementedError("Exercise N: name")`, at the region's indentation (its message said in
the build's language: `exercises.stub_message`).
Everything outside the regions (docstrings, signatures, given code) is copied as is; in a
translated build (`render_assignments(lang="zh_CN")`, for `logreg-kit release --lang`) the
docstrings and the header are said in that language through the catalogue.
"""
import ast
from pathlib import Path

from .exercises import MODULES, exercise_of, stub_message
from .i18n import SOURCE_LANGUAGE, N_, _, current_language
from .localised import speaking, translate_docstrings
from .paths import ASSIGNMENTS, ROOT, SOLUTIONS  # noqa: F401  (ROOT: re-exported)

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"

PACKAGE_SUMMARY = N_("Your exercises for the logistic-regression lesson.")
PACKAGE_HOWTO = N_("Fill in every `raise NotImplementedError(...)` in losses.py, softmax.py, logreg.py\n"
                   "and sgd.py, then run `pytest grader/` from the repository root to see your score.")
PACKAGE_DOC = f'"""{PACKAGE_SUMMARY}\n\n{PACKAGE_HOWTO}\n"""\n'
HEADER = N_(
    "# Exercise file: replace each `raise NotImplementedError(...)` with your code.\n"
    "# (Generated from solutions/{name} by `python -m logreg_kit build`.)\n"
)


class MarkerError(ValueError):
    """A solution file whose markers are unbalanced or outside any function."""


def _functions(tree: ast.Module) -> list[tuple[str, int, int]]:
    """(qualname, first line, last line) of every function and method, outermost first."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.FunctionDef):
                    found.append((name, child.lineno, child.end_lineno or child.lineno))
                visit(child, name + ".")

    visit(tree, "")
    return found


def _enclosing(functions: list[tuple[str, int, int]], lineno: int) -> str:
    """Qualname of the innermost function that contains line `lineno` (1-based)."""
    inside = [f for f in functions if f[1] <= lineno <= f[2]]
    if not inside:
        raise MarkerError(f"line {lineno}: solution marker outside a function")
    return max(inside, key=lambda f: f[1])[0]


def header(filename: str) -> str:
    """The comment that opens a stub file, in the current language."""
    return _(HEADER, name=filename)


def quoted(text: str) -> str:
    """`text` as a double-quoted Python string literal, its characters as they are ("练习 3：softmax")."""
    if "\n" in text or "\r" in text:
        raise ValueError(f"a stub's message must be one line: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stub_source(source: str, filename: str) -> str:
    """The student version of one solution file."""
    functions = _functions(ast.parse(source, filename))
    out: list[str] = [header(filename)]
    region_start = None
    for lineno, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if region_start is not None:
                raise MarkerError(f"{filename}:{lineno}: nested {BEGIN}")
            region_start = lineno
            qualname = _enclosing(functions, lineno)
            indent = line[: len(line) - len(line.lstrip())]
            try:
                ex = exercise_of(qualname)
            except KeyError:
                raise MarkerError(f"{filename}:{lineno}: {qualname} belongs to no exercise") from None
            out.append(f"{indent}raise NotImplementedError({quoted(stub_message(ex.id, qualname))})\n")
        elif marker == END:
            if region_start is None:
                raise MarkerError(f"{filename}:{lineno}: {END} without {BEGIN}")
            region_start = None
        elif region_start is None:
            out.append(line)
    if region_start is not None:
        raise MarkerError(f"{filename}:{region_start}: {BEGIN} never closed")
    return "".join(out)


def solution_source(name: str, solutions: Path = SOLUTIONS) -> str:
    """A solution file's text, its docstrings in the current language (as written in English)."""
    source = (solutions / name).read_text()
    return source if current_language() == SOURCE_LANGUAGE else translate_docstrings(source, name)


def render_assignments(solutions: Path = SOLUTIONS, lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """File name -> text of every file of the generated `assignments/` package, in `lang`
    (English: the committed stubs; another language: the same code, its texts translated)."""
    with speaking(lang):
        package_doc = PACKAGE_DOC if lang == SOURCE_LANGUAGE else translate_docstrings(PACKAGE_DOC, "__init__.py")
        files = {"__init__.py": package_doc}
        for module in MODULES:
            name = f"{module}.py"
            files[name] = stub_source(solution_source(name, solutions), name)
    return files


def stale_files(dest: Path = ASSIGNMENTS, solutions: Path = SOLUTIONS) -> list[str]:
    """Names of generated files that are missing or differ from what `build` would write."""
    expected = render_assignments(solutions)
    return [
        name
        for name, text in expected.items()
        if not (dest / name).is_file() or (dest / name).read_text() != text
    ]


def build(dest: Path = ASSIGNMENTS, solutions: Path = SOLUTIONS) -> list[str]:
    """Write `assignments/`; return the names of the files that changed."""
    changed = stale_files(dest, solutions)
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in render_assignments(solutions).items():
        if name in changed:
            (dest / name).write_text(text)
    return changed
