"""Comparisons that explain themselves: shape, dtype and device before values, then the worst element.

Every comparison raises CheckFailure with a message for a student; the harness adds
the exercise, the function and what was checked in front of it, and the hint after it.
"""
import math
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from numbers import Real
from typing import Any, NoReturn

import numpy as np
import torch

from .i18n import N_, _
from .plain import Foreign

# Named tolerances. float32 arithmetic in a different order differs by a few ulps.
FLOAT32_RTOL = 1e-5
FLOAT32_ATOL = 1e-6
FLOAT64_RTOL = 1e-7
FLOAT64_ATOL = 1e-10
# The numpy losses (exercises 1, 2a, 2b): the lesson computes in float64, but the same formula on
# float32 arrays (np.float32, or torch's default dtype) is off by a few 1e-7 relative (3.4e-7
# measured on the checks' cases); float32 is not a mistake of the formula, so it is accepted.
LOSS_RTOL = 2e-6
LOSS_ATOL = 1e-10
DEVICE_RTOL = 1e-4  # CPU vs CUDA: different kernels, same float32 math
DEVICE_ATOL = 1e-5
TRAINING_RTOL = 1e-4  # a loss after hundreds of float32 updates
TRAINING_ATOL = 1e-5


# Whether failures may print expected values; the harness turns it off while a hidden check runs.
REVEAL: ContextVar[bool] = ContextVar("reveal", default=True)


NOT_IMPLEMENTED = N_("not implemented yet")  # how every route reports an untouched stub (backend.explain too)

# What kind of difference a failure is: a check's hint is shown only for the kinds it was written for.
KINDS = ("type", "shape", "dtype", "device", "values", "nonfinite", "other")


