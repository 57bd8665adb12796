"""A notebook's solution cells as code: read from a submitted notebook, written as a package folder,
and named again in messages about the converted modules' lines.

`notebook_package(path)` turns a submitted notebook back into a package folder with losses.py,
softmax.py, logreg.py and sgd.py, so every route grades it with the same checks; routes reach it
through the one intake (`logreg_kit.intake.take_in`). The in-kernel self-check is `notebooks`; the
generator of the course notebook is `notebook_build` (course side only).
"""
import ast
import builtins
import json
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .paths import ASSIGNMENTS, ROOT
from .exercises import BY_ID, EXERCISES, MODULE_OF, MODULES, exercise_of, label
from .i18n import _

COURSE = ROOT / "course"
NOTEBOOK = COURSE / "source" / "logreg" / "logreg.ipynb"
TEST_PREFIX = "test_ex"
SOLUTION_PREFIX = "ex"
MAX_NOTEBOOK_BYTES = 100 * 1024**2  # a submitted notebook, outputs included

# The imports of the notebook's first cell that solution cells may use (every cell shares the kernel's
# namespace), so every converted module starts with them too; notebook_build writes them into that cell.
KERNEL_IMPORTS = """\
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset"""

CELL_MARK = "# --- solution cell {grade_id} (exercise {label}) ---"  # opens each cell in a converted module
_CELL_MARK = re.compile(r"^# --- solution cell (\S+) \(exercise [^)]*\) ---$")
# "logreg.py line 16", "logreg.py has a syntax error at line 16", "logreg.py could not be imported: ... (line 16)"
_MODULE_LINE = re.compile(r"\b(\w+)\.py( |\b[^\n]*?\b)line (\d+)\b")
# impl.describe_import_error's "logreg.py could not be imported: NameError: ... (line 16)"
_IMPORT_ERROR = re.compile(r"\b(\w+)\.py could not be imported: ([^\n]*) \(line (\d+)\)")
FUTURE_MARK = "# (moved to the top of the module: from __future__ must come first) "
# Top-level statements of a solution cell that the name rule of `own_checks` never drops: they define things.
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


class NotebookError(ValueError):
    """A file that is not a readable Jupyter notebook."""


class NoCellMetadata(NotebookError):
    """A notebook none of whose cells carries nbgrader's grade_id (an editor dropped the metadata)."""

    def __init__(self) -> None:
        super().__init__(_("the notebook has no nbgrader cell metadata (its editor may have dropped it), so its solution "
                           "cells cannot be told apart from the rest: submit the notebook as saved by Jupyter"))


def _preamble(module: str, given: Path = ASSIGNMENTS) -> str:
    """The trusted part of a module: its imports and given code (read from the generated stubs,
    which carry the reference's given code and exist in the student bundle too), then every name
    of the earlier modules (in the notebook all cells share one namespace)."""
    source = (given / f"{module}.py").read_text()
    tree = ast.parse(source)
    lines = source.splitlines()
    keep = []
    for node in tree.body:
        owner = None
        name = getattr(node, "name", None)
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if name:
            try:
                owner = exercise_of(name).id
            except KeyError:
                owner = None
        if owner is None and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            keep.append("\n".join(lines[first - 1 : node.end_lineno]))
    earlier = [f"from .{m} import *  # noqa: F403" for m in MODULES[: MODULES.index(module)]]
    return "\n".join([KERNEL_IMPORTS] + earlier + keep) + "\n"


def _python(cell_source: str) -> str:
    """A cell's code as plain Python: IPython magics and shell lines become comments."""
    out = []
    for line in cell_source.splitlines():
        stripped = line.lstrip()
        out.append(f"# {line}" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


def future_imports(cell: str) -> tuple[list[str], str]:
    """A cell's `from __future__ import ...` statements, and the cell with each of their lines
    turned into a comment (line numbers kept). In a notebook they open the cell; in the converted
    module they must open the module, above the kit's preamble. A cell that does not parse is
    left as it is (its syntax error is reported by the import)."""
    try:
        tree = ast.parse(cell)
    except (SyntaxError, ValueError):
        return [], cell
    lines = cell.splitlines()
    futures: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            span = range(node.lineno - 1, node.end_lineno or node.lineno)
            futures.append(" ".join(lines[i].strip() for i in span))
            for i in span:
                lines[i] = FUTURE_MARK + lines[i]
    return futures, "\n".join(lines)


def _bound(node: ast.AST) -> set[str]:
    """Every name a statement can bind, nested scopes included (over-counting keeps more code)."""
    found: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
            found.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(sub.name)
        elif isinstance(sub, ast.arg):
            found.add(sub.arg)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            found |= {(a.asname or a.name).split(".")[0] for a in sub.names}
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            found |= set(sub.names)
    return found


def _read(node: ast.AST) -> set[str]:
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}


