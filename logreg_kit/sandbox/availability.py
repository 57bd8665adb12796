"""Can bubblewrap start here? Decided once per process, before any check runs.

Two ways it cannot: `bwrap` is not installed, or it is installed but may not create user
namespaces (Ubuntu 23.10+ and 24.04, GitHub's `ubuntu-latest` runners included: AppArmor's
`kernel.apparmor_restrict_unprivileged_userns=1` makes it fail with "setting up uid map:
Permission denied"). Each caller then does what its route needs with the one explanation made
here: the student's self-check and the Classroom command fall back to the plain worker and say so
in one line, instructor grading refuses unless the instructor allows a weak sandbox, and the
Gradescope autograder (whose container is the outer boundary) runs the plain worker as an
unprivileged user (launcher.py).
"""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

PROBE_TIMEOUT_S = 20.0
ALLOW_WEAK_ENV = "LOGREG_KIT_ALLOW_WEAK_SANDBOX"  # "1": instructor grading may run without bwrap
APPARMOR_FIX = ("allow unprivileged user namespaces (`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, "
                "or an AppArmor profile for bwrap with `userns,`)")
INSTALL_FIX = "install bubblewrap (`sudo apt-get install -y bubblewrap`)"


@dataclass(frozen=True)
class BwrapStatus:
    """Whether the bwrap sandbox can start; when not, why (bwrap's own words) and the fix."""

    usable: bool
    path: str | None = None
    why: str = ""
    fix: str = ""

    def explanation(self) -> str:
        """One sentence: why bwrap cannot start and how to fix it ('' when it can)."""
        return "" if self.usable else f"{self.why}; fix: {self.fix}"

    def weak_line(self) -> str:
        """The one line a fallback prints ('' when bwrap works)."""
        if self.usable:
            return ""
        return ("logreg-kit: weaker isolation: your code runs in a plain subprocess, not the bwrap sandbox, "
                f"because {self.explanation()}")


def probe_command(path: str) -> list[str]:
    """The smallest bwrap start that needs what the sandbox needs: a new user namespace with a uid map."""
    true = shutil.which("true") or "/bin/true"
    return [path, "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
            "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", true]


def check_bwrap(path: str | None) -> BwrapStatus:
    """Start bwrap once at `path` (None: not installed) and read how it failed, if it did."""
    if path is None:
        return BwrapStatus(False, None, "bubblewrap (`bwrap`) is not installed", INSTALL_FIX)
    try:
        run = subprocess.run(probe_command(path), stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return BwrapStatus(False, path, f"`{path}` could not be run ({err})", INSTALL_FIX)
    if run.returncode == 0:
        return BwrapStatus(True, path)
    said = run.stderr.decode(errors="replace").strip().splitlines()
    said_line = said[-1][:200] if said else f"exit status {run.returncode}"
    if "uid map" in said_line or "namespace" in said_line or "Operation not permitted" in said_line:
        why = f"`{path}` cannot create a user namespace here ({said_line}): AppArmor restricts them on Ubuntu 24.04"
        return BwrapStatus(False, path, why, APPARMOR_FIX)
    return BwrapStatus(False, path, f"`{path}` fails to start ({said_line})", APPARMOR_FIX + ", or " + INSTALL_FIX)


@lru_cache(maxsize=1)
def bwrap_status() -> BwrapStatus:
    """The status of the `bwrap` on PATH, probed once per process."""
    return check_bwrap(shutil.which("bwrap"))


def weak_allowed_by_env() -> bool:
    return os.environ.get(ALLOW_WEAK_ENV, "") == "1"


class WeakSandboxError(RuntimeError):
    """Instructor grading refuses to run student code without the bwrap sandbox unless allowed."""


def require_sandbox(allow_weak: bool, flag: str) -> BwrapStatus:
    """For instructor grading: the status when bwrap works or a weak sandbox is allowed
    (`allow_weak`, or the environment variable); otherwise WeakSandboxError naming `flag`."""
    status = bwrap_status()
    if status.usable or allow_weak or weak_allowed_by_env():
        return status
    raise WeakSandboxError(
        f"refusing to grade: the bwrap sandbox cannot start, because {status.explanation()}. "
        f"Without it student code runs in a plain subprocess that can read and write whatever you can. "
        f"To grade anyway with that weaker isolation, pass {flag} (or set {ALLOW_WEAK_ENV}=1).")


# --- the plain worker without bwrap, when the grader runs as root (the Gradescope container) ---

PLAIN_USER = "nobody"


RUNNABLE_CODE = ("import importlib.util, os, sys; "
                 "sys.exit(0 if os.access(sys.argv[1], os.R_OK | os.X_OK) and importlib.util.find_spec('torch') else 1)")


@lru_cache(maxsize=1)
def plain_worker_ids() -> tuple[int, int] | None:
    """(uid, gid) the plain worker runs as when this process is root (Gradescope runs the
    autograder as root; without bwrap the worker could otherwise write the results file and the
    autograder's folder). None when not root (the worker is then as privileged as the grader) or
    when `nobody` cannot run this Python with torch and the kit (an interpreter under /root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(PLAIN_USER)
        ids = entry.pw_uid, entry.pw_gid
    except KeyError:
        ids = 65534, 65534
    kit = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        run = subprocess.run([sys.executable, "-I", "-c", RUNNABLE_CODE, kit], preexec_fn=lambda: drop_privileges(ids),
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return ids if run.returncode == 0 else None


def hand_over(slot: str, tmp: str, ids: tuple[int, int]) -> None:
    """Let the unprivileged worker read the submission folder and own its scratch folder."""
    os.chmod(slot, 0o755)
    os.chown(tmp, *ids)


def drop_privileges(ids: tuple[int, int]) -> None:
    """In the child, after it joined its cgroup: become the unprivileged user for good."""
    os.setgroups([])
    os.setgid(ids[1])
    os.setuid(ids[0])
