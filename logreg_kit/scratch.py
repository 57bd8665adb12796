"""The from-scratch rule, statically, as an allowlist: what may a submission's code reach in a library?

Decided in the grading process from the submitted files alone (parsed, never executed here),
never from anything student code can change. `allowlist_violations` is the rule the harness applies;
`tampering` is the second static rule (a submission may not import the grader or reach into the
program running it); `violations` is the earlier denylist, kept for its tests and the benchmark.

What is read. Every `.py` file of the submission (`read_sources`: links and `__pycache__` left out),
decoded as Python decodes it (`decode_source`: a BOM, a PEP 263 coding cookie such as utf-7); a file
that cannot be decoded fails what imports it. The sandbox imports `.py` files only (no `.pyc`, `.so`,
`.pth`: `sandbox.launcher.copy_submission`), so the worker runs nothing the rule did not read.

Rules for every exercise, in every statement (function bodies included) of every file its module
imports (`__init__.py`, the module, the helper files and other exercise modules they import), and in
the exercise's own code:
- imports: only `exercises.ALLOWED_IMPORTS` (torch and the submodules the lesson needs, numpy, math
  and a few standard modules numeric code uses) and the submission's own modules (relative imports);
  any other import fails with a message naming the module;
- reflection the rule cannot read is a violation in itself: dunder attributes (`__dict__`,
  `__class__`, `object.__setattr__`; `__init__` and a few others are fine), `getattr`/`hasattr` with
  a computed name, `vars`, `globals`, `locals`, `dir`, `setattr`, `delattr`, `__import__`, `exec`,
  `eval`, `compile`, `open`, a library module's own `sys`/`os`/`gc`/`importlib` (`torch.sys.modules`);
- a library's private name (`torch._C`, `F.linear._x`; the SGD step's `torch._foreach_*` aside) is reflection too;
- an assignment to a library's attribute (`torch.exp = ...`) fails the module that makes it.

Rules for a from-scratch exercise (one with `may_use`, declared beside it in exercises.py): its code
is every module-level statement that binds one of its names (`def softmax`, `class SGD`,
`softmax = partial(...)`, `from torch import softmax`; also inside compound statements, by a walrus,
by `global` in a function, by a star import of an own module), the module-level helpers those use, and,
through relative imports, the helpers they use from the submission's other files (a name of another
exercise is that exercise's: its checks run this one with the reference standing in). In that code:
- a name that resolves to a library name (through imports, module-level renames, `functools.partial`
  and `getattr` with a constant name: `F.softmax`, `torch.optim.ASGD`, `np.exp`) must be in the
  allowlist; private spellings are named by their public name (`torch._C._nn.linear` ->
  `torch.nn.functional.linear`); a library module used as a value (`[torch][0]`) is a name too;
- an attribute of a value whose type the reader cannot know (`x.exp()`, `p.grad.zero_()`,
  `type(x).softmax`): if torch.Tensor, nn.Module or numpy.ndarray defines that name, `.name` must be
  in the allowlist (so `x.softmax(1)` and `model.zero_grad()` are decided by the list); any other
  name (`self.w`, `opt.step`, `losses.append`, `dict.items`) is the student's own or plain Python and
  is fine;
- a Python builtin that no exercise needs (`input`, ...) is refused; names the student binds
  (`sum = ...`) are the student's; a name bound nowhere the reader can see is refused;
- a library name is allowed by its name or as the same object (`torch.autograd.no_grad is torch.no_grad`).
A name that the exercise replaces keeps the message "..., which exercise N asks you to write
yourself"; any other name outside the allowlist says it is not among what the exercise may use.
The runtime tripwire (`logreg_kit/tripwire.py`) stays as a second layer (a denylist of the replaced
functions and their kernels).
"""
import ast
import builtins
import io
import math
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy
import torch

from .exercises import ALLOWED_IMPORTS, BY_ID, EXERCISES, FOREACH, KERNELS, MODULE_OF, TYPING_MODULES, Exercise
from .i18n import N_, _, cache_per_language

