"""Plain data: what a probe's result is copied into before a check looks at it, and what crosses
the sandbox's wire (plain tensors, arrays, numbers, str, lists, dicts, and Foreign for the rest).
"""
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


class Foreign:
    """Stand-in for a returned object of a type the checks do not accept (its type name only)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return self.type_name


# Python's own conversion for each builtin scalar type: a subclass becomes its base type's value
# without running the subclass's methods (an overridden __float__ or __eq__ never runs here).
_BUILTIN_SCALARS: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (bool, bool), (int, int.__int__), (float, float.__float__), (complex, complex.__complex__), (str, str.__str__))


def plain(value: Any) -> Any:
    """Copy a returned value into plain data: plain tensors, arrays, numbers, str, lists, dicts.

    numpy scalars (np.float64 from `np.mean`, np.float32, np.int64, np.bool_) become the Python
    number they hold, so every route sees the same value; a 0-d ndarray stays an array."""
    if isinstance(value, torch.Tensor):
        out = value.detach().as_subclass(torch.Tensor)
        return out if out.device.type == "meta" else out.clone()
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass
        return plain(value.item()) if value.dtype.kind in "biufcU" else Foreign(type(value).__name__)
    if value is None or isinstance(value, Foreign):  # Foreign: already plain (call_many's answers)
        return value
    for base, convert in _BUILTIN_SCALARS:
        if isinstance(value, base):
            return convert(value)
    if isinstance(value, numbers.Real):  # Fraction, Decimal-like types: the checks take any real number
        return int(value) if isinstance(value, numbers.Integral) else float(value)
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value) if type(value) in (list, tuple) else Foreign(type(value).__name__)
    if type(value) is dict:
        return {str(k): plain(v) for k, v in value.items()}
    return Foreign(type(value).__name__)
