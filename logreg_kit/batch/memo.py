"""The reference's probe results, memoised per process by a stable hash of their plain arguments.

Every submission asks the reference the same questions (same probes, same seeded inputs);
a grading worker that answers each once saves that work on every later submission.
Results are deep-copied on the way out so a check cannot alter the cached value.
"""
import copy
import hashlib
from typing import Any

import numpy as np
import torch


def _feed(h: "hashlib._Hash", value: Any) -> None:
    """Add a plain value to the hash: tensors by dtype, shape, device and bytes."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}{t.device.type}{t.requires_grad}".encode())
        if t.device.type != "meta":
            h.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(f"A{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}[".encode())
        for v in value:
            _feed(h, v)
        h.update(b"]")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}{{".encode())
        for k in sorted(value, key=str):
            h.update(repr(k).encode())
            _feed(h, value[k])
        h.update(b"}")
    elif value is None or isinstance(value, (bool, int, float, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"cannot hash {type(value).__name__} stably")


def stable_key(*parts: Any) -> str:
    """sha256 of plain data; equal for equal values across runs and processes."""
    h = hashlib.sha256()
    for part in parts:
        _feed(h, part)
    return h.hexdigest()


class MemoBackend:
    """Wraps a trusted Backend (the reference): `run` answers repeated questions from a cache."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.label = inner.label
        self.cache: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        try:
            key = stable_key(exercises, probe, args)
        except TypeError:
            return self.inner.run(exercises, probe, *args)
        if key not in self.cache:
            self.misses += 1
            self.cache[key] = self.inner.run(exercises, probe, *args)
        else:
            self.hits += 1
        return copy.deepcopy(self.cache[key])

    def source(self, module: str) -> str | None:
        return self.inner.source(module)

    def close(self) -> None:
        self.inner.close()


def memoise_reference() -> MemoBackend:
    """Put the memo in front of the reference this process's checks use (idempotent).

    Works whether `reference()` keeps its Student (lru_cache) or builds one per call over
    `SETTINGS.reference` (the bundle-aware registry on main).
    """
    from ..checks.registry import SETTINGS, reference

    ref = reference()
    if isinstance(ref.backend, MemoBackend):
        return ref.backend
    memo = MemoBackend(ref.backend)
    if hasattr(SETTINGS, "reference"):
        SETTINGS.reference = memo
    ref.backend = memo
    return memo


def unmemoise_reference() -> None:
    """Take the memo out again (for benchmarks that compare with and without it)."""
    from ..checks.registry import SETTINGS, reference

    ref = reference()
    if isinstance(ref.backend, MemoBackend):
        if hasattr(SETTINGS, "reference"):
            SETTINGS.reference = ref.backend.inner
        ref.backend = ref.backend.inner