TENSOR_PREFIX = "torch.Tensor."
# Private spellings of replaced functions: what follows one of these prefixes is a kernel's name.
PRIVATE_PREFIXES = ("torch._C.TensorBase.", "torch._C._TensorBase.", "torch._C._nn.", "torch._C._VariableFunctions.",
                    "torch._VF.", "torch.ops.aten.", "torch._refs.nn.functional.", "torch._refs.special.", "torch._refs.",
                    "torch._")
OWN = "."  # prefix of names that refer to the submission's own modules (relative imports)
HIDDEN_CODE = ("exec", "eval", "compile")
GRADER_PACKAGE = "logreg_kit"


def _own_base(node: ast.ImportFrom, package: tuple[str, ...]) -> str:
    """`.pkg.mod` for a relative import in a file of the submission's package `package` (() at its root)."""
    parts = list(package[: len(package) - (node.level - 1)] if node.level > 1 else package)
    parts += (node.module or "").split(".") if node.module else []
    return OWN + ".".join(parts)


def _import_aliases(tree: ast.Module, package: tuple[str, ...] = ()) -> dict[str, str]:
    """Local name -> dotted library name (or `.module.name` for the submission's own modules)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for item in node.names:
                top = item.name.split(".")[0]
                aliases[item.asname or top] = item.name if item.asname else top
        elif isinstance(node, ast.ImportFrom):
            base = _own_base(node, package) if node.level else node.module or ""
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
    """Names a module-level statement binds at module scope, anywhere in it: def, class, assignment,
    loop and `with` targets, imports, walrus, except/match captures inside `if`/`try`/`for`/`while`/
    `with`/`match` bodies, and the names a function or class in it declares `global`."""
    names: set[str] = set()
    todo: list[ast.AST] = [node]
    while todo:
        sub = todo.pop()
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            names |= {sub.name} if not isinstance(sub, ast.Lambda) else set()
            names |= {name for inner in ast.walk(sub) if isinstance(inner, ast.Global) for name in inner.names}
            todo.extend(_header_nodes(sub))  # decorators and defaults run at module scope
            continue
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            names |= {(item.asname or item.name).split(".")[0] for item in sub.names if item.name != "*"}
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and sub.name:
            names.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            names.add(sub.rest)
        todo.extend(ast.iter_child_nodes(sub))
    return names


def _header_nodes(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda) -> list[ast.AST]:
    """The parts of a def, class or lambda that run where it is defined: decorators, defaults, bases."""
    if isinstance(node, ast.ClassDef):
        return [*node.decorator_list, *node.bases, *node.keywords]
    defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    return defaults + (list(node.decorator_list) if not isinstance(node, ast.Lambda) else [])


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


@cache_per_language(maxsize=256)
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


def located(path: str, line: int) -> str:
    """"losses.py line 7": written alike in every language (notebooks.in_cells names the cell from it)."""
    return f"{path} line {line}"


def _message(module: str, ex_id: str, name: str, line: int) -> str:
    if name.endswith("()"):
        return _("{location} calls {name}: exercise {exercise} must be plain code that the grader can read (it checks "
                 "that you wrote the replaced library functions yourself)", location=located(module + ".py", line),
                 name=name[:-2], exercise=ex_id.rstrip("x"))
    return _("{location} uses {name}, which exercise {exercise} asks you to write yourself",
             location=located(module + ".py", line), name=name, exercise=ex_id.rstrip("x"))


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
            return _("imports a module whose name it computes")
        names = [first.value]
    elif isinstance(node, ast.Attribute) and (node.attr in FRAME_ATTRIBUTES or _dotted(node, aliases) in INTROSPECTION):
        return _("uses {name}, which reaches into the running grader", name=_dotted(node, aliases) or "." + node.attr)
    else:
        return ""
    if any(n == GRADER_PACKAGE or n.startswith(GRADER_PACKAGE + ".") for n in names):
        return _("imports the grader's own package {package}", package=GRADER_PACKAGE)
    return ""


@cache_per_language(maxsize=256)
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
            return _("{location} {what}: a submission may not inspect or change the grader, so this exercise cannot be "
                     "graded", location=located(module + ".py", node.lineno), what=what)
    return ""


# --- The from-scratch rule as an allowlist -------------------------------------------------------
# Read in the grading process from every file of the submission (decoded as Python decodes it),
# never from anything student code can change. See the module docstring for the policy.

ALLOWED_DUNDERS = frozenset(("__init__", "__post_init__", "__call__", "__len__", "__iter__", "__next__",
                             "__name__", "__doc__"))
REFLECTION_BUILTINS = frozenset(("getattr", "hasattr", "setattr", "delattr", "vars", "globals", "locals", "dir",
                                 "__import__", "exec", "eval", "compile", "breakpoint", "memoryview", "open"))
ALLOWED_BUILTINS = frozenset((
    "abs", "all", "any", "bool", "bytes", "callable", "chr", "classmethod", "complex", "dict", "divmod",
    "enumerate", "filter", "float", "format", "frozenset", "hash", "int", "isinstance", "issubclass", "iter",
    "len", "list", "map", "max", "min", "next", "object", "ord", "pow", "print", "property", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type", "zip",
    "NotImplemented", "Ellipsis", "id",
))
# Standard modules that library modules happen to hold as attributes (`torch.sys`, `np.os`): never reached.
UNSAFE_ATTRIBUTES = frozenset(("sys", "os", "gc", "importlib", "inspect", "builtins", "ctypes", "types",
                               "subprocess", "pickle", "marshal", "io", "shutil", "socket"))
_BUILTIN_NAMES = frozenset(dir(builtins))
# Private library names a submission may spell (an exercise's allowlist still decides where).
PRIVATE_ALLOWED = frozenset(name for name in FOREACH)


def _library_attributes() -> dict[str, str]:
    """Attribute name -> the library type that defines it (torch.Tensor first, then nn.Module, numpy.ndarray)."""
    owners = (("torch.Tensor", torch.Tensor), ("torch.nn.Module", torch.nn.Module), ("numpy.ndarray", numpy.ndarray))
    found: dict[str, str] = {}
    for label_, kind in owners:
        for name in dir(kind):
            if not name.startswith("__"):
                found.setdefault(name, label_)
    return found


LIBRARY_ATTRIBUTES = _library_attributes()


def decode_source(data: bytes) -> str:
    """Source bytes as Python decodes them (a BOM, a PEP 263 coding cookie: `# -*- coding: utf-7 -*-`).
    Raises SyntaxError or UnicodeDecodeError (LookupError for an unknown codec) when Python could not either."""
    encoding, _lines = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def read_sources(folder: Path, max_bytes: int) -> dict[str, str | None]:
    """Every .py file of a submission folder (relative path -> decoded text; None where it cannot be
    read as Python source): links, __pycache__ and files over `max_bytes` are left out, as the sandbox
    leaves them out of what it can import."""
    found: dict[str, str | None] = {}
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts or any(p.is_symlink() for p in [path, *list(path.parents)[: len(rel.parts) - 1]]):
            continue
        try:
            if not path.is_file() or path.stat().st_size > max_bytes:
                continue
            found[rel.as_posix()] = decode_source(path.read_bytes())
        except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
            found[rel.as_posix()] = None
    return found


@dataclass(frozen=True)
class _File:
    """One parsed file of the submission: its path, the package it belongs to, its tree and import aliases."""

    path: str
    package: tuple[str, ...]
    tree: ast.Module
    aliases: dict[str, str]
    bound: frozenset[str]  # every name the file binds anywhere (so `sum = 0` is not the builtin)
    unreadable: bool = False  # not decodable as Python decodes source: it fails what imports it


@lru_cache(maxsize=8)
def _parse(files: tuple[tuple[str, str | None], ...]) -> dict[str, _File]:
    """Parsed files by path (a file that cannot be decoded is kept, empty and marked unreadable);
    parsed once per submission for all its exercises (the result is never changed)."""
    parsed: dict[str, _File] = {}
    for path, text in files:
        package = tuple(path[: -len(".py")].split("/"))[:-1]
        try:
            tree = ast.parse(text) if text is not None else ast.Module(body=[], type_ignores=[])
        except (SyntaxError, ValueError):
            continue  # an import error, reported by the checks themselves
        aliases = _import_aliases(tree, package)
        parsed[path] = _File(path, package, tree, aliases, _bound_anywhere(tree, aliases), text is None)
    for _round in range(len(parsed)):  # a chain of star imports resolves in at most one round per file
        if not any([_follow_star_imports(file, parsed) for file in parsed.values()]):
            break
    return {path: _File(f.path, f.package, f.tree, f.aliases, f.bound | frozenset(f.aliases), f.unreadable)
            for path, f in parsed.items()}


def _follow_star_imports(file: _File, files: dict[str, _File]) -> bool:
    """Give `file` the names its `from .helpers import *` binds: the library names they denote (through
    helpers' own aliases) or `.helpers.name`; whether it learnt a new one."""
    learnt = False
    for node in ast.walk(file.tree):
        if not (isinstance(node, ast.ImportFrom) and node.level and any(i.name == "*" for i in node.names)):
            continue
        target = _own_target(_own_base(node, file.package), files)
        if target is None:
            continue
        source = target[0]
        base = OWN + source.path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        module_names = {name for stmt in source.tree.body for name in _bound_names(stmt)}
        for name in module_names | set(source.aliases):
            value = source.aliases.get(name, f"{base}.{name}")
            if file.aliases.get(name) != value and name not in file.aliases:
                file.aliases[name] = value
                learnt = True
    return learnt


def _bound_anywhere(tree: ast.Module, aliases: dict[str, str]) -> frozenset[str]:
    names = set(aliases)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return frozenset(names)


def _own_target(dotted: str, files: dict[str, _File]) -> tuple[_File, tuple[str, ...] | None] | None:
    """`.helpers.rows` -> (helpers.py, ("rows",)); `.helpers` -> (helpers.py, None: the whole file)."""
    parts = dotted[len(OWN):].split(".")
    for cut in range(len(parts), 0, -1):
        for path in ("/".join(parts[:cut]) + ".py", "/".join(parts[:cut]) + "/__init__.py"):
            if path in files:
                return files[path], tuple(parts[cut:cut + 1]) or None
    return None


def _imports_of(file: _File, files: dict[str, _File]) -> set[str]:
    """Paths of the submission's files that `file` imports (relative imports, anywhere in it)."""
    found = set()
    for node in ast.walk(file.tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = _own_base(node, file.package)
            for target in [_own_target(base, files)] + [_own_target(f"{base.rstrip('.')}.{i.name}", files) for i in node.names]:
                if target is not None:
                    found.add(target[0].path)
    return found


def _module_closure(module: str, files: dict[str, _File]) -> list[_File]:
    """The files an exercise answers for: __init__.py, its module and every file of the submission they
    import (a violation in softmax.py also fails logreg.py's exercises, which import it)."""
    todo = [p for p in ("__init__.py", f"{module}.py") if p in files]
    seen: list[str] = []
    while todo:
        path = todo.pop(0)
        if path not in seen:
            seen.append(path)
            todo.extend(sorted(_imports_of(files[path], files)))
    return [files[p] for p in seen]


def _import_time_nodes(statements: list[ast.stmt]) -> list[ast.AST]:
    """The nodes that run when the module is imported: everything but the bodies of functions
    (decorators, defaults, annotations and class bodies run)."""
    nodes: list[ast.AST] = []
    todo: list[ast.AST] = list(statements)
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg]
            notes = [a.annotation for a in args if a is not None and a.annotation is not None] + [node.returns]
            todo.extend([*node.decorator_list, *node.args.defaults, *(d for d in [*node.args.kw_defaults, *notes] if d)])
        elif isinstance(node, ast.Lambda):
            todo.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        else:
            todo.extend(ast.iter_child_nodes(node))
    return nodes


def _file_rules(file: _File, ex: Exercise) -> list[tuple[int, str]]:
    """The rules for every statement of a file, function bodies included (a helper no exercise seems to
    reach may still be reached in a way the reader cannot follow). The body of another exercise's own
    def or class is that exercise's (its checks answer for it); what runs at import is everyone's."""
    found = [(1, "cannot be read as Python source (its coding cookie or bytes are wrong), so it cannot be graded")
             ] if file.unreadable else []
    for stmt in file.tree.body:
        found += _code_rules(file, _run_nodes(stmt) if _charged(file, stmt, ex) else _import_time_nodes([stmt]))
    return found


_EXERCISE_NAMES = frozenset(name for e in EXERCISES for name in e.names)


def _charged(file: _File, stmt: ast.stmt, ex: Exercise) -> bool:
    """Whether a violation anywhere in this statement costs `ex`: yes unless the statement is a def or
    class of another exercise (`def nll_loss` does not cost 5b; a helper or `if` block costs all)."""
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or stmt.name not in _EXERCISE_NAMES:
        return True
    home = f"{MODULE_OF[stmt.name]}.py"  # a `def softmax` in a helper file is a helper like any other
    return file.path != home or (home == f"{ex.module}.py" and stmt.name in ex.names)


def _code_rules(file: _File, nodes: list[ast.AST]) -> list[tuple[int, str]]:
    """Imports outside the allowlist, reflection and changes to library objects, in these nodes."""
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, _import_rule(i.name)) for i in node.names if i.name not in ALLOWED_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            module = node.module or ""
            if module not in ALLOWED_IMPORTS:
                found.append((node.lineno, _import_rule(module)))
            found += [(node.lineno, _import_rule(f"{module}.{i.name}")) for i in node.names
                      if i.name in UNSAFE_ATTRIBUTES or i.name == "*"]
        else:
            what = _reflection(node, file) or _grader_import(node, file.aliases)
            if what:
                found.append((node.lineno, what))
    return found


