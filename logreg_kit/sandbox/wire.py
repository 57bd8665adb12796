"""What crosses between the grader and a worker: length-prefixed frames of plain data.

A frame is `torch.save` bytes of plain data (tensors, numbers, str, lists, tuples,
dicts); numpy arrays and `Foreign` stand-ins travel as small tagged dicts. Both sides
load with `weights_only=True`, so no code object, class or Tensor subclass can cross.
"""
import io
import socket
import struct
import time
from typing import Any

import numpy as np
import torch

from ..probes import Foreign

HEADER = struct.Struct("!Q")
ARRAY_TAG = "__logreg_kit_ndarray__"
FOREIGN_TAG = "__logreg_kit_foreign__"


class WireError(Exception):
    """A frame was cut off, too large, or not plain data."""


def encode(value: Any) -> Any:
    """Plain data (output of probes.plain) -> what torch.save with weights_only can carry."""
    if isinstance(value, torch.Tensor):
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
    if value is None or type(value) in (bool, int, float, str):
        return value
    return {FOREIGN_TAG: type(value).__name__}


def decode(value: Any) -> Any:
    """The inverse of encode, on data loaded with weights_only=True."""
    if type(value) is dict:
        if set(value) == {ARRAY_TAG} and isinstance(value[ARRAY_TAG], torch.Tensor):
            return value[ARRAY_TAG].numpy().copy()
        if set(value) == {FOREIGN_TAG}:
            return Foreign(str(value[FOREIGN_TAG]))
        return {k: decode(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(decode(v) for v in value)
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor)
    return value


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(encode(value), buffer)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    try:
        return decode(torch.load(io.BytesIO(data), weights_only=True, map_location="cpu"))
    except Exception as err:  # noqa: BLE001 - anything malformed is the sender's fault
        raise WireError(f"not plain data ({type(err).__name__})") from None


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
        raise WireError(f"a result of {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB limit")
    return loads(recv_exact(sock, size, deadline))
