"""Has the student's code changed the grader's own code in this worker? (defence in depth)

The worker takes a snapshot of the kit's functions and classes (and of the probe table and the
tripwire's tables) before it imports the submission, and compares after the import and after
every probe. A submission that rewrites a probe, swaps a function's `__code__`, patches the
tripwire or sets an attribute on a class the worker's code relies on (a kit class, nn.Module,
torch.Tensor, reached through `type(value)`) is then told so, and none of its answers is graded.
Code that searches the worker's memory for the snapshot itself can still get past this; the grading
process never relies on it alone (it decides every fact from returned values, see README
"Security model").
"""
import os
import sys
import types
from typing import Any

from ..i18n import _

PACKAGE = "logreg_kit"
Fingerprints = dict[str, tuple[int, ...]]
# How a member is found again: (module name, attribute, "member" | "method" | "entry", method name or table key)
Place = tuple[str, str, str, Any]


def _fingerprint(value: Any) -> tuple[int, ...]:
    code = getattr(value, "__code__", None)
    return (id(value), id(code), id(getattr(value, "__defaults__", None)), id(getattr(value, "__kwdefaults__", None)))


def _members(module: types.ModuleType) -> dict[str, tuple[Any, Place]]:
    """The module's functions, classes (and their methods) and tables (dicts of functions or names),
    each with where it was found."""
    found: dict[str, tuple[Any, Place]] = {}
    mod = module.__name__
    for name, value in list(vars(module).items()):
        if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", "") == mod:
            found[name] = (value, (mod, name, "member", None))
            if isinstance(value, type):
                found.update({f"{name}.{k}": (v, (mod, name, "method", k)) for k, v in vars(value).items()
                              if isinstance(v, types.FunctionType)})
        elif isinstance(value, dict) and name.isupper() or name in ("PROBES", "_originals"):
            found.update({f"{name}[{k!r}]": (v, (mod, name, "entry", k)) for k, v in dict(value).items()})
    return found


def _loaded() -> dict[str, tuple[Any, Place]]:
    """Every kit member loaded now, by name."""
    state: dict[str, tuple[Any, Place]] = {}
    for name, module in list(sys.modules.items()):
        if isinstance(module, types.ModuleType) and (name == PACKAGE or name.startswith(PACKAGE + ".")):
            state.update({f"{name}.{k}": found for k, found in _members(module).items()})
    return state


class Snapshot:
    """Fingerprints of every kit member loaded at one moment. It also holds the members, their code and
    defaults (so no id is reused while it lives), where each was found, and how many names each kit
    module, and each class or table a member was found in, held: see `changed`."""

    def __init__(self) -> None:
        loaded = _loaded()
        self.prints: Fingerprints = {name: _fingerprint(value) for name, (value, _place) in loaded.items()}
        self.places = [(name, place, value, _internals(value)) for name, (value, place) in loaded.items()]
        self.modules = {name: module for name, module in list(sys.modules.items())
                        if isinstance(module, types.ModuleType) and (name == PACKAGE or name.startswith(PACKAGE + "."))}
        self.containers = sorted({place[:2] for _name, place, _value, _inner in self.places if place[2] != "member"})
        self.sizes = _sizes(self.modules, self.containers)
        self.classes = {cls: (f"{cls.__module__}.{cls.__qualname__}", dict(vars(cls)))
                        for cls in _guarded_classes(value for value, _place in loaded.values())}
        self.torch = _torch_state()


_GONE = object()
_IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: a class whose attributes cannot be set (object, C types)


def _guarded_classes(members: Any) -> list[type]:
    """The kit's classes, the classes they are built on (nn.Module) and the tensor classes, leaving out
    those whose attributes cannot be set: every class whose behaviour the worker's own code relies on and
    that student code can reach through type(value) (and `.mro()`)."""
    roots = [value for value in members if isinstance(value, type)]
    torch = sys.modules.get("torch")
    roots += [torch.Tensor, torch.nn.Parameter] if torch is not None else []
    return list({cls: None for root in roots for cls in type.mro(root) if not cls.__flags__ & _IMMUTABLE_TYPE})


# What Python and torch write on a class themselves: copy caches `__slotnames__` on a class's first copy;
# torch.compile's first compile wraps nn.Module.__init__ and __setstate__ and sets a flag (_compiler_patch).
_CACHES = frozenset({"__slotnames__", "___needs_generation_tag_patch"})
_COMPILER_PATCHES = {"__init__": "install_generation_tagging_init.<locals>.patched_init",
                     "__setstate__": "install_generation_tagging_init.<locals>.patched_setstate"}


def _compiler_patch(key: str, value: Any) -> bool:
    """torch.compile's own wrapper of nn.Module.__init__ / __setstate__ (torch/_dynamo/mutation_guard.py):
    that function exactly, not any function torch.compile or torch.compiler.disable returns."""
    torch = sys.modules.get("torch")
    return (torch is not None and type(value) is types.FunctionType and value.__qualname__ == _COMPILER_PATCHES.get(key)
            and value.__code__.co_filename == os.path.join(os.path.dirname(torch.__file__), "_dynamo", "mutation_guard.py"))