def _import_rule(module: str) -> str:
    return _("imports {module}, which a submission may not import (allowed: {allowed}, and its own modules)",
             module=module, allowed=", ".join(sorted(ALLOWED_IMPORTS)))


_REFLECTION_RULE = N_("reflection the grader cannot read, which is not allowed in a submission")


def _reflects(name: str) -> str:
    return _("uses {name}: {rule}", name=name, rule=_(_REFLECTION_RULE))


def _reflection(node: ast.AST, file: _File) -> str:
    """What a node does that the static reading cannot follow, or "": dunder attributes (`__dict__`,
    `__class__`), reflective builtins, computed attribute names, a library module's `sys`/`os`, and any
    assignment to (or deletion of) a library's attribute."""
    if isinstance(node, ast.Attribute):
        dotted = _dotted(node, file.aliases)
        if node.attr.startswith("__") and node.attr not in ALLOWED_DUNDERS:
            return _reflects("." + node.attr)
        if dotted and not dotted.startswith(OWN) and set(dotted.split(".")[1:]) & UNSAFE_ATTRIBUTES:
            return _reflects(dotted)
        if dotted and not dotted.startswith(OWN) and node.attr.startswith("_") and dotted not in PRIVATE_ALLOWED:
            return _("uses {name}, a library's private name: {rule}", name=dotted, rule=_(_REFLECTION_RULE))
        if dotted and not dotted.startswith(OWN) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return _("changes {name}, a library's own attribute, which a submission may not do", name=dotted)
    if isinstance(node, ast.Name) and node.id.startswith("__") and node.id not in ALLOWED_DUNDERS:
        return _reflects(node.id)  # __builtins__, __loader__, __spec__, ...
    if isinstance(node, ast.Call) and _constant_name(node).startswith("__") and _constant_name(node) not in ALLOWED_DUNDERS:
        return _reflects("." + _constant_name(node))
    if isinstance(node, ast.Name) and node.id in REFLECTION_BUILTINS and node.id not in file.aliases:
        if node.id in ("getattr", "hasattr") and _constant_lookup(node, file.tree):
            return ""
        return _reflects(node.id + "()") if node.id != "open" else _("uses open(), which a submission may not use")
    return ""


