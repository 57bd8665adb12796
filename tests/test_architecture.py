"""The layers of docs/architecture.md hold: every module placed, no import circle, no import up a
floor, and an import inside a function only to defer a heavy one, downward, with a comment saying so.

Imports are read from the source (ast), at the top of a module, under `if TYPE_CHECKING:` and
inside functions alike; nothing is imported here.
"""
import ast
import re
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "logreg_kit"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
LAZY_WORDS = ("lazy", "heavy")  # what the comment of an import inside a function says


def package_sources(root: Path = ROOT / PACKAGE) -> dict[str, tuple[str, bool]]:
    """Dotted module name -> (source, is a package's __init__) for every module under `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        is_init = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_init else parts)] = (path.read_text(), is_init)
    return found


def layer_map(text: str) -> list[tuple[int, str, list[str]]]:
    """(floor, name, module patterns) of every row of the layer table in architecture.md's text."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], re.findall(r"`([^`]+)`", cells[2])))
    return rows


def floor_of(module: str, rows: list[tuple[int, str, list[str]]]) -> list[int]:
    """The floors whose patterns name `module` (`__init__`: the package; `x.*`: every module of x)."""
    short = "__init__" if module == PACKAGE else module.removeprefix(PACKAGE + ".")
    return [floor for floor, _name, patterns in rows
            if any(p == short or (p.endswith(".*") and short.startswith(p[:-1])) for p in patterns)]


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_init: bool, modules: set[str]) -> list[str]:
    """The package's modules an import statement of `module` names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in modules]
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_init else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    out = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    return [t for t in out if t in modules]


class Edge(NamedTuple):
    importer: str
    imported: str
    line: int
    inner: bool  # inside a function
    comment: str  # the comments on the statement and on the import lines right above it


def _comment(lines: list[str], node: ast.stmt) -> str:
    """The comments of an import statement's lines and of the import or comment lines just above it
    (the statement's block), lower-cased."""
    first = node.lineno - 1
    while first > 0 and re.match(r"\s*(from |import |#)", lines[first - 1]):
        first -= 1
    span = lines[first : node.end_lineno or node.lineno]
    return " ".join(line.split("#", 1)[1] for line in span if "#" in line).lower()


def imports(sources: dict[str, tuple[str, bool]]) -> list[Edge]:
    """Every import of one package module by another, wherever it stands in the module."""
    modules = set(sources)
    edges = []
    for module, (source, is_init) in sources.items():
        tree, lines = ast.parse(source), source.splitlines()
        inside: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                inside |= {id(n) for n in ast.walk(fn) if n is not fn}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node, module, is_init, modules):
                    if target != module:
                        edges.append(Edge(module, target, node.lineno, id(node) in inside, _comment(lines, node)))
    return edges


def circles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph: dict[str, set[str]] = {}
    for a, b, *_rest in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def upward(edges: list[Edge], rows: list[tuple[int, str, list[str]]]) -> list[str]:
    """Every import that runs up a floor, as `importer (floor) line N -> imported (floor)`."""
    bad = []
    for a, b, line, *_rest in edges:
        fa, fb = floor_of(a, rows), floor_of(b, rows)
        if fa and fb and fb[0] > fa[0]:
            bad.append(f"{a} (floor {fa[0]}) line {line} -> {b} (floor {fb[0]})")
    return bad


def uncommented(edges: list[Edge]) -> list[str]:
    """Imports inside functions without a `lazy`/`heavy` comment on their line or their import block."""
    return [f"{e.importer} line {e.line} imports {e.imported} inside a function without a comment saying why (lazy/heavy)"
            for e in edges if e.inner and not any(word in e.comment for word in LAZY_WORDS)]


@pytest.fixture(scope="module")
def kit() -> tuple[dict[str, tuple[str, bool]], list[Edge], list[tuple[int, str, list[str]]]]:
    sources = package_sources()
    return sources, imports(sources), layer_map(ARCHITECTURE.read_text())


def test_every_module_is_on_exactly_one_floor(kit) -> None:
    sources, _edges, rows = kit
    assert len(rows) >= 8, "docs/architecture.md lost its layer table"
    misplaced = {m: floor_of(m, rows) for m in sources if len(floor_of(m, rows)) != 1}
    assert not misplaced, f"place each module on one floor of docs/architecture.md's table: {misplaced}"


def test_no_import_circle(kit) -> None:
    _sources, edges, _rows = kit
    assert circles(edges) == []


def test_no_import_runs_up_a_floor(kit) -> None:
    _sources, edges, rows = kit
    assert upward(edges, rows) == []


def test_an_import_inside_a_function_says_why(kit) -> None:
    _sources, edges, _rows = kit
    assert uncommented(edges) == []


def test_the_rules_catch_a_circle_an_upward_import_and_a_silent_lazy_import(tmp_path: Path) -> None:
    """The checks above can fail: a made-up package with each fault is caught."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "paths.py": "def late():\n    from . import harness\n",  # up a floor, inside a function, no comment
        "harness.py": "from .sub import inner\n",
        "sub/__init__.py": "",
        "sub/inner.py": "def f():\n    from ..harness import x  # lazy: torch\n",  # a circle with harness
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    sources = package_sources(pkg)
    edges = imports(sources)
    rows = layer_map("| 0 | base | `__init__`, `paths` |\n| 1 | top | `harness`, `sub`, `sub.*` |\n")
    assert circles(edges) == [["logreg_kit.harness", "logreg_kit.sub.inner"]]
    assert upward(edges, rows) == ["logreg_kit.paths (floor 0) line 2 -> logreg_kit.harness (floor 1)"]
    assert uncommented(edges) == [
        "logreg_kit.paths line 2 imports logreg_kit.harness inside a function without a comment saying why (lazy/heavy)"]
    assert floor_of("logreg_kit.sub.inner", rows) == [1] and floor_of("logreg_kit", rows) == [0]
