"""The from-scratch rule at run time: a replaced library function raises inside the exercise.

This is the second layer. The rule that decides is the static allowlist (`logreg_kit/scratch.py`),
read in the grading process from the submitted files; this layer is a denylist of the replaced
functions and their kernels, and lives in the worker beside the student's code (the sandbox's
integrity check notices a submission that changes it). It stays a denylist on purpose: a torch
function mode that admitted only an exercise's allowlist would also see the probes' own torch calls
and what allowed functions call inside, and would have to tell those apart by the caller's frame.

While `forbid(names)` is active (a probe running the student's code), every way of reaching a
replaced library function raises FromScratchViolation: the probes themselves never call one (the
fit probe steps the kit's own TrustedSGD), so there is no exception to abuse. Three layers, so that
no spelling gets through:

- the public names (`F.softmax`, `torch.optim.SGD`, `nn.Linear`, ...) are wrapped once by
  `install()`, before any student code is imported, so aliases, `functools.partial` and `getattr`
  tricks reach the wrapper and its message names what was called;
- private spellings (`torch._softmax`, `torch._refs.log_softmax`, ...: PRIVATE_SPELLINGS) are wrapped
  the same way, under the public name they stand for;
- a torch function mode sees every call of a torch function by identity, so the originals behind
  other spellings (`torch._C.TensorBase.softmax`, `torch._C._nn.linear`,
  `torch._C._VariableFunctions._log_softmax`) raise as well, and so does every `torch.ops.aten` op
  behind a replaced function (`torch.ops.aten._softmax`, `torch.ops.aten.nll_loss_forward`).

Not seen: a kernel called from inside another library function's C++ code (a softmax inside an
attention kernel, say). A torch dispatch mode would see those too, but it tripled the time to grade
a submission (bench: 0.32 s -> 0.88 s), so the kit does without.

No layer asks which file the calling code came from, so code compiled with a foreign filename
(`exec(compile(src, "/usr/lib/python3/x.py", "exec"))`) is caught like any other.
"""
import functools
import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from torch.overrides import TorchFunctionMode

from .exercises import EXERCISES, KERNELS
from .i18n import N_, _

_banned: frozenset[str] = frozenset()
_originals: dict[int, str] = {}  # id of each replaced function's original object -> its public name
_installed = False

# Private functions that do what a replaced public one does: spelling -> the public name.
PRIVATE_SPELLINGS = {
    "torch._softmax": "torch.softmax",
    "torch._log_softmax": "torch.log_softmax",
    "torch._refs.softmax": "torch.softmax",
    "torch._refs.log_softmax": "torch.log_softmax",
    "torch._refs.special.softmax": "torch.softmax",
    "torch._refs.special.log_softmax": "torch.log_softmax",
    "torch._refs.nn.functional.nll_loss": "torch.nn.functional.nll_loss",
}



VIOLATION_WORDS = N_("which this exercise asks you to write yourself")  # how the grader tells a violation from other errors


class FromScratchViolation(Exception):
    """Student code called a library function that its exercise replaces."""


def _violation(dotted: str, via: str = "") -> FromScratchViolation:
    how = _(" (through {via})", via=via) if via and via != dotted else ""
    return FromScratchViolation(_("your code calls {name}{how}, {violation}", name=dotted, how=how, violation=_(VIOLATION_WORDS)))


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


def _forbidden(dotted: str) -> bool:
    return dotted in _banned


def _guard(dotted: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _forbidden(dotted):
            raise _violation(dotted)
        return original(*args, **kwargs)

    guarded.__logreg_kit_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _kernel_name(func: Any) -> str:
    """`aten._softmax.default` -> `_softmax`; "" for anything that is not an aten op."""
    name = getattr(func, "__name__", "")
    return name.split(".")[0] if str(getattr(func, "__module__", "")).startswith("torch._ops.aten") else ""


def _spelling(func: Any) -> str:
    """`torch._C._nn.linear` for the builtin behind F.linear; the qualified name where there is one."""
    owner = getattr(func, "__module__", None) or getattr(getattr(func, "__objclass__", None), "__qualname__", "")
    return f"{owner}.{getattr(func, '__qualname__', func)}" if owner else str(func)


class _FunctionRule(TorchFunctionMode):
    """Every torch function call: the originals of replaced functions, and aten ops by name."""

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
        kernel = _kernel_name(func)
        dotted = _originals.get(id(func)) or KERNELS.get(kernel, "")
        if dotted and _forbidden(dotted):
            raise _violation(dotted, f"torch.ops.aten.{kernel}" if kernel else _spelling(func))
        return func(*args, **(kwargs or {}))


def install() -> None:
    """Wrap every replaced library function once (classes: their __init__); remember the originals."""
    global _installed
    if _installed:
        return
    spellings = {name: name for ex in EXERCISES for name in ex.replaces} | PRIVATE_SPELLINGS
    for spelling, dotted in sorted(spellings.items()):
        owner, attr = _resolve(spelling)
        target = getattr(owner, attr)
        if isinstance(target, type):
            owner, attr, target = target, "__init__", target.__init__
        if not getattr(target, "__logreg_kit_guard__", False):
            _originals[id(target)] = dotted
            setattr(owner, attr, _guard(dotted, target))
    _installed = True


@contextmanager
def forbid(names: frozenset[str]) -> Iterator[None]:
    """While active, every call of `names` raises FromScratchViolation."""
    global _banned
    saved = _banned
    _banned = names
    try:
        with _FunctionRule() if names else nullcontext():
            yield
    finally:
        _banned = saved