def _constant_name(node: ast.Call) -> str:
    """The attribute name of `getattr(value, "name")` / `hasattr(value, "name")`, or ""."""
    if isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2 \
            and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
        return node.args[1].value
    return ""


def _constant_lookup(name: ast.Name, tree: ast.Module) -> bool:
    """Whether this `getattr`/`hasattr` name is called with a constant attribute name (`getattr(p, "grad")`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func is name:
            return len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
    return False


def _closure_code(ex: Exercise, files: dict[str, _File]) -> list[tuple[_File, ast.stmt]]:
    """The exercise's code: the statements binding its names and their helpers, followed into the
    submission's other files wherever they use a name from one (`from .helpers import rows`)."""
    home = files.get(f"{ex.module}.py")
    if home is None:
        return []
    todo: list[tuple[_File, tuple[str, ...] | None]] = [(home, ex.names)]
    done: set[tuple[str, tuple[str, ...] | None]] = set()
    code: list[tuple[_File, ast.stmt]] = []
    while todo:
        file, names = todo.pop()
        if (file.path, names) in done:
            continue
        done.add((file.path, names))
        for stmt in exercise_code(file.tree, names) if names is not None else file.tree.body:
            code.append((file, stmt))
            for sub in _run_nodes(stmt):
                dotted = _dotted(sub, file.aliases) if isinstance(sub, (ast.Name, ast.Attribute)) else None
                target = _own_target(dotted, files) if dotted and dotted.startswith(OWN) else None
                if target is not None and not _another_exercise(target, ex):
                    todo.append(target)
    return code


