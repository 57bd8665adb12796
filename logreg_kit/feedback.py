"""Comparisons that explain themselves: shape, dtype and device before values, then the worst element.

Every comparison raises CheckFailure with a message for a student; the harness adds
the exercise, the function and what was checked in front of it, and the hint after it.
"""
import math
from contextvars import ContextVar
from numbers import Real
from typing import Any, NoReturn

import numpy as np
import torch

from .probes import Foreign

# Named tolerances. float32 arithmetic in a different order differs by a few ulps.
FLOAT32_RTOL = 1e-5
FLOAT32_ATOL = 1e-6
FLOAT64_RTOL = 1e-7
FLOAT64_ATOL = 1e-10
DEVICE_RTOL = 1e-4  # CPU vs CUDA: different kernels, same float32 math
DEVICE_ATOL = 1e-5
TRAINING_RTOL = 1e-4  # a loss after hundreds of float32 updates
TRAINING_ATOL = 1e-5


# Whether failures may print expected values; the harness turns it off while a hidden check runs.
REVEAL: ContextVar[bool] = ContextVar("reveal", default=True)


class CheckFailure(AssertionError):
    """A check found a difference; the message is written for the student."""


def fail(message: str) -> NoReturn:
    raise CheckFailure(message)


def _case(case: str) -> str:
    return f" [{case}]" if case else ""


def describe(value: Any) -> str:
    """Short description of a value: `Tensor (3, 4) float32 on cpu`, `float`, `ndarray (3,) int64`."""
    if isinstance(value, torch.Tensor):
        return f"Tensor {tuple(value.shape)} {str(value.dtype).replace('torch.', '')} on {value.device}"
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
) -> None:
    """Fail unless `got` is a tensor of the expected shape, dtype and device, close elementwise."""
    if not isinstance(got, torch.Tensor):
        fail(f"expected a torch.Tensor, got {describe(got)}{_case(case)}")
    for what, want, have in (
        ("shape", tuple(expected.shape), tuple(got.shape)),
        ("dtype", expected.dtype, got.dtype),
        ("device", expected.device.type, got.device.type),
    ):
        if want != have:
            fail(f"{what}: expected {want}, got {have}{_case(case)}")
    _expect_values(got.detach().double().cpu(), expected.detach().double().cpu(), rtol, atol, case, reveal)


def expect_array(got: Any, expected: np.ndarray, *, rtol: float, atol: float, case: str = "") -> None:
    """Like expect_tensor, for numpy arrays (shape and values; any float dtype)."""
    if not isinstance(got, np.ndarray):
        fail(f"expected a numpy array, got {describe(got)}{_case(case)}")
    if got.shape != expected.shape:
        fail(f"shape: expected {expected.shape}, got {got.shape}{_case(case)}")
    _expect_values(torch.from_numpy(got.astype(np.float64)), torch.from_numpy(expected.astype(np.float64)), rtol, atol, case, None)


def _expect_values(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float, case: str, reveal: bool | None) -> None:
    reveal = REVEAL.get() if reveal is None else reveal
    bad_finite = ~torch.isfinite(got) & torch.isfinite(expected)
    if bad_finite.any():
        flat = int(bad_finite.flatten().nonzero()[0])
        where = _index(flat, tuple(got.shape))
        kind = "NaN" if math.isnan(got.flatten()[flat]) else "inf"
        fail(f"{kind} at index {where} ({int(bad_finite.sum())} non-finite elements){_case(case)}")
    tolerance = atol + rtol * expected.abs()
    excess = ((got - expected).abs() - tolerance).nan_to_num(nan=math.inf)
    if expected.numel() == 0 or excess.max() <= 0:
        return
    flat = int(excess.flatten().argmax())
    where = _index(flat, tuple(got.shape))
    g, e = float(got.flatten()[flat]), float(expected.flatten()[flat])
    n_bad = int((excess > 0).sum())
    if reveal:
        values = (f"expected {e:.8g}, got {g:.8g} (|diff| {abs(g - e):.3g} > tolerance "
                  f"{float(tolerance.flatten()[flat]):.3g}, rtol={rtol:g}, atol={atol:g})")
    else:  # the difference or the tolerance would give the expected value away
        values = f"got {g:.8g}, outside the tolerance (rtol={rtol:g}, atol={atol:g})"
    fail(f"values differ at {n_bad} of {expected.numel()} elements; worst at index {where}: {values}{_case(case)}")


def expect_float(got: Any, expected: float, *, rtol: float, atol: float, case: str = "", reveal: bool | None = None) -> None:
    """Fail unless `got` is a real Python/numpy number (not a tensor or array) close to `expected`.

    reveal: print the expected value on failure; None follows REVEAL (off in hidden checks)."""
    reveal = REVEAL.get() if reveal is None else reveal
    if isinstance(got, (torch.Tensor, np.ndarray)) or isinstance(got, bool) or not isinstance(got, Real):
        fail(f"expected a Python float, got {describe(got)}{_case(case)} (hint: float(...) or .item())")
    got = float(got)
    if math.isnan(got) or math.isinf(got):
        fail(f"got {got} (not finite){_case(case)}")
    if abs(got - expected) > atol + rtol * abs(expected):
        if reveal:
            fail(f"expected {expected:.12g}, got {got:.12g} (|diff| {abs(got - expected):.3g}, "
                 f"rtol={rtol:g}, atol={atol:g}){_case(case)}")
        fail(f"got {got:.12g}, outside the tolerance (rtol={rtol:g}, atol={atol:g}){_case(case)}")


def expect_on_meta(got: Any, shape: tuple[int, ...], what: str) -> None:
    """Fail unless `got` is a tensor of `shape` on the `meta` device (code that runs on any device)."""
    ok = isinstance(got, torch.Tensor) and got.device.type == "meta" and tuple(got.shape) == shape
    expect(ok, f"{what} gave {describe(got)}, expected Tensor {shape} on meta")


def expect(condition: bool, message: str) -> None:
    if not condition:
        fail(message)