class CheckFailure(AssertionError):
    """A check found a difference; the message is written for the student.

    kind: one of KINDS; diagnosis: what the student's code does, when the difference is one a known
    mistake makes (it then stands in for the check's hint)."""

    def __init__(self, message: str, kind: str = "other", diagnosis: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.diagnosis = diagnosis


def fail(message: str, kind: str = "other", diagnosis: str = "") -> NoReturn:
    raise CheckFailure(message, kind, diagnosis)


# A known mistake: what the student's code does, in words, and what it would return on the check's
# input (computed here, in the grading process, from the inputs or the reference's output; lazily).
Mistakes = Sequence[tuple[str, Callable[[], Any]]]


def matching(got: Any, mistakes: Mistakes, rtol: float, atol: float) -> set[str]:
    """The words of every known mistake whose output `got` matches (same shape, close values)."""
    found = set()
    for words, would_give in mistakes:
        try:
            want = would_give()
        except Exception:  # noqa: BLE001 - a mistake that cannot be formed on this input
            continue
        if _same_values(got, want, rtol, atol):
            found.add(words)
    return found


def recognised(got: Any, mistakes: Mistakes, rtol: float, atol: float) -> str:
    """The words of the known mistake `got` matches, or "" when none does or when several different
    mistakes give the same output on this input (the case cannot tell which one the code makes)."""
    found = matching(got, mistakes, rtol, atol)
    return found.pop() if len(found) == 1 else ""


def _same_values(got: Any, want: Any, rtol: float, atol: float) -> bool:
    if isinstance(want, (float, int)) and not isinstance(got, (torch.Tensor, np.ndarray, bool)) and isinstance(got, Real):
        return math.isfinite(float(got)) and abs(float(got) - want) <= atol + rtol * abs(want)
    if isinstance(got, torch.Tensor) and isinstance(want, torch.Tensor) and got.shape == want.shape:
        g, w = got.detach().double().cpu(), want.detach().double().cpu()
        return bool(torch.isfinite(g).all()) and bool(((g - w).abs() <= atol + rtol * w.abs()).all())
    return False


def _case(case: str) -> str:
    return f" [{case}]" if case else ""


def where(text: str, case: str) -> str:
    """`text` followed by the case it was found on, in brackets: "... [seed 0, x: (5, 10)]"."""
    return text + _case(case)


def describe(value: Any) -> str:
    """Short description of a value: `Tensor (3, 4) float32 on cpu`, `float`, `ndarray (3,) int64`."""
    if isinstance(value, torch.Tensor):
        return _("Tensor {shape} {dtype} on {device}", shape=tuple(value.shape),
                 dtype=str(value.dtype).replace("torch.", ""), device=value.device)
    if isinstance(value, np.ndarray):
        return f"ndarray {value.shape} {value.dtype}"
    if isinstance(value, Foreign):  # a returned object the checks do not take: name its type
        return value.type_name
    return type(value).__name__


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def expect_tensor(
    got: Any,
    expected: torch.Tensor,
    *,
    rtol: float,
    atol: float,
    case: str = "",
    reveal: bool | None = None,
    mistakes: Mistakes = (),
) -> None:
    """Fail unless `got` is a tensor of the expected shape, dtype and device, close elementwise.

    mistakes: known mistakes to recognise in `got` when it differs (see `recognised`)."""
    if not isinstance(got, torch.Tensor):
        fail(where(_("expected a torch.Tensor, got {got}", got=describe(got)), case), "type")
    def diagnosis() -> str:  # worked out only for a failure: a passing check pays nothing for its known mistakes
        return recognised(got, mistakes, rtol, atol) if mistakes else ""

    for what, message, want, have in (
        ("shape", N_("shape: expected {expected}, got {got}"), tuple(expected.shape), tuple(got.shape)),
        ("dtype", N_("dtype: expected {expected}, got {got}"), expected.dtype, got.dtype),
        ("device", N_("device: expected {expected}, got {got}"), expected.device.type, got.device.type),
    ):
        if want != have:
            fail(where(_(message, expected=want, got=have), case), what, diagnosis() if what == "shape" else "")
    try:
        _expect_values(got.detach().double().cpu(), expected.detach().double().cpu(), rtol, atol, case, reveal)
    except CheckFailure as err:
        raise CheckFailure(str(err), err.kind, diagnosis()) from None


def expect_array(got: Any, expected: np.ndarray, *, rtol: float, atol: float, case: str = "") -> None:
    """Like expect_tensor, for numpy arrays (shape and values; any float dtype)."""
    if not isinstance(got, np.ndarray):
        fail(where(_("expected a numpy array, got {got}", got=describe(got)), case))
    if got.shape != expected.shape:
        fail(where(_("shape: expected {expected}, got {got}", expected=expected.shape, got=got.shape), case))
    _expect_values(torch.from_numpy(got.astype(np.float64)), torch.from_numpy(expected.astype(np.float64)), rtol, atol, case, None)


def _expect_values(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, case: str, reveal: bool | None) -> None:
    reveal = REVEAL.get() if reveal is None else reveal
    bad_finite = ~torch.isfinite(got) & torch.isfinite(expected)
    if bad_finite.any():
        flat = int(bad_finite.flatten().nonzero()[0])
        at = _index(flat, tuple(got.shape))
        kind = "NaN" if math.isnan(got.flatten()[flat]) else "inf"
        fail(where(_("{kind} at index {index} ({count} non-finite elements)", kind=kind, index=at,
                        count=int(bad_finite.sum())), case), "nonfinite")
    tolerance = atol + rtol * expected.abs()
    excess = ((got - expected).abs() - tolerance).nan_to_num(nan=math.inf)
    if expected.numel() == 0 or excess.max() <= 0:
        return
    flat = int(excess.flatten().argmax())
    at = _index(flat, tuple(got.shape))
    g, e = float(got.flatten()[flat]), float(expected.flatten()[flat])
    n_bad = int((excess > 0).sum())
    if reveal:
        values = _("expected {expected:.8g}, got {got:.8g} (|diff| {diff:.3g} > tolerance {tolerance:.3g}, "
                   "rtol={rtol:g}, atol={atol:g})", expected=e, got=g, diff=abs(g - e),
                   tolerance=float(tolerance.flatten()[flat]), rtol=rtol, atol=atol)
    else:  # the difference or the tolerance would give the expected value away
        values = _("got {got:.8g}, outside the tolerance (rtol={rtol:g}, atol={atol:g})", got=g, rtol=rtol, atol=atol)
    fail(where(_("values differ at {bad} of {total} elements; worst at index {index}: {values}", bad=n_bad,
                 total=expected.numel(), index=at, values=values), case), "values")


def expect_float(got: Any, expected: float, *, rtol: float, atol: float, case: str = "", reveal: bool | None = None,
                 mistakes: Mistakes = ()) -> None:
    """Fail unless `got` is a real Python/numpy number (not a tensor or array) close to `expected`.

    reveal: print the expected value on failure; None follows REVEAL (off in hidden checks).
    mistakes: known mistakes to recognise in `got` when it differs (see `recognised`)."""
    reveal = REVEAL.get() if reveal is None else reveal
    if isinstance(got, (torch.Tensor, np.ndarray)) or isinstance(got, bool) or not isinstance(got, Real):
        fail(_("expected a Python float, got {got}{case} (a number such as float(...) or .item() gives)",
               got=describe(got), case=_case(case)), "type")
    got = float(got)
    if math.isnan(got) or math.isinf(got):
        fail(where(_("got {got} (not finite)", got=got), case), "nonfinite")
    if abs(got - expected) > atol + rtol * abs(expected):
        diagnosis = recognised(got, mistakes, rtol, atol) if mistakes else ""
        if reveal:
            fail(where(_("expected {expected:.12g}, got {got:.12g} (|diff| {diff:.3g}, rtol={rtol:g}, atol={atol:g})",
                         expected=expected, got=got, diff=abs(got - expected), rtol=rtol, atol=atol), case),
                 "values", diagnosis)
        fail(where(_("got {got:.12g}, outside the tolerance (rtol={rtol:g}, atol={atol:g})", got=got, rtol=rtol, atol=atol),
                   case), "values", diagnosis)


def expect_on_meta(got: Any, shape: tuple[int, ...], what: str) -> None:
    """Fail unless `got` is a tensor of `shape` on the `meta` device (code that runs on any device)."""
    ok = isinstance(got, torch.Tensor) and got.device.type == "meta" and tuple(got.shape) == shape
    expect(ok, _("{what} gave {got}, expected Tensor {shape} on meta", what=what, got=describe(got), shape=shape), "device")


def expect(condition: bool, message: str, kind: str = "other", diagnosis: str = "") -> None:
    if not condition:
        fail(message, kind, diagnosis)