def _another_exercise(target: tuple[_File, tuple[str, ...] | None], ex: Exercise) -> bool:
    """Whether a name used from another file is another exercise's (its own rule reads it; the checks of
    this exercise run with the reference standing in for it)."""
    file, names = target
    return bool(names) and file.path != f"{ex.module}.py" and all(
        name in MODULE_OF and f"{MODULE_OF[name]}.py" == file.path for name in names or ())


def _outside_allowlist(file: _File, stmt: ast.stmt, ex: Exercise, complete: bool) -> list[tuple[int, str]]:
    """References in one statement of an exercise's code to a library name its allowlist lacks."""
    allowed = ex.may_use or frozenset()
    banned = frozenset(ex.replaces)
    inner = {id(n.value) for n in ast.walk(stmt) if isinstance(n, ast.Attribute) and _dotted(n, file.aliases)}
    found: list[tuple[int, str]] = []
    for node in _run_nodes(stmt):
        if isinstance(node, ast.Call) and _constant_name(node) and _dotted(node, file.aliases) is None:
            node = ast.Attribute(value=node.args[0], attr=_constant_name(node), ctx=ast.Load(), lineno=node.lineno)
        if id(node) in inner or not isinstance(node, (ast.Name, ast.Attribute)):
            continue
        dotted = _dotted(node, file.aliases)
        if dotted and dotted.startswith(OWN):
            continue
        if dotted is None and isinstance(node, ast.Attribute) and node.attr in LIBRARY_ATTRIBUTES:
            if "." + node.attr in allowed:
                continue
            dotted = f"{LIBRARY_ATTRIBUTES[node.attr]}.{node.attr}"
        elif dotted is None and isinstance(node, ast.Name) and node.id in _BUILTIN_NAMES and node.id not in file.bound:
            if node.id in ALLOWED_BUILTINS or node.id in REFLECTION_BUILTINS or _is_exception(node.id):
                continue  # reflection is the file rule's
            found.append((node.lineno, _("uses the builtin {name}(), which exercise {exercise} may not use", name=node.id,
                                         exercise=ex.id.rstrip("x"))))
            continue
        elif complete and dotted is None and isinstance(node, ast.Name) and node.id not in file.bound | _BUILTIN_NAMES:
            found.append((node.lineno, _("uses `{name}`, which the grader cannot find where it is defined", name=node.id)))
            continue
        if dotted is None or _is_allowed(dotted, allowed, banned):
            continue
        found.append((node.lineno, _allowlist_message(public_name(dotted), banned, ex)))
    return found