def _look(node: ast.stmt) -> bool:
    """A top-level expression statement (`print(...)`, `plt.plot(...)`, `model(x)`, a bare name);
    not a docstring or other constant, and not one with `:=`, which binds a name."""
    return (isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant)
            and not any(isinstance(sub, ast.NamedExpr) for sub in ast.walk(node)))


def _droppable(node: ast.stmt) -> bool:
    """May the name rule drop it: no definition, import or `:=`, and it binds no exercise name."""
    return (not isinstance(node, DEFINITIONS) and not any(isinstance(s, ast.NamedExpr) for s in ast.walk(node))
            and not _bound(node) & MODULE_OF.keys())


def own_checks(trees: list[ast.Module], trusted: set[str]) -> list[ast.stmt]:
    """The top-level statements of a notebook's solution cells (`trees`) that are the student's own
    checks, which the grader does not run: every expression statement (`_look`), and every other
    statement (`_droppable`) that reads a name defined nowhere in the converted package (the
    notebook's given cells define x_valid, loader, plt, model, ...; `trusted`: the names the
    package's preambles define), or only by statements dropped here. Linear in the cells' size."""
    body = [node for tree in trees for node in tree.body]
    looks = [i for i, node in enumerate(body) if _look(node)]
    if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in body):
        return [body[i] for i in looks]  # `from m import *` may define any name
    known = trusted | set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__spec__", "__package__"}
    bound, reads = [_bound(n) for n in body], [_read(n) for n in body]
    may_drop = [_droppable(n) for n in body]
    binders = Counter(name for names in bound for name in names)
    readers: dict[str, list[int]] = {}
    for i, names in enumerate(reads):
        for name in names - known:
            readers.setdefault(name, []).append(i)
    todo = looks + [i for i, names in enumerate(reads) if may_drop[i] and any(not binders[n] for n in names - known)]
    dropped: set[int] = set()
    while todo:
        i = todo.pop()
        if i in dropped:
            continue
        dropped.add(i)
        for name in bound[i]:
            binders[name] -= 1
            if not binders[name]:  # defined only by dropped statements now
                todo += [j for j in readers.get(name, []) if may_drop[j]]
    return [body[i] for i in sorted(dropped)]


def as_pass(cell: str, nodes: list[ast.stmt]) -> str:
    """The cell with each of `nodes` (top-level statements of it) replaced by `pass` on its last
    line and blank lines above (line numbers kept; a statement sharing a line keeps its place)."""
    lines = cell.split("\n")
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        head = lines[first].encode()[: node.col_offset].decode()
        tail = lines[last].encode()[node.end_col_offset :].decode()
        if last == first:
            lines[first] = f"{head}pass{tail}"
        else:
            lines[first : last + 1] = [head] + [""] * (last - first - 1) + [f"pass{tail}"]
    return "\n".join(lines)


def without_own_checks(cells: dict[str, str], trusted: set[str]) -> dict[str, str]:
    """Each cell (exercise id -> code) with its own checks (`own_checks`) replaced by `pass`; a cell
    that does not parse is left as it is (its syntax error is reported by the import)."""
    trees: dict[str, ast.Module] = {}
    for ex_id, code in cells.items():
        try:
            trees[ex_id] = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    dropped = {id(node) for node in own_checks(list(trees.values()), trusted)}
    return {ex_id: as_pass(code, [n for n in trees[ex_id].body if id(n) in dropped]) if ex_id in trees else code
            for ex_id, code in cells.items()}


