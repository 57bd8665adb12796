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
Snapshot = dict[str, tuple[int, ...]]


def _fingerprint(value: Any) -> tuple[int, ...]:
    code = getattr(value, "__code__", None)
    return (id(value), id(code), id(getattr(value, "__defaults__", None)), id(getattr(value, "__kwdefaults__", None)))


def _members(module: types.ModuleType) -> dict[str, Any]:
    """The module's functions, classes (and their methods) and tables (dicts of functions or names)."""
    found: dict[str, Any] = {}
    for name, value in list(vars(module).items()):
        if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", "") == module.__name__:
            found[name] = value
            if isinstance(value, type):
                found.update({f"{name}.{k}": v for k, v in vars(value).items() if isinstance(v, types.FunctionType)})
        elif isinstance(value, dict) and name.isupper() or name in ("PROBES", "_originals"):
            found.update({f"{name}[{k!r}]": v for k, v in dict(value).items()})
    return found


def snapshot() -> Snapshot:
    """Fingerprints of every kit member loaded now."""
    state: Snapshot = {}
    for name, module in list(sys.modules.items()):
        if isinstance(module, types.ModuleType) and (name == PACKAGE or name.startswith(PACKAGE + ".")):
            state.update({f"{name}.{k}": _fingerprint(v) for k, v in _members(module).items()})
    return state


def changed(before: Snapshot) -> list[str]:
    """Members of `before` that are gone or are other objects now (new members are not counted)."""
    now = snapshot()
    return sorted(name for name, print_ in before.items() if now.get(name) != print_)


def message(names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (_(" and {count} more", count=len(names) - 3) if len(names) > 3 else "")
    return _("your submission changed the grader's own code in the process running it ({names}): "
             "nothing it returns can be graded", names=shown)