def _is_allowed(dotted: str, allowed: frozenset[str], banned: frozenset[str]) -> bool:
    """Whether a library name is on the allowlist: by name (`torch.exp`, `torch.Tensor.exp` as `.exp`) or
    as the same object in the grading process (`torch.autograd.no_grad is torch.no_grad`)."""
    name = public_name(dotted)
    if name in banned:
        return False
    if dotted in allowed or name in allowed or dotted.startswith(TYPING_MODULES):
        return True
    if dotted.startswith(TENSOR_PREFIX) and "." + dotted[len(TENSOR_PREFIX):] in allowed:
        return True
    found = _library_object(dotted)
    return found is not None and id(found) in _allowed_objects(allowed) and id(found) not in _allowed_objects(banned)


_RESOLVABLE = {"torch": torch, "numpy": numpy, "math": math}


def _library_object(dotted: str) -> object | None:
    """The object a public dotted name of torch, numpy or math denotes in the grading process, or None
    (private or dunder parts, values such as numbers, and anything not found are None)."""
    top, *parts = dotted.split(".")
    found: object = _RESOLVABLE.get(top)
    for part in parts:
        if found is None or part.startswith("_"):
            return None
        try:
            found = getattr(found, part, None)
        except Exception:  # a lazy torch attribute that fails to load is simply unknown
            return None
    return None if isinstance(found, (int, float, complex, str, bytes)) else found