def _altered_classes(before: Snapshot) -> list[str]:
    """Attributes added to, removed from or replaced in a guarded class (`type(model).training = ...`),
    dunders included (functools.update_wrapper writes them without naming them); what Python and torch
    write themselves (_CACHES, _compiler_patch) is not counted."""
    altered = []
    for cls, (name, saved) in before.classes.items():
        now = vars(cls)
        if len(now) == len(saved) and all(now.get(key, _GONE) is value for key, value in saved.items()):
            continue
        added = [key for key in now if key not in saved]
        replaced = [key for key, value in saved.items() if now.get(key, _GONE) is not value]
        altered += [f"{name}.{key}" for key in added + replaced
                    if key not in _CACHES and not (cls is getattr(sys.modules.get("torch.nn"), "Module", None)
                                                   and _compiler_patch(key, now.get(key)))]
    return altered


def _torch_state() -> dict[str, Any]:
    """torch's process-wide state that changes what the worker's own code computes: grad mode, the global
    module hooks (torch.nn.modules.module.register_module_forward_hook and the like) and the depth of
    the function and dispatch mode stacks. Empty where torch is not loaded."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    hooks = vars(torch.nn.modules.module)
    return {"grad": torch.is_grad_enabled(), "function modes": torch._C._len_torch_function_stack(),
            "default device": getattr(getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None), "device_context", None),
            "dispatch modes": torch._C._len_torch_dispatch_stack(),
            "hooks": {name: list(table.items()) for name, table in hooks.items()
                      if name.startswith("_global_") and isinstance(table, dict)}}


def restore_torch(before: Snapshot) -> None:
    """Put torch's process-wide state back as it was at `before`, so that every probe starts where the
    grader chose: what an earlier call left behind (grad mode switched off after fit, a global forward
    hook registered at import, a mode left on the stack) cannot change how the grader's model or the
    next probe runs. Code that needs such state sets it up inside the call that uses it."""
    saved = before.torch
    if not saved:
        return
    torch = sys.modules["torch"]
    devices = getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None)  # set_default_device's mode, popped below: forgotten
    if devices is not None and getattr(devices, "device_context", None) is not saved["default device"]:
        devices.device_context = saved["default device"]
    while torch._C._len_torch_function_stack() > saved["function modes"]:
        torch._C._pop_torch_function_stack()
    while torch._C._len_torch_dispatch_stack() > saved["dispatch modes"]:
        torch._C._pop_torch_dispatch_stack()
    torch.set_grad_enabled(saved["grad"])
    hooks = vars(torch.nn.modules.module)
    for name, entries in saved["hooks"].items():
        table = hooks[name]
        if list(table.items()) != entries:
            table.clear()
            table.update(entries)


def snapshot() -> Snapshot:
    """Fingerprints of every kit member loaded now."""
    return Snapshot()


def _internals(value: Any) -> tuple[Any, ...] | None:
    """A function's code, defaults and keyword defaults (the objects); None for anything else."""
    if type(value) is not types.FunctionType:
        return None
    return value.__code__, value.__defaults__, value.__kwdefaults__


def _sizes(modules: dict[str, Any], containers: list[tuple[str, str]]) -> list[int]:
    """How many names each kit module holds, and each class or table (module, attribute) a member was
    found in (-1 where that is no longer a class or a plain dict)."""
    found = [vars(modules[module]).get(attr) for module, attr in containers]
    return [len(vars(module)) for module in modules.values()] + [
        len(vars(v)) if isinstance(v, type) else dict.__len__(v) if isinstance(v, dict) else -1 for v in found]


def _moved(before: Snapshot) -> list[str] | None:
    """The quick look. None when a kit module is no longer in sys.modules under its own name, or a kit
    module, or a class or table a member was found in, holds more or fewer names (the full walk then
    decides); else the members not found where they were as the same object (a function: with the same
    code and defaults), a table that is no longer a plain dict counting as changed whole."""
    modules = before.modules
    if any(sys.modules.get(name) is not module or getattr(module, "__name__", None) != name
           for name, module in modules.items()) or _sizes(modules, before.containers) != before.sizes:
        return None
    spaces = {name: vars(module) for name, module in modules.items()}
    moved = []
    for name, (module, attr, kind, key), value, inner in before.places:
        found = spaces[module].get(attr)
        if kind == "method":
            found = vars(found).get(key) if isinstance(found, type) else None
        elif kind == "entry":
            found = dict.get(found, key) if type(found) is dict else None
        elif getattr(found, "__module__", "") != module:
            found = None
        if found is not value or inner is not None and any(
                now is not then for now, then in zip((found.__code__, found.__defaults__, found.__kwdefaults__), inner)):
            moved.append(name)
    return moved


def changed(before: Snapshot) -> list[str]:
    """Members of `before` that are gone or are other objects now (new members are not counted).

    The quick look (_moved) finds each member again where it was, which is what a probe costs when
    nothing changed; when it finds anything changed, or cannot tell, every kit module is walked again as
    at the start (_loaded) and both findings are reported. Attributes changed in the guarded classes
    (_altered_classes), new ones included, are reported too."""
    altered, moved = _altered_classes(before), _moved(before)
    if moved == []:
        return sorted(altered)
    now = {name: _fingerprint(value) for name, (value, _place) in _loaded().items()}
    walked = [name for name, print_ in before.prints.items() if now.get(name) != print_]
    return sorted(set(walked) | set(moved or ()) | set(altered))


def message(names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (_(" and {count} more", count=len(names) - 3) if len(names) > 3 else "")
    return _("your submission changed the grader's own code in the process running it ({names}): "
             "nothing it returns can be graded", names=shown)
