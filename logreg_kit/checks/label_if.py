"""Static reading of exercises 1 and 2a: does the function branch on the label (its `if` test depends
on the `y` argument), in its own body or in the student's helpers it calls, also helpers in the
student's other files reached through relative imports (`from .lossutil import row_term`,
`from . import lossutil`)? Nothing here runs the student's code."""
import ast
from collections.abc import Callable

Source = Callable[[str], "str | None"]  # module name -> its source text (backend.source)
MAX_DEPTH = 4  # helpers of helpers followed this deep


def _parse(text: str | None) -> ast.Module | None:
    try:
        return ast.parse(text) if text is not None else None
    except (SyntaxError, ValueError):
        return None


def _depends(node: ast.AST | None, tainted: set[str]) -> bool:
    """`node` reads a tainted name, other than through len(...) (the number of examples is no label)."""
    if node is None:
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False
    if isinstance(node, ast.Name):
        return node.id in tainted
    return any(_depends(child, tainted) for child in ast.iter_child_nodes(node))


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _spread(fn: ast.FunctionDef, tainted: set[str]) -> set[str]:
    """Names derived from the tainted ones in `fn`: loop targets over them, assignments from them, and
    the parameters of a lambda handed to a call together with them."""
    tainted = set(tainted)
    while True:
        before = len(tainted)
        for n in ast.walk(fn):
            if isinstance(n, (ast.For, ast.comprehension)) and _depends(n.iter, tainted):
                tainted |= _targets(n.target)
            elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr)) and _depends(n.value, tainted):
                for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                    tainted |= _targets(t)
            elif isinstance(n, ast.Call):  # `reduce(lambda acc, t: ..., zip(y, p))`, `map(lambda t: ..., y)`
                given = [*n.args, *(kw.value for kw in n.keywords)]
                if any(_depends(a, tainted) for a in given if not isinstance(a, ast.Lambda)):
                    tainted |= {arg.arg for a in given if isinstance(a, ast.Lambda) for arg in a.args.args}
        if len(tainted) == before:
            return tainted


def _tests(fn: ast.FunctionDef) -> list[ast.AST]:
    """The expressions `fn` branches on: if/elif, conditional expressions, match subjects, comprehension ifs."""
    found: list[ast.AST] = []
    for n in ast.walk(fn):
        if isinstance(n, (ast.If, ast.IfExp)):
            found.append(n.test)
        elif isinstance(n, ast.Match):
            found.append(n.subject)
        elif isinstance(n, ast.comprehension):
            found.extend(n.ifs)
    return found


class Reader:
    """The student's functions, by (module, name), read from their source files."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.trees: dict[str, ast.Module | None] = {}

    def tree(self, module: str) -> ast.Module | None:
        if module not in self.trees:
            self.trees[module] = _parse(self.source(module)) if module.isidentifier() else None
        return self.trees[module]

    def function(self, module: str, name: str) -> ast.FunctionDef | None:
        tree = self.tree(module)
        for node in tree.body if tree else []:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        return None

    def callee(self, module: str, call: ast.Call) -> tuple[str, ast.FunctionDef] | None:
        """The student's own function a call reaches: a def of this module, or of a sibling module
        imported relatively (`from .m import f` / `from . import m` then `m.f`)."""
        func, tree = call.func, self.tree(module)
        if tree is None:
            return None
        if isinstance(func, ast.Name):
            own = self.function(module, func.id)
            if own is not None:
                return module, own
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                    for alias in node.names:
                        if (alias.asname or alias.name) == func.id:
                            found = self.function(node.module, alias.name)
                            return (node.module, found) if found else None
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                    for alias in node.names:
                        if (alias.asname or alias.name) == func.value.id:
                            found = self.function(alias.name, func.attr)
                            return (alias.name, found) if found else None
        return None


def branches_on(reader: Reader, module: str, fn: ast.FunctionDef, seeds: set[str], depth: int = 0) -> bool:
    """`fn` (or a helper it calls with a derived argument) has a branch whose test depends on `seeds`."""
    tainted = _spread(fn, seeds)
    if any(_depends(test, tainted) for test in _tests(fn)):
        return True
    if depth >= MAX_DEPTH:
        return False
    for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
        target = reader.callee(module, call)
        if target is None or target[1] is fn:
            continue
        params = [a.arg for a in target[1].args.args]
        passed = {params[i] for i, arg in enumerate(call.args) if i < len(params) and _depends(arg, tainted)}
        passed |= {kw.arg for kw in call.keywords if kw.arg in params and _depends(kw.value, tainted)}
        if passed and branches_on(reader, target[0], target[1], passed, depth + 1):
            return True
    return False


def reads_names(reader: Reader, module: str, fn: ast.FunctionDef, names: set[str], depth: int = 0) -> str:
    """A name of `names` that `fn` or a helper it calls reads (refers to, called or not), or ""."""
    for n in ast.walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names:
            return n.id
    if depth >= MAX_DEPTH:
        return ""
    for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
        target = reader.callee(module, call)
        if target is not None and target[1] is not fn and target[1].name not in names:
            found = reads_names(reader, target[0], target[1], names, depth + 1)
            if found:
                return found
    return ""
