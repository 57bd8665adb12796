"""RemoteBackend: the Backend protocol over a sandboxed worker process.

The checks, the reference and the expected values stay in this (trusted) process; a probe
runs in the worker and only its plain result comes back, loaded as data (weights_only).
"""
import importlib.util
import select
import socket
import time
from pathlib import Path
from typing import Any

from ..backend import StudentError, cpu_timeout_message, still_working, wall_timeout_message
from ..exercises import IMPORT_TIMEOUT_S, WALL_FACTOR
from ..i18n import _
from ..impl import ImplementationError
from ..probes import probe_subject
from ..scratch import decode_source, read_sources
from . import wire
from .launcher import MAX_SOURCE_BYTES, Limits, Sandbox

CPU_SIGNAL = "SIGXCPU"  # how the worker ends when a call (or the import) used up its CPU time (template.describe_status)


def submission_folder(target: str | Path) -> Path:
    """The folder of a --impl target: a folder, or an importable package's folder."""
    path = Path(target)
    if path.is_dir():
        return path.resolve()
    spec = importlib.util.find_spec(str(target)) if str(target).isidentifier() else None
    if spec is None or not spec.submodule_search_locations:
        raise ImplementationError(_("{target}: neither a folder nor an importable package", target=target))
    return Path(list(spec.submodule_search_locations)[0]).resolve()