def solution_cells(notebook_path: Path | str) -> dict[str, str]:
    """Exercise id -> source of the notebook's solution cell for it (found by nbgrader grade_id).
    NoCellMetadata when no cell has a grade_id: a notebook without its metadata is never graded 0 in silence."""
    try:
        path = Path(notebook_path)
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(_("over {limit} MB", limit=MAX_NOTEBOOK_BYTES // 2**20))
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, RecursionError, MemoryError) as err:
        # RecursionError: JSON nested deeper than the reader goes (a notebook of 200,000 `[`)
        raise NotebookError(_("{notebook}: not a readable Jupyter notebook ({error})", notebook=notebook_path,
                              error=type(err).__name__)) from None
    found: dict[str, str] = {}
    any_grade_id = False
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
        grade_id = meta.get("grade_id", "") if isinstance(meta, dict) else ""
        any_grade_id = any_grade_id or bool(grade_id)
        ex_id = grade_id[len(SOLUTION_PREFIX):] if isinstance(grade_id, str) and grade_id.startswith(SOLUTION_PREFIX) else None
        if cell.get("cell_type") == "code" and ex_id in BY_ID:
            found[ex_id] = _text(cell.get("source", ""))
    if not any_grade_id:
        raise NoCellMetadata()
    return found


def _text(source: Any) -> str:
    """A cell's source: a string or a list of strings (anything else in the list is left out)."""
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def write_package(cells: dict[str, str], dest: Path, given: Path = ASSIGNMENTS) -> Path:
    """Write losses.py ... sgd.py: each module's trusted preamble, then its exercises' cells (each
    cell's own checks, `own_checks`, replaced by `pass`)."""
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "__init__.py").write_text('"""A notebook submission, converted by logreg-kit."""\n')
    preambles = {module: _preamble(module, given) for module in MODULES}
    trusted = {name for text in preambles.values() for name in _bound(ast.parse(text))}
    futures_of: dict[str, list[str]] = {}
    code_of: dict[str, str] = {}
    for ex_id, cell in cells.items():
        futures_of[ex_id], code_of[ex_id] = future_imports(_python(cell))
    code_of = without_own_checks(code_of, trusted)
    for module in MODULES:
        futures: list[str] = []
        parts = [preambles[module]]
        for ex in EXERCISES:
            if ex.module == module and ex.id in cells:
                mark = CELL_MARK.format(grade_id=f"{SOLUTION_PREFIX}{ex.id}", label=label(ex.id))
                futures += futures_of[ex.id]
                parts.append(f"{mark}\n{code_of[ex.id]}\n")
        head = "".join(f"{line}\n" for line in dict.fromkeys(futures))
        (dest / f"{module}.py").write_text(head + "\n\n".join(parts))
    return dest


def cell_line(source: str, line: int) -> tuple[str, int] | None:
    """The solution cell (grade id) and its line that line `line` of a converted module came from;
    None when the module is not a converted notebook or the line lies in its trusted preamble."""
    lines = source.splitlines()
    for i in range(min(line, len(lines)) - 1, -1, -1):
        found = _CELL_MARK.match(lines[i])
        if found:
            return found.group(1), line - i - 1
    return None


def cell_location(source: str, line: int) -> str | None:
    """Where line `line` of a converted module came from ("solution cell ex4, line 3"), or None."""
    found = cell_line(source, line)
    return _("solution cell {cell}, line {line}", cell=found[0], line=found[1]) if found else None


def said_location(found: re.Match[str]) -> str:
    """A "MODULE.py line N" that _MODULE_LINE found, in the reader's language ("losses.py 第 7 行")."""
    module, between, line = found.group(1), found.group(2), int(found.group(3))
    file = module + ".py"
    if between == " ":
        return _("{file} line {line}", file=file, line=line)
    return file + between + _("line {line}", line=line)


def in_cells(message: str, sources: dict[str, str | None]) -> str:
    """`message` with every "MODULE.py line N" (also "MODULE.py has a syntax error at line N", and
    "MODULE.py could not be imported: ERROR (line N)", which becomes "solution cell ex4, line 7:
    ERROR") of a converted notebook module (`sources`: module -> its text) named by the notebook's
    solution cell instead: students never see the module. Locations in a submission's own files
    are said in the reader's language (said_location): the code that finds them (probes.explain,
    scratch.located, impl.describe_import_error) writes "FILE.py line N" alike in every language."""
    def where(module: str, line: str) -> tuple[str, int] | None:
        source = sources.get(module)
        return cell_line(source, int(line)) if source else None

    def import_error(found: re.Match[str]) -> str:
        cell = where(found.group(1), found.group(3))
        if cell is None:
            return found.group(0)
        return _("solution cell {cell}, line {line}", cell=cell[0], line=cell[1]) + ": " + found.group(2)

    def relocate(found: re.Match[str]) -> str:
        cell = where(found.group(1), found.group(3))
        if cell is None:
            return said_location(found)
        between = ", " if found.group(2) == " " else found.group(2)
        return _("solution cell {cell}", cell=cell[0]) + between + _("line {line}", line=cell[1])

    return _MODULE_LINE.sub(relocate, _IMPORT_ERROR.sub(import_error, message))


def notebook_package(notebook_path: Path | str, dest: Path | None = None) -> Path:
    """Convert a notebook to a package folder (a fresh temporary one unless `dest` is given)."""
    cells = solution_cells(notebook_path)
    folder = dest if dest is not None else Path(tempfile.mkdtemp(prefix="logreg_nb_"))
    return write_package(cells, folder)
