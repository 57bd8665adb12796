"""Has the student's code changed the grader's own code in this worker? (defence in depth)

The worker takes a snapshot of the kit's functions and classes (and of the probe table and the
tripwire's tables) before it imports the submission, and compares after the import and after
every probe. A submission that rewrites a probe, swaps a function's `__code__` or patches the
tripwire is then told so, and none of its answers is graded. Code that searches the worker's
memory for the snapshot itself can still get past this; the grading process never relies on it
alone (it decides every fact from returned values, see README "Security model").
"""
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
    """Fingerprints of every kit member loaded at one moment. It holds the members, their code and
    defaults (so no id is reused while it lives) and where each was found, so that `changed` can look
    each one up again directly; only when one differs does it walk every kit module as at the start."""

    def __init__(self) -> None:
        loaded = _loaded()
        self.prints: Fingerprints = {name: _fingerprint(value) for name, (value, _place) in loaded.items()}
        self.kept = [(value, getattr(value, "__code__", None), getattr(value, "__defaults__", None),
                      getattr(value, "__kwdefaults__", None)) for value, _place in loaded.values()]
        self.places = [(place, self.prints[name], value) for name, (value, place) in loaded.items()]
        self.modules = {place[0]: sys.modules[place[0]] for place, _print, _value in self.places}


def snapshot() -> Snapshot:
    """Fingerprints of every kit member loaded now."""
    return Snapshot()


def _unchanged(before: Snapshot) -> bool:
    """The quick look: every kit module still in sys.modules and every member where it was, the same
    object with the same code and defaults (what `changed` would find equal, looked up directly)."""
    modules = before.modules
    if any(sys.modules.get(name) is not module for name, module in modules.items()):
        return False
    spaces = {name: vars(module) for name, module in modules.items()}
    for (module, attr, kind, key), print_, value in before.places:
        found = spaces[module].get(attr)
        if kind == "method":
            found = vars(found).get(key) if isinstance(found, type) else None
        elif kind == "entry":
            found = dict.get(found, key) if isinstance(found, dict) else None
        elif getattr(found, "__module__", "") != module:
            return False
        if found is not value or _fingerprint(found) != print_:
            return False
    return True


def changed(before: Snapshot) -> list[str]:
    """Members of `before` that are gone or are other objects now (new members are not counted)."""
    if _unchanged(before):
        return []
    now = {name: _fingerprint(value) for name, (value, _place) in _loaded().items()}
    return sorted(name for name, print_ in before.prints.items() if now.get(name) != print_)


def message(names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (_(" and {count} more", count=len(names) - 3) if len(names) > 3 else "")
    return _("your submission changed the grader's own code in the process running it ({names}): "
             "nothing it returns can be graded", names=shown)
