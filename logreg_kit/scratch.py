"""The from-scratch rule, statically: does an exercise's source refer to a library function it replaces?

The submitted files are parsed, never executed. An exercise's code is every module-level
statement that binds one of its names (`def softmax`, `class SGD`, `softmax = partial(...)`,
`from torch import softmax`), plus, transitively, the module-level helpers those statements use.
Names are resolved through the module's imports (`import torch.nn.functional as F`,
`from torch.optim import SGD as Opt`) and module-level renames (`sm = F.softmax`,
`sm = functools.partial(F.softmax, dim=1)`); `getattr(module, "name")` with a constant name is
followed; a method call `x.softmax(...)` on anything that is not one of the submission's own
modules (`from . import softmax as sm; sm.log_softmax(x)` is the student's code) counts as
`torch.Tensor.softmax`. `exec`, `eval` and `compile` in that code are refused too: what they run
cannot be read. Tricks that hide a name at run time (`getattr(F, "soft" + "max")`) are caught by
the runtime tripwire (`logreg_kit/tripwire.py`) instead.

`tampering` is the other static rule: a submission's modules may not import the grader itself.
"""
import ast
from functools import lru_cache

from .exercises import BY_ID, KERNELS

TENSOR_PREFIX = "torch.Tensor."
# Private spellings of replaced functions: what follows one of these prefixes is a kernel's name.
PRIVATE_PREFIXES = ("torch._C.TensorBase.", "torch._C._TensorBase.", "torch._C._nn.", "torch._C._VariableFunctions.",
                    "torch._VF.", "torch.ops.aten.", "torch._refs.nn.functional.", "torch._refs.special.", "torch._refs.",
                    "torch._")
