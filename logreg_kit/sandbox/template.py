"""The warm template (runs inside the sandbox): imports torch and the kit once, then forks
one worker per request of the grader. Never imports `solutions` or the checks.

Control channel (fd given on the command line), one JSON line each way:
  {"op": "spawn", "root": DIR} -> forks a worker for the submission in DIR and sends the
                                  grader its end of a fresh socket (SCM_RIGHTS)
  {"op": "reap"}               -> kills the worker and every process it left behind,
                                  empties the private tmp, says how the worker ended
"""
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy  # noqa: F401 - imported once here so that workers start warm
import torch

from .. import tripwire
from ..backend import explain
from ..exercises import BY_ID
from ..impl import PackageImplementation
from ..probes import PROBES, plain
from . import integrity, wire

PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
REQUEST_LIMIT_BYTES = 1 << 30
EXIT_GRACE_S = 2.0


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _descendants(whole_namespace: bool) -> list[int]:
    """Every process left under this template (orphans come back here: we are a subreaper);
    in a pid namespace of our own, every process but its init and us."""
    me, found = os.getpid(), []
    if not os.path.isdir("/proc"):
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me or (whole_namespace and int(entry) != 1):
            found.append(int(entry))
    return found


def _kill_all(whole_namespace: bool) -> None:
    for _ in range(50):
        pids = _descendants(whole_namespace)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap_zombies()


def _reap_zombies() -> dict[int, int]:
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended[pid] = status


def describe_status(status: int | None) -> str:
    if status is None:
        return "it was stopped by the grader"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        why = {signal.SIGKILL: " (killed: memory, process or time limit)", signal.SIGXCPU: " (CPU time limit)",
               signal.SIGXFSZ: " (output size limit)", signal.SIGSEGV: " (segmentation fault)"}.get(sig, "")
        return f"it was ended by signal {signal.Signals(sig).name}{why}"
    return f"it exited with code {os.WEXITSTATUS(status)} (sys.exit / os._exit in your code?)"


def _limits(cfg: dict[str, Any]) -> None:
    wanted = [(resource.RLIMIT_AS, cfg["memory_bytes"], cfg["memory_bytes"]),
              (resource.RLIMIT_CPU, cfg["cpu_seconds"], cfg["cpu_seconds"] + 5),
              (resource.RLIMIT_FSIZE, cfg["output_bytes"], cfg["output_bytes"]),
              (resource.RLIMIT_CORE, 0, 0),
              (resource.RLIMIT_NPROC, cfg["processes"], cfg["processes"]),
              (resource.RLIMIT_NOFILE, 256, 256)]
    for which, soft, hard in wanted:
        try:
            resource.setrlimit(which, (soft, hard))
        except (ValueError, OSError):  # a platform without this limit (e.g. RLIMIT_AS on macOS)
            pass


