"""What crosses between the grader and a worker: length-prefixed frames of plain data.

A frame is `torch.save` bytes of plain data (tensors, numbers, str, lists, tuples,
dicts); numpy arrays and `Foreign` stand-ins travel as small tagged dicts, numpy scalars
as the Python numbers they hold. Both sides load with `weights_only=True`, so no code
object, class or Tensor subclass can cross, and `decode` checks every value before anyone
computes on it: each tensor is dense CPU data held in the frame itself (a stride-0 view of
2**44 elements backed by one element is refused), of an accepted dtype and rank; meta
tensors stay small; numbers, nesting and the count of values are bounded.
"""
import io
import math
import socket
import struct
import time
from typing import Any

import numpy as np
import torch

from ..i18n import N_, _, ngettext
from ..probes import Foreign

HEADER = struct.Struct("!Q")
ARRAY_TAG = "__logreg_kit_ndarray__"
FOREIGN_TAG = "__logreg_kit_foreign__"
ACCEPTED_DTYPES = frozenset({
    torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
})
MAX_NDIM = 16
MAX_META_BYTES = 64 * 1024**2  # what a meta tensor would take if materialised (honest ones: model-sized)
MAX_DEPTH = 64  # nesting of lists, tuples and dicts (honest results: under 10)
MAX_VALUES = 250_000  # values in one frame, counted per occurrence (a shared list counts each time)
MAX_INT_BITS = 64
PLAIN_LEAVES = (bool, int, float, complex, str)
A_TENSOR, AN_ARRAY = N_("a tensor"), N_("an array")  # what a refused value is called


class WireError(Exception):
    """A frame was cut off, too large, or not plain data."""


class UnsafeValue(WireError):
    """A frame that loads, but holds a value the grader must not compute on (the message says which)."""


def encode(value: Any) -> Any:
    """Plain data (output of probes.plain) -> what torch.save with weights_only can carry."""
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided:
            return {FOREIGN_TAG: f"{str(value.layout).replace('torch.', '')} Tensor"}
        return value.detach().as_subclass(torch.Tensor)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {FOREIGN_TAG: f"ndarray of {value.dtype}"}
        return {ARRAY_TAG: torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, Foreign):
        return {FOREIGN_TAG: value.type_name}
    if type(value) in (list, tuple):
        return type(value)(encode(v) for v in value)
    if type(value) is dict:
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return value.item()
    if value is None or type(value) in PLAIN_LEAVES:
        return value
    return {FOREIGN_TAG: type(value).__name__}


