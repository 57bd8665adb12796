"""Fingerprints of what produced a verdict, so that a resumed run regrades what changed.

Each check entry of a record carries {"check", "reference", "settings"}:
- `check`: sha256 of the check function's source and of everything of the kit it reaches by
  name, followed through: helper functions and classes (their source), and module-level
  constants (their value, e.g. a tolerance). Changing one tolerance changes exactly the
  checks whose code names it, directly or through a helper.
- `reference`: the reference's files, the probes, data and backend modules and the torch and
  numpy versions (refcache.fingerprint);
- `settings`: the data setting.
`stale(entries, current)` says which entries differ and why. Only `stale` and `reasons` are
used by the torch-free parent; `check_fingerprint` runs in a grading worker.
"""
import dataclasses
import hashlib
import inspect
import types
from typing import Any

from ..i18n import N_, _

PACKAGE = "logreg_kit"
PLAIN = (int, float, str, bytes, bool, type(None), tuple, frozenset, list, dict, set)


def _names(code: types.CodeType) -> set[str]:
    """Global names a code object and the code objects nested in it refer to."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def _ours(value: Any) -> bool:
    return (getattr(value, "__module__", "") or "").split(".")[0] == PACKAGE


def _source(value: Any) -> str:
    try:
        return inspect.getsource(value)
    except (OSError, TypeError):
        return repr(value)


def canonical(value: Any) -> str:
    """repr() of a plain value that does not depend on the hash seed: sets and dicts in sorted order."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{canonical(k)}: {canonical(v)}" for k, v in value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(canonical(v) for v in value) + "]"
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"  # its source is hashed where it is followed
    if dataclasses.is_dataclass(value):  # a declaration (an Exercise): its repr would show its sets unsorted
        fields = ", ".join(f"{f.name}={canonical(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__qualname__}({fields})"
    return repr(value)


def _nested_ours(value: Any) -> list[Any]:
    """The kit's functions and classes held in a plain container (a table of helpers), to follow."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in _nested_ours(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for v in value for x in _nested_ours(v)]
    return [value] if (inspect.isfunction(value) or inspect.isclass(value)) and _ours(value) else []


def check_fingerprint(fn: Any) -> str:
    """sha256 (24 hex digits) of `fn` and everything of the kit it reaches by global name."""
    h = hashlib.sha256()
    seen: set[int] = set()
    todo = [fn]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        h.update(_source(item).encode())
        code = getattr(item, "__code__", None)
        functions = [item] if code is not None else [v for v in vars(item).values() if hasattr(v, "__code__")]
        for func in functions:
            scope = getattr(func, "__globals__", {})
            for name in sorted(_names(func.__code__)):
                if name not in scope:
                    continue
                value = scope[name]
                if isinstance(value, PLAIN):
                    h.update(f"{func.__module__}.{name}={canonical(value)}".encode())
                    todo.extend(_nested_ours(value))
                elif (inspect.isfunction(value) or inspect.isclass(value)) and _ours(value):
                    todo.append(value)
    return h.hexdigest()[:24]


def stale(entries: list[dict[str, Any]], current: dict[str, dict[str, str]]) -> dict[str, str]:
    """{check name: why it must be graded again} for a record's entries against the current
    fingerprints by check name; a check the record lacks counts as new."""
    why = {}
    by_name = {e["name"]: e for e in entries}
    for name, now in current.items():
        then = (by_name.get(name) or {}).get("fingerprint")
        if name not in by_name:
            why[name] = _("new check")
        elif not isinstance(then, dict):
            why[name] = _("graded before fingerprints were recorded")
        else:
            changed = [part for part in CHANGED if then.get(part) != now.get(part)]
            if changed:
                why[name] = _(CHANGED[changed[0]], check=name)
    return why


CHANGED = {"reference": N_("reference changed"), "settings": N_("settings changed"),  # what a fingerprint holds, in
           "check": N_("check '{check}' changed")}                                     # the order a reason names them


def reasons(counts: dict[str, int]) -> str:
    """"check 'X' changed (30), reference changed (2)" from reason -> records."""
    return ", ".join(f"{_(why)} ({n})" for why, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
