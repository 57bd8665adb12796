"""The from-scratch rule at run time: a replaced library function raises inside the exercise.

`install()` wraps each library function that an exercise replaces (`F.softmax`,
`torch.optim.SGD`, `nn.Linear`, ...) once, before any student code is imported, so
aliases (`from torch.nn import functional as G`) and `getattr` tricks reach the wrapper
too. A wrapper raises only while `forbid()` is active and some frame of the call stack
belongs to the student's code; the grader's own calls pass through.
"""
import functools
import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .exercises import EXERCISES

_banned: frozenset[str] = frozenset()
_owns: Callable[[str], bool] = lambda filename: False  # noqa: E731
_installed = False


class FromScratchViolation(Exception):
    """Student code called a library function that its exercise replaces."""


def _resolve(dotted: str) -> tuple[Any, str]:
    """("torch.nn.functional.softmax") -> (module or class object, attribute name)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1]
    raise ImportError(dotted)


def _student_on_stack() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if _owns(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


def _guard(dotted: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if dotted in _banned and _student_on_stack():
            raise FromScratchViolation(
                f"your code calls {dotted}, which this exercise asks you to write yourself"
            )
        return original(*args, **kwargs)

    guarded.__logreg_kit_guard__ = True  # type: ignore[attr-defined]
    return guarded


def install() -> None:
    """Wrap every replaced library function once (classes: their __init__)."""
    global _installed
    if _installed:
        return
    for dotted in sorted({name for ex in EXERCISES for name in ex.replaces}):
        owner, attr = _resolve(dotted)
        target = getattr(owner, attr)
        if isinstance(target, type):
            owner, attr, target = target, "__init__", target.__init__
        if not getattr(target, "__logreg_kit_guard__", False):
            setattr(owner, attr, _guard(dotted, target))
    _installed = True


@contextmanager
def forbid(names: frozenset[str], owns: Callable[[str], bool]) -> Iterator[None]:
    """While active, calls of `names` from code for which `owns(filename)` is true raise."""
    global _banned, _owns
    saved = _banned, _owns
    _banned, _owns = names, owns
    try:
        yield
    finally:
        _banned, _owns = saved