def _worker(sock: socket.socket, root: str, cfg: dict[str, Any]) -> None:
    """Child side: limits, bounded output, then serve run requests until the socket closes."""
    os.setsid()
    tmp = Path(cfg["tmp"]) / "work"
    tmp.mkdir(parents=True, exist_ok=True)
    os.chdir(tmp)
    os.environ["TMPDIR"] = os.environ["HOME"] = str(tmp)
    out = os.open(str(tmp / "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    keep = sorted({0, 1, 2, sock.fileno()})
    for low, high in zip(keep, keep[1:] + [4096]):
        os.closerange(low + 1, high)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limits(cfg)
    os.register_at_fork(after_in_child=lambda: _close_quietly(sock))  # forks of student code lose the channel
    before = integrity.snapshot()
    impl = PackageImplementation(root)
    wire.send(sock, ("loaded", dict(impl.errors)))
    while True:
        try:
            exercises, probe, args = wire.recv(sock, REQUEST_LIMIT_BYTES)
        except (EOFError, OSError):
            os._exit(0)
        reply = _serve(impl, exercises, probe, args)
        tampered = integrity.changed(before)
        if tampered:
            reply = ("error", integrity.message(tampered))
        try:
            wire.send(sock, reply)
        except Exception as err:  # noqa: BLE001 - a result that cannot be sent is a failed check
            wire.send(sock, ("error", f"your code returned something that is not plain data ({type(err).__name__})"))


def _serve(impl: PackageImplementation, exercises: tuple[str, ...], probe: str, args: tuple[Any, ...]) -> tuple[str, Any]:
    banned = frozenset(name for ex in exercises for name in BY_ID[ex].replaces)
    try:
        with tripwire.forbid(banned):
            return ("ok", wire.encode(plain(PROBES[probe](impl, *args))))
    except SystemExit as err:
        return ("error", f"your code called sys.exit({err.code!r})")
    except Exception as err:  # noqa: BLE001 - anything the student's code raises
        return ("error", explain(err, impl.owns))
    except BaseException as err:  # noqa: BLE001 - KeyboardInterrupt, custom BaseException subclasses
        return ("error", f"your code raised {type(err).__name__}, which is not an Exception")


def _close_quietly(sock: socket.socket) -> None:
    try:
        os.close(sock.fileno())
    except OSError:
        pass


class Template:
    def __init__(self, control: socket.socket, cfg: dict[str, Any]) -> None:
        self.control = control
        self.cfg = cfg
        self.worker: int | None = None
        self.reader = control.makefile("r")

    def spawn(self, root: str) -> None:
        self.reap()
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                self.control.close()
                _worker(theirs, root, self.cfg)
            finally:
                os._exit(70)
        theirs.close()
        self.worker = pid
        socket.send_fds(self.control, [json.dumps({"ok": True}).encode() + b"\n"], [ours.fileno()])
        ours.close()

    def reap(self, ended_itself: bool = False) -> str:
        """Kill the worker and all it left behind; say how the worker ended. When it closed
        its end by ending, wait a little for its exit status (the socket closes first)."""
        ended = _reap_zombies()
        deadline = time.monotonic() + (EXIT_GRACE_S if ended_itself else 0.0)
        while self.worker is not None and self.worker not in ended and time.monotonic() < deadline:
            time.sleep(0.005)
            ended.update(_reap_zombies())
        status = ended.get(self.worker) if self.worker is not None else None
        if self.worker is not None and status is None:
            for kill in (os.killpg, os.kill):  # its session first, then itself (no /proc: the only way)
                try:
                    kill(self.worker, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        _kill_all(self.cfg["pid_namespace"])
        self.worker = None
        shutil.rmtree(Path(self.cfg["tmp"]) / "work", ignore_errors=True)
        return describe_status(status)

    def serve(self) -> None:
        for line in self.reader:
            request = json.loads(line)
            if request["op"] == "spawn":
                self.spawn(request["root"])
            elif request["op"] == "reap":
                status = self.reap(bool(request.get("ended")))
                self.control.sendall(json.dumps({"ok": True, "status": status}).encode() + b"\n")
        self.reap()


def _warm_up() -> None:
    """Pay torch's lazy first-use costs once here, not in every worker (the first `meta`
    operation imports torch's meta registrations: about 1.5 s). Meta tensors only: no CPU
    kernels run before fork, so no thread pool is started in the template."""
    x = torch.empty((4, 3), device="meta", requires_grad=True)
    y = (x.exp() / x.exp().sum(dim=1)[:, None]) - x.max(dim=1, keepdim=True).values
    (torch.empty((4, 784), device="meta") @ torch.empty((784, 3), device="meta") + y.log()).mean()


def main(fd: int, cfg_json: str) -> None:
    """Entry point inside the sandbox: fd is the control socket, cfg the limits."""
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tripwire.install()
    cfg = json.loads(cfg_json)
    torch.set_num_threads(int(cfg.get("threads") or max(1, min(4, os.cpu_count() or 1))))
    _warm_up()
    control = socket.socket(fileno=fd)
    control.sendall(b'{"ready": true}\n')
    Template(control, cfg).serve()
    sys.exit(0)