@lru_cache(maxsize=16)
def _allowed_objects(names: frozenset[str]) -> frozenset[int]:
    """Identities of the objects a list's dotted names denote (the objects live as long as their modules)."""
    return frozenset(id(obj) for obj in map(_library_object, names) if obj is not None and not _name_only(obj))


def _name_only(obj: object) -> bool:
    """Objects identity says nothing about: Python's own singletons and builtin types."""
    return obj is None or obj is True or obj is False or (isinstance(obj, type) and obj.__module__ == "builtins")


def _is_exception(name: str) -> bool:
    return name.endswith(("Error", "Exception", "Warning")) or name in ("StopIteration", "KeyboardInterrupt")


def _allowlist_message(name: str, banned: frozenset[str], ex: Exercise) -> str:
    if name in banned:
        return _("uses {name}, which exercise {exercise} asks you to write yourself", name=name, exercise=ex.id.rstrip("x"))
    return _("uses {name}, which is not among what exercise {exercise} may use from a library "
             "(the list is in the README, under \"Statically, as an allowlist\")", name=name, exercise=ex.id.rstrip("x"))


@cache_per_language(maxsize=256)
def allowlist_violations(files: tuple[tuple[str, str | None], ...], exercise: str, complete: bool = True) -> tuple[str, ...]:
    """Messages for everything in the submission (`files`: (relative path, decoded text or None)) that
    costs `exercise` its points: in any file that runs when its module is imported, an import outside
    ALLOWED_IMPORTS, reflection or a change to a library's attribute; and, for a from-scratch exercise
    (one with an allowlist), every reference in its code to a library name its allowlist lacks, and (when
    `files` are `complete`, the whole submission with its imports, not a notebook kernel's cells) every
    name bound nowhere the reader can see."""
    ex = BY_ID[exercise]
    parsed = _parse(files)
    found: dict[str, None] = {}
    for file in _module_closure(ex.module, parsed):
        for line, what in _file_rules(file, ex):
            found[f"{file.path} line {line} {what}"] = None
    for file, stmt in _closure_code(ex, parsed):
        rules = _code_rules(file, _run_nodes(stmt))
        rules += _outside_allowlist(file, stmt, ex, complete) if ex.may_use is not None else []
        for line, what in sorted(rules):
            found[f"{file.path} line {line} {what}"] = None
    return tuple(found)
