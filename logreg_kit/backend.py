"""Where probes run. LocalBackend runs them in this process, under the from-scratch
tripwire and a wall-clock limit; the hardened route (`sandbox.remote.RemoteBackend`) puts a worker
process behind the same `run` interface. Which one grades a target is chosen above both, in
`logreg_kit.factory`.
"""
import copy
import hashlib
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np
import torch

from . import tripwire
from .exercises import BY_ID, MIN_CPU_SHARE, MODULES, PROBE_TIMEOUT_S, WALL_FACTOR
from .i18n import _
from .impl import PackageImplementation
from .probes import PROBES, StudentError, explain, plain  # noqa: F401 - re-exported
from .sandbox.launcher import MAX_SOURCE_BYTES
from .scratch import read_sources


class Backend(Protocol):
    label: str

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any: ...

    def source(self, module: str) -> str | None: ...

    def close(self) -> None: ...


def cpu_timeout_message(seconds: float, what: str, used: float | None = None) -> str:
    """The message of a call stopped by the per-call CPU limit (every route words it the same)."""
    spent = _("; it used {used:.1f} s", used=used) if used is not None else ""
    return _("timed out after {seconds:g} s of CPU time in {what} (the CPU-time limit per call{spent}; "
             "time spent waiting for a busy machine does not count)", seconds=seconds, what=what, spent=spent)


def wall_timeout_message(seconds: float, what: str, used: float | None = None) -> str:
    """The message of a call stopped by the far wall-clock backstop (it slept, waited or blocked)."""
    spent = _(", of which {used:.1f} s of CPU time", used=used) if used is not None else ""
    return _("timed out after {wall:g} s of wall-clock time in {what}{spent} (the far wall-clock limit per call, "
             "{factor:g}x the {seconds:g} s CPU limit, for a call that sleeps or waits instead of computing)",
             wall=seconds * WALL_FACTOR, what=what, spent=spent, factor=WALL_FACTOR, seconds=seconds)


def still_working(cpu_seconds: float, wall_seconds: float) -> bool:
    """Whether a call that used `cpu_seconds` in `wall_seconds` is computing (slowly, on a busy
    machine) rather than sleeping or blocked: the wall-clock backstop lets such a call go on."""
    return cpu_seconds >= MIN_CPU_SHARE * wall_seconds


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise StudentError after `seconds` of this process's CPU time (ITIMER_PROF: user + system,
    every thread), or, for a call that sleeps or blocks (below MIN_CPU_SHARE of a core), after
    WALL_FACTOR times that of wall-clock time (main thread, POSIX only)."""
    start, wall_start = time.process_time(), time.monotonic()

    def out_of_cpu(signum: int, frame: Any) -> None:
        raise StudentError(cpu_timeout_message(seconds, what, time.process_time() - start))

    def out_of_wall(signum: int, frame: Any) -> None:
        used, elapsed = time.process_time() - start, time.monotonic() - wall_start
        if still_working(used, elapsed):  # slow because the machine is busy: the CPU limit decides
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return
        raise StudentError(wall_timeout_message(seconds, what, used))

    previous = signal.signal(signal.SIGPROF, out_of_cpu), signal.signal(signal.SIGALRM, out_of_wall)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])


class LocalBackend:
    """Runs probes in this process: for the reference, the stubs and a student's own checkout."""

    def __init__(self, target: str, timeout: float = PROBE_TIMEOUT_S) -> None:
        tripwire.install()
        self.impl = PackageImplementation(target)
        self.label = self.impl.label
        self.timeout = timeout

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        banned = frozenset(name for ex in exercises for name in BY_ID[ex].replaces)
        what = f"{probe}({args[0]})" if probe.startswith("call") else probe
        try:
            with tripwire.forbid(banned), time_limit(self.timeout, what):
                return plain(PROBES[probe](self.impl, *args))
        except SystemExit as err:
            raise StudentError(_("your code called sys.exit({code})", code=repr(err.code))) from None
        except Exception as err:  # noqa: BLE001 - anything the student's code raises
            raise StudentError(explain(err, self.impl.owns)) from None

    def source(self, module: str) -> str | None:
        return self.impl.source(module)

    def source_files(self) -> dict[str, str | None]:
        """Every .py file of the implementation's folder, decoded as Python decodes it (a notebook
        kernel's namespace has no folder: the source of each exercise module's definitions)."""
        root = getattr(self.impl, "root", None)
        if root is None:
            return {f"{m}.py": text for m in ("__init__", *MODULES) if (text := self.impl.source(m)) is not None}
        return read_sources(root, MAX_SOURCE_BYTES)

    def close(self) -> None:
        pass


class UnavailableBackend:
    """Stands in for a submission that cannot be opened at all (a malformed notebook, a missing
    folder): every check fails with the same specific message, and grading goes on."""

    def __init__(self, target: str, why: str) -> None:
        self.label = str(target)
        self.why = why

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        raise StudentError(self.why)

    def source(self, module: str) -> str | None:
        return None

    def close(self) -> None:
        pass


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

    def source_files(self) -> dict[str, str | None]:
        return self.inner.source_files() if hasattr(self.inner, "source_files") else {}

    def close(self) -> None:
        self.inner.close()