class _Budget:
    """What one frame may still hold: data bytes (honest tensors are dense copies, so all of them
    together fit in the frame's own bytes) and values."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = self.data_bytes = frame_bytes
        self.values = MAX_VALUES

    def count(self) -> None:
        self.values -= 1
        if self.values < 0:
            raise UnsafeValue(_("more than {limit:,} values in one result", limit=MAX_VALUES))


def decode(value: Any, frame_bytes: int = 0, depth: int = 0, budget: _Budget | None = None) -> Any:
    """The inverse of encode, on data loaded with weights_only=True, checking every value;
    UnsafeValue names what is refused. `frame_bytes`: the size of the frame it came from."""
    budget = budget if budget is not None else _Budget(frame_bytes)
    budget.count()
    if depth > MAX_DEPTH:
        raise UnsafeValue(_("values nested more than {limit} levels deep", limit=MAX_DEPTH))
    if type(value) is dict:
        if set(value) == {ARRAY_TAG} and isinstance(value[ARRAY_TAG], torch.Tensor):
            return _array(checked_tensor(value[ARRAY_TAG], budget, AN_ARRAY))
        if set(value) == {FOREIGN_TAG} and type(value[FOREIGN_TAG]) is str:
            return Foreign(value[FOREIGN_TAG][:100])
        if any(type(k) is not str for k in value):
            raise UnsafeValue(_("a dict with a key that is not a str"))
        return {k: decode(v, frame_bytes, depth + 1, budget) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(decode(v, frame_bytes, depth + 1, budget) for v in value)
    if isinstance(value, torch.Tensor):
        return checked_tensor(value, budget, A_TENSOR)
    if type(value) is int and value.bit_length() > MAX_INT_BITS:
        raise UnsafeValue(_("an int of {bits} bits (at most {limit})", bits=value.bit_length(), limit=MAX_INT_BITS))
    if value is None or type(value) in PLAIN_LEAVES:
        return value
    return Foreign(type(value).__name__)


def _array(t: torch.Tensor) -> np.ndarray:
    if t.device.type != "cpu" or t.dtype == torch.bfloat16:
        raise UnsafeValue(_("an array of {dtype} on {device}", dtype=str(t.dtype).replace("torch.", ""), device=t.device.type))
    return t.numpy().copy()


def checked_tensor(t: torch.Tensor, budget: _Budget, kind: str = A_TENSOR) -> torch.Tensor:
    """`t` as a plain, detached tensor, once its layout, dtype, rank, device, strides and size are
    safe to compute on: dense data held in the frame (its bytes count against `budget`), or a meta
    tensor that would stay small if materialised. `kind`: A_TENSOR or AN_ARRAY, for the message."""
    what = _(kind)
    if t.layout != torch.strided:
        raise UnsafeValue(_("{what} with layout {layout} (only dense tensors are accepted)", what=what, layout=t.layout))
    t = t.detach().as_subclass(torch.Tensor)
    dtype = str(t.dtype).replace("torch.", "")
    if t.dtype not in ACCEPTED_DTYPES:
        raise UnsafeValue(_("{what} of dtype {dtype}, which the grader does not accept", what=what, dtype=dtype))
    if t.dim() > MAX_NDIM:
        raise UnsafeValue(_("{what} with {ndim} dimensions (at most {limit})", what=what, ndim=t.dim(), limit=MAX_NDIM))
    nbytes = t.numel() * t.element_size()
    if t.device.type == "meta":
        if nbytes > MAX_META_BYTES:
            meta = _("a meta tensor") if kind == A_TENSOR else _("a meta array")
            raise UnsafeValue(_("{what} of {count:,} elements, over {limit} MB if materialised", what=meta, count=t.numel(),
                                limit=MAX_META_BYTES // 2**20))
        return t
    if t.device.type != "cpu" or any(s < 0 for s in t.stride()):
        raise UnsafeValue(_("{what} on {device} with strides {strides}", what=what, device=t.device.type, strides=t.stride()))
    stored = t.untyped_storage().nbytes()
    reach = (t.storage_offset() + sum((n - 1) * s for n, s in zip(t.shape, t.stride())) + 1) * t.element_size()
    if t.numel() and reach > stored:
        raise UnsafeValue(_("{what} reaching past the end of its data ({reach} of {stored} bytes)", what=what, reach=reach,
                            stored=stored))
    if nbytes > stored:
        raise UnsafeValue(ngettext("{what} view of {count:,} elements ({size}) backed by {n:,} element (strides {strides}): "
                                   "return a dense copy, e.g. .clone(), of a size the exercise asks for",
                                   "{what} view of {count:,} elements ({size}) backed by {n:,} elements (strides {strides}): "
                                   "return a dense copy, e.g. .clone(), of a size the exercise asks for",
                                   stored // max(1, t.element_size()), what=what, count=t.numel(), size=_size(t),
                                   strides=tuple(t.stride())))
    if nbytes > budget.data_bytes:
        raise UnsafeValue(_("tensors that share their data, adding up to more than the result's {limit:,} bytes: return "
                            "separate copies", limit=budget.frame_bytes))
    budget.data_bytes -= nbytes
    return t


def _size(t: torch.Tensor) -> str:
    exponent = math.log2(t.numel()) if t.numel() else 0
    shape = "x".join(str(n) for n in t.shape)
    if exponent >= 20 and exponent.is_integer():
        return _("shape {shape}, 2**{exponent:.0f}", shape=shape, exponent=exponent)
    return _("shape {shape}", shape=shape)


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(encode(value), buffer)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """A frame's value, checked (decode); WireError when it is not plain data, UnsafeValue
    when it holds a value the grader must not compute on."""
    try:
        return decode(torch.load(io.BytesIO(data), weights_only=True, map_location="cpu"), len(data))
    except UnsafeValue:
        raise
    except Exception as err:  # noqa: BLE001 - anything malformed is the sender's fault
        raise WireError(_("not plain data ({error})", error=type(err).__name__)) from None


def send(sock: socket.socket, value: Any) -> None:
    data = dumps(value)
    sock.sendall(HEADER.pack(len(data)) + data)


def recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
    """size bytes; socket.timeout once `deadline` (time.monotonic) has passed."""
    chunks, left = [], size
    while left:
        if deadline is not None:
            sock.settimeout(max(deadline - time.monotonic(), 1e-3))
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, max_bytes: int, deadline: float | None = None) -> Any:
    """One frame; WireError when it is larger than max_bytes, EOFError when the peer is gone."""
    (size,) = HEADER.unpack(recv_exact(sock, HEADER.size, deadline))
    if size > max_bytes:
        raise WireError(_("a result of {size:.1f} MB, more than the {limit:.0f} MB limit", size=size / 1e6, limit=max_bytes / 1e6))
    return loads(recv_exact(sock, size, deadline))