OWN = "."  # prefix of names that refer to the submission's own modules (relative imports)
HIDDEN_CODE = ("exec", "eval", "compile")
GRADER_PACKAGE = "logreg_kit"


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted library name (or `.module.name` for the submission's own modules)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                top = item.name.split(".")[0]
                aliases[item.asname or top] = item.name if item.asname else top
        elif isinstance(node, ast.ImportFrom):
            base = OWN + (node.module or "") if node.level else node.module or ""
            for item in node.names:
                aliases[item.asname or item.name] = f"{base.rstrip('.')}.{item.name}" if node.level else f"{base}.{item.name}"
    for node in tree.body:  # module-level renames: `sm = F.softmax`, `sm = partial(F.softmax, dim=1)`
        value = getattr(node, "value", None)
        for name in _bound_names(node) if isinstance(node, (ast.Assign, ast.AnnAssign)) and value is not None else ():
            dotted = _dotted(value, aliases)
            if dotted:
                aliases[name] = dotted
    return aliases


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression refers to (`G.softmax` -> torch.nn.functional.softmax), if any."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Call) and node.args:
        func = _dotted(node.func, aliases) or (node.func.id if isinstance(node.func, ast.Name) else "")
        if func in ("getattr", "builtins.getattr") and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            base = _dotted(node.args[0], aliases)
            return f"{base}.{node.args[1].value}" if base else None
        if func in ("functools.partial", "partial", "functools.partialmethod"):
            return _dotted(node.args[0], aliases)
    return None


def public_name(dotted: str) -> str:
    """A private spelling of a replaced function as its public name (`torch._C._nn.linear` ->
    `torch.nn.functional.linear`, `torch.ops.aten._softmax.default` -> `torch.softmax`); others unchanged."""
    for private in PRIVATE_PREFIXES:
        if dotted.startswith(private):
            kernel = dotted[len(private):].split(".")[0]
            return KERNELS.get("_" + kernel if private == "torch._" else kernel, dotted)
    return dotted


def _bound_names(node: ast.stmt) -> set[str]:
    """Names a module-level statement binds (def, class, assignment targets, imports, loop targets)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(item.asname or item.name).split(".")[0] for item in node.names}
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def exercise_code(tree: ast.Module, names: tuple[str, ...]) -> list[ast.stmt]:
    """The module-level statements that bind `names`, and the module-level helpers they use."""
    binders: dict[str, list[ast.stmt]] = {}
    for node in tree.body:
        for name in _bound_names(node):
            binders.setdefault(name, []).append(node)
    chosen: list[ast.stmt] = []
    hidden = [n for n in tree.body if any(_hidden_call(sub) for sub in ast.walk(n))]  # may bind anything
    todo = [n for name in names for n in binders.get(name, [])] + hidden
    while todo:
        node = todo.pop()
        if any(node is c for c in chosen):
            continue
        chosen.append(node)
        todo.extend(b for name in _used_names(node) for b in binders.get(name, []) if not isinstance(b, (ast.Import, ast.ImportFrom)))
    return sorted(chosen, key=lambda n: n.lineno)


def _run_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of a statement that run: annotations (`opt: SGD`, `-> nn.Parameter`) are left out."""
    notes: set[int] = set()
    for sub in ast.walk(node):
        for note in (getattr(sub, "annotation", None), getattr(sub, "returns", None)):
            if note is not None:
                notes |= {id(n) for n in ast.walk(note)}
    return [n for n in ast.walk(node) if id(n) not in notes]


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in _run_nodes(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _hidden_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in HIDDEN_CODE


def _violations_in(node: ast.AST, banned: frozenset[str], aliases: dict[str, str]) -> list[tuple[str, int]]:
    found = []
    tensor_methods = {name[len(TENSOR_PREFIX):] for name in banned if name.startswith(TENSOR_PREFIX)}
    for sub in _run_nodes(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):  # `from torch import softmax` binds the name itself
            base = "" if isinstance(sub, ast.Import) or sub.level else f"{sub.module}."
            found += [(base + item.name, sub.lineno) for item in sub.names if base + item.name in banned]
            continue
        dotted = _dotted(sub, aliases) if isinstance(sub, (ast.Name, ast.Attribute, ast.Call)) else None
        dotted = public_name(dotted) if dotted else None
        if dotted in banned:
            found.append((dotted, sub.lineno))
        elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in tensor_methods
              and _dotted(sub.func, aliases) is None):
            found.append((TENSOR_PREFIX + sub.func.attr, sub.lineno))
        elif _hidden_call(sub):
            found.append((f"{sub.func.id}()", sub.lineno))
    return found


@lru_cache(maxsize=256)
def violations(source: str | None, exercise: str) -> tuple[str, ...]:
    """Messages for each reference, in the exercise's code, to a function it replaces (or to exec)."""
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
    for node in exercise_code(tree, ex.names):
        for name, line in _violations_in(node, banned, aliases):
            seen.setdefault(name, line)
    return tuple(_message(ex.module, ex.id, name, line) for name, line in sorted(seen.items(), key=lambda item: item[1]))


def _message(module: str, ex_id: str, name: str, line: int) -> str:
    if name.endswith("()"):
        return (f"{module}.py line {line} calls {name[:-2]}: exercise {ex_id.rstrip('x')} must be plain code that the "
                "grader can read (it checks that you wrote the replaced library functions yourself)")
    return f"{module}.py line {line} uses {name}, which exercise {ex_id.rstrip('x')} asks you to write yourself"


# What a submission may not use, since it reaches into the grading code running beside it.
INTROSPECTION = ("sys.modules", "sys._getframe", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                 "inspect.currentframe", "inspect.stack", "inspect.getouterframes", "inspect.getmembers")
FRAME_ATTRIBUTES = ("f_back", "f_globals", "f_locals", "f_builtins", "gi_frame", "tb_frame", "__globals__",
                    "__code__", "__closure__")
IMPORTERS = ("__import__", "importlib.import_module", "importlib.__import__", "builtins.__import__")


def _grader_import(node: ast.AST, aliases: dict[str, str]) -> str:
    """What a node does to reach the grader, or ""."""
    if isinstance(node, ast.Import):
        names = [item.name for item in node.names]
    elif isinstance(node, ast.ImportFrom) and not node.level:
        names = [node.module or ""]
    elif isinstance(node, ast.Call) and (_dotted(node.func, aliases) or getattr(node.func, "id", "")) in IMPORTERS:
        first = node.args[0] if node.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return "imports a module whose name it computes"
        names = [first.value]
    elif isinstance(node, ast.Attribute) and (node.attr in FRAME_ATTRIBUTES or _dotted(node, aliases) in INTROSPECTION):
        return f"uses {_dotted(node, aliases) or '.' + node.attr}, which reaches into the running grader"
    else:
        return ""
    if any(n == GRADER_PACKAGE or n.startswith(GRADER_PACKAGE + ".") for n in names):
        return f"imports the grader's own package {GRADER_PACKAGE}"
    return ""


@lru_cache(maxsize=256)
def tampering(source: str | None, module: str, names: tuple[str, ...] | None = None) -> str:
    """A message when the code of the exercise defining `names` (its closure and the module-level code,
    which runs at import; the whole module when names is None) imports the grader's package or reaches
    into the program running it (frames, sys.modules, the garbage collector)."""
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return ""
    aliases = _import_aliases(tree)
    scope = tree.body if names is None else exercise_code(tree, names) + [
        n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for node in (sub for statement in scope for sub in ast.walk(statement)):
        what = _grader_import(node, aliases)
        if what:
            return (f"{module}.py line {node.lineno} {what}: a submission may not inspect or change the grader, "
                    "so this exercise cannot be graded")
    return ""
