"""The from-scratch rule, statically: does an exercise's source refer to a library function it replaces?

The submitted files are parsed, never executed. Names are resolved through the module's
imports (`import torch.nn.functional as F`, `from torch.nn import functional as G`,
`from torch.optim import SGD as Opt`), `getattr(module, "name")` with a constant name is
followed, and a method call `x.softmax(...)` counts as `torch.Tensor.softmax`. Tricks that
hide the name at run time (`getattr(F, "soft" + "max")`) are caught by the runtime
tripwire (`logreg_kit/tripwire.py`) instead.
"""
import ast
from functools import lru_cache

from .exercises import BY_ID

TENSOR_PREFIX = "torch.Tensor."


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted library name, from the module's absolute imports."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                if item.asname:
                    aliases[item.asname] = item.name
                else:
                    top = item.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for item in node.names:
                aliases[item.asname or item.name] = f"{node.module}.{item.name}"
    for node in tree.body:  # module-level renames: `sm = F.softmax`
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dotted = _dotted(node.value, aliases)
            if dotted:
                aliases[node.targets[0].id] = dotted
    return aliases


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The library name an expression refers to (`G.softmax` -> torch.nn.functional.softmax), if any."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
        base = _dotted(node.args[0], aliases)
        return f"{base}.{node.args[1].value}" if base else None
    return None


def _exercise_nodes(tree: ast.Module, names: tuple[str, ...]) -> list[ast.AST]:
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]


def _violations_in(node: ast.AST, banned: frozenset[str], aliases: dict[str, str]) -> list[tuple[str, int]]:
    found = []
    tensor_methods = {name[len(TENSOR_PREFIX):] for name in banned if name.startswith(TENSOR_PREFIX)}
    for sub in ast.walk(node):
        dotted = _dotted(sub, aliases) if isinstance(sub, (ast.Name, ast.Attribute, ast.Call)) else None
        if dotted in banned:
            found.append((dotted, sub.lineno))
        elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in tensor_methods
              and _dotted(sub.func, aliases) is None):
            found.append((TENSOR_PREFIX + sub.func.attr, sub.lineno))
    return found


@lru_cache(maxsize=256)
def violations(source: str | None, exercise: str) -> tuple[str, ...]:
    """Messages for each reference, in the exercise's functions and classes, to a function it replaces."""
    ex = BY_ID[exercise]
    if source is None or not ex.replaces:
        return ()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()  # the import error is reported by the checks themselves
    aliases = _import_aliases(tree)
    banned = frozenset(ex.replaces)
    seen: dict[str, int] = {}
    for node in _exercise_nodes(tree, ex.names):
        for name, line in _violations_in(node, banned, aliases):
            seen.setdefault(name, line)
    return tuple(
        f"{ex.module}.py line {line} uses {name}, which exercise {ex.id.rstrip('x')} asks you to write yourself"
        for name, line in sorted(seen.items(), key=lambda item: item[1])
    )