class RemoteBackend:
    """Runs probes in a worker forked from a sandboxed template; one worker per submission,
    replaced after a timeout, crash or limit. Pass `sandbox` to share one template across
    submissions (a batch, the test suite); otherwise the backend starts and closes its own."""

    def __init__(self, target: str | Path, sandbox: Sandbox | None = None, limits: Limits | None = None,
                 timeout: float | None = None) -> None:
        self.folder = submission_folder(target)
        self.owns_sandbox = sandbox is None
        self.sandbox = sandbox if sandbox is not None else Sandbox(limits or Limits())
        self.timeout = timeout if timeout is not None else self.sandbox.limits.timeout_s
        self.label = f"{target} [{self.sandbox.isolation}]"
        self.sock: socket.socket | None = None
        self.root = ""
        self.broken = ""
        self.warm = False  # the worker was forked after the template's warm-up
        self.need_warm = False  # see warm_worker
        self.cold_ok = False  # a worker forked again for warmth came cold: the template was replaced, keep it

    def _worker(self) -> socket.socket:
        if self.sandbox.owner is not self:
            self.root = self.sandbox.assign(self.folder, self)
            self.sock = None
        if self.broken:
            raise StudentError(self.broken)
        wants_warm = self.need_warm and not self.cold_ok
        if self.sock is not None and wants_warm and not self.warm:
            self._drop()  # forked cold: the template has warmed up since (or the reap waits for it)
            self._spawn()
        elif self.sock is None:
            self._spawn()
        if wants_warm and not self.warm:  # the template's first worker: its warm-up comes next
            self._drop()
            self._spawn()
            self.cold_ok = not self.warm  # its warm-up failed (it was replaced): no template restart per check
        return self.sock

    def _spawn(self) -> None:
        self.sock = self.sandbox.spawn(self.root, min(self.timeout, IMPORT_TIMEOUT_S))
        self.warm = self.sandbox.forked_warm
        self._await_import()

    def warm_worker(self) -> None:
        """From now on, run the probes in a worker forked after the template's warm-up: called before
        a check that runs the student's code on `meta` (Check.needs), so that torch._dynamo, which
        `meta` needs, is imported neither inside a probe's CPU budget nor on the path of the checks
        (the template imports it beside its first worker's calls; that worker, forked cold, is
        replaced once)."""
        self.need_warm = True

    def _await_import(self) -> None:
        """The worker imports the submission first; a hang or crash there fails every check
        at once (each would fail the same way), instead of one timeout per check."""
        limit = min(self.timeout, IMPORT_TIMEOUT_S)
        try:
            self._await_reply(self.sock, limit)
            reply = wire.recv(self.sock, 1 << 20, time.monotonic() + limit * WALL_FACTOR)
            if isinstance(reply, tuple) and reply and reply[0] == "loaded":
                return
            why = _("it sent something else than the expected greeting")
        except (socket.timeout, TimeoutError):
            self._drop()
            why = _("importing your modules took more than {wall:g} s of wall-clock time "
                    "({factor:g}x the {limit:g} s CPU limit: does it sleep or wait at import?)",
                    wall=limit * WALL_FACTOR, factor=WALL_FACTOR, limit=limit)
        except (EOFError, ConnectionError, wire.WireError):
            status = self._drop(ended=True)
            why = (_("importing your modules took more than {limit:g} s of CPU time (a loop or a long computation at import?)",
                     limit=limit)
                   if CPU_SIGNAL in status else _("the process ended while importing your modules: {status}", status=status))
        if self.sock is not None:
            self._drop()
        self.broken = _("your submission could not be loaded: {why}", why=why)
        raise StudentError(self.broken)

    def _drop(self, ended: bool = False) -> str:
        """Close the connection, end the worker and all it started; how the worker ended."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        return self.sandbox.reap(ended)

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        what = probe_subject(probe, args)
        sock = self._worker()
        try:
            wire.send(sock, (tuple(exercises), probe, tuple(args), self.timeout))  # the call's CPU budget last
            self._await_reply(sock)
            reply = wire.recv(sock, self.sandbox.limits.result_bytes, time.monotonic() + self.timeout * WALL_FACTOR)
        except (socket.timeout, TimeoutError):
            self._drop()
            raise StudentError(wall_timeout_message(self.timeout, what)) from None
        except (EOFError, ConnectionError, BrokenPipeError):
            status = self._drop(ended=True)
            if CPU_SIGNAL in status:
                raise StudentError(cpu_timeout_message(self.timeout, what)) from None
            raise StudentError(_("the process running your code ended during {what}: {status}", what=what, status=status)) from None
        except wire.UnsafeValue as err:  # the frame was read whole: the worker can go on
            raise StudentError(_("{what} returned {problem}", what=what, problem=err)) from None
        except wire.WireError as err:
            self._drop()
            raise StudentError(_("{what} sent back {problem}", what=what, problem=err)) from None
        if not (isinstance(reply, tuple) and len(reply) == 2 and reply[0] in ("ok", "error")):
            self._drop()
            raise StudentError(_("{what}: the process running your code sent back a malformed answer", what=what))
        kind, value = reply
        if kind == "error":
            raise StudentError(str(value)[:2000])
        return value

    def _await_reply(self, sock: socket.socket, budget: float | None = None) -> None:
        """Wait until the worker answers (or ends). The worker's CPU limit ends a computing call; this
        is the far wall-clock backstop: after WALL_FACTOR x the limit, a call that got less than
        MIN_CPU_SHARE of a core (sleeping, blocked) times out, one that computes slowly on a busy
        machine waits on (socket.timeout when it is given up)."""
        budget = self.timeout if budget is None else budget
        cpu_start, wall_start = self.sandbox.cpu_seconds(), time.monotonic()
        wait = budget * WALL_FACTOR
        while not select.select([sock], [], [], wait)[0]:
            if not still_working(self.sandbox.cpu_seconds() - cpu_start, time.monotonic() - wall_start):
                raise socket.timeout("no answer")
            wait = budget

    def source(self, module: str) -> str | None:
        """The submitted source as text, read here and never executed here."""
        path = self.folder / f"{module}.py"
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
                return None
            return decode_source(path.read_bytes())
        except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
            return None

    def source_files(self) -> dict[str, str | None]:
        """Every .py file of the submission, decoded as Python decodes it, read here (the static rules)."""
        return read_sources(self.folder, MAX_SOURCE_BYTES)

    def close(self) -> None:
        if self.sandbox.owner is self:
            self._drop()
            self.sandbox.owner = None
        if self.owns_sandbox:
            self.sandbox.close()
