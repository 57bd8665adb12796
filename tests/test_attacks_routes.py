"""Attacks through the kit's routes rather than its checks (issue 15): nbgrader autograde, the
batch's outputs, a student's GitHub Classroom repository.

- nbgrader: a submitted notebook whose extra cell (no nbgrader metadata) and whose solution cell
  try to write markers into the course folder and /tmp, edit `gradebook.db`, and leave a detached
  process that keeps rewriting the student's grades after grading. Under the kit's config no cell
  runs outside the sandbox: no marker, no process, `nbgrader export` gives the kit's score.
- batch: names that collide once normalised (`Alice`/`alice`, `a b`/`a_b`/`a_b-2`), names of the
  batch's own outputs (`gradebook.csv`, `records`), formula names and messages, zip bombs made of
  litter members, and a Classroom repository whose `grader/conftest.py`, root `conftest.py` and
  workflow forge a full score: every student keeps a row and folder of their own, no CSV cell is a
  formula, the limits count every member, and the repository is graded from its `assignments/` only.
"""
import csv
import json
import os
import signal
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from logreg_kit.batch import sample
from logreg_kit.batch.intake import MAX_ZIP_BYTES, MAX_ZIP_FILES, RESERVED_IDS
from logreg_kit.batch.outputs import FORMULA_STARTS
from logreg_kit.sandbox import bwrap_path

from .conftest import ROOT
from .test_nbgrader import ASSIGNMENT, _cells, _submit, exercise_graded_points, nbgrader, GRADED

pytestmark = pytest.mark.skipif(
    bwrap_path() is None,
    reason="bubblewrap (bwrap) is not installed: the route attacks need the sandbox (.ci/run installs it)",
)

TOKEN = f"logreg-route-attack-{os.getpid()}"  # in every marker's name and the detached process's argv
SETTLE_S = 3.0  # how long the detached process gets to rewrite the gradebook after autograde ends
TIMEOUT_S = "180"

# Runs for two minutes, rewriting every grade of the gradebook to 100 extra points.
DAEMON = """import sqlite3, sys, time
end = time.time() + 120
while time.time() < end:
    try:
        db = sqlite3.connect(sys.argv[1], timeout=1)
        db.execute("UPDATE grade SET extra_credit = 100")
        db.commit()
        db.close()
    except Exception:
        pass
    time.sleep(0.2)
"""


def attack_code(course: Path, where: str) -> str:
    """Cell code that tries every way out: markers, the gradebook, a detached process."""
    return f"""\
import os as _os, sqlite3 as _sqlite3, subprocess as _subprocess, sys as _sys
for _path in ({str(course / f'pwned-{where}')!r}, '/tmp/{TOKEN}-{where}', 'pwned-{where}-cwd'):
    try:
        open(_path, 'w').write('ran')
    except OSError:
        pass
try:
    _db = _sqlite3.connect({str(course / 'gradebook.db')!r}, timeout=1)
    _db.execute("UPDATE grade SET extra_credit = 100")
    _db.commit()
except Exception:
    pass
try:
    _subprocess.Popen([_sys.executable, '-c', {DAEMON!r}, {str(course / 'gradebook.db')!r}, '{TOKEN}'],
                      start_new_session=True, stdin=_subprocess.DEVNULL, stdout=_subprocess.DEVNULL,
                      stderr=_subprocess.DEVNULL)
except Exception:
    pass
"""


def processes_with(token: str) -> list[int]:
    """Pids of the processes whose command line holds `token` (every namespace: this is the host's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _attacker_notebook(course: Path) -> dict[str, Any]:
    """The solution notebook with exercise 2b left as the stub, the attack at the top of solution
    cell ex1 and in an extra cell (no nbgrader metadata) right after the imports."""
    nb = json.loads((course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    release = json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    cells = _cells(nb)
    cells["ex2b"]["source"] = _cells(release)["ex2b"]["source"]
    cells["ex1"]["source"] = attack_code(course, "solution") + "".join(cells["ex1"]["source"])
    extra = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": attack_code(course, "cell")}
    nb["cells"].insert(2, extra)
    return nb


@pytest.fixture(scope="module")
def attacked_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course copy, the release made, one attacking submission autograded, grades exported after
    the detached process (if any got out) had time to rewrite them."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[nbgrader]')")
    course = tmp_path_factory.mktemp("attacked-course")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / "source", course / "source")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    _submit(course, "mallory", _attacker_notebook(course))
    try:
        done = nbgrader(course, "autograde", ASSIGNMENT)
        (course / "autograde.log").write_text(done.stdout + done.stderr)
        time.sleep(SETTLE_S)
        (course / "left.json").write_text(json.dumps(processes_with(TOKEN)))
        nbgrader(course, "export")
        yield course
    finally:
        for pid in processes_with(TOKEN):  # only what this test's notebook started
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for marker in Path("/tmp").glob(f"{TOKEN}-*"):
            marker.unlink()


def test_nbgrader_autograde_runs_no_student_cell_outside_the_sandbox(attacked_course: Path) -> None:
    course = attacked_course
    markers = sorted(str(p) for p in course.rglob("pwned-*")) + sorted(str(p) for p in Path("/tmp").glob(f"{TOKEN}-*"))
    assert markers == [], f"student code ran outside the sandbox: {markers}"
    assert json.loads((course / "left.json").read_text()) == [], "a detached process outlived nbgrader autograde"


def test_nbgrader_export_equals_the_kits_score(attacked_course: Path) -> None:
    log = (attacked_course / "autograde.log").read_text()
    (total,) = [line.split("logreg-kit: total ", 1)[1].split("/")[0] for line in log.splitlines()
                if "logreg-kit: total " in line]
    rows = {r["student_id"]: r for r in csv.DictReader((attacked_course / "grades.csv").open())}
    assert float(rows["mallory"]["score"]) == float(total) <= GRADED - exercise_graded_points("2b")


# --- the batch: names, CSV cells, archive limits, a Classroom repository ------------------------

def _zip_with(path: Path, kind: str, extra: dict[str, bytes]) -> Path:
    """A student's zip of `kind` with `extra` members added (litter)."""
    sample.write_zip(path, kind)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        for name, data in extra.items():
            zf.writestr(name, data)
    return path


FORGED_CONFTEST = """import pathlib
pathlib.Path({marker!r}).write_text('ran')


def pytest_runtest_makereport(item, call):  # every check "passes": the self-check's full score
    call.excinfo = None
"""
FORGED_WORKFLOW = """name: GitHub Classroom Workflow
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo '{"tests": [{"name": "all", "status": "pass", "score": 59, "max_score": 59}]}'
"""


def classroom_repository(dest: Path, marker: Path) -> Path:
    """A clone of a student's repository: softmax over the wrong dim in `assignments/`, a
    `grader/conftest.py` and root `conftest.py` that forge a full score, an edited workflow."""
    sample.write_folder(dest / "assignments", "softmax_dim0")
    (dest / "grader").mkdir()
    (dest / "grader" / "conftest.py").write_text(FORGED_CONFTEST.format(marker=str(marker)))
    (dest / "conftest.py").write_text(FORGED_CONFTEST.format(marker=str(marker)))
    (dest / ".github" / "workflows").mkdir(parents=True)
    (dest / ".github" / "workflows" / "classroom.yml").write_text(FORGED_WORKFLOW)
    (dest / "README.md").write_text("my repository\n")
    return dest


CLASS = {  # folder or file name -> what it holds
    "Alice": "correct", "alice": "softmax_dim0",
    "a b": "sgd_ascent", "a_b": "correct", "a_b-2": "nll_sum",
    "gradebook.csv": "correct", "records": "correct",
    "@SUM(1+1)": "correct", "-2+3": "softmax_dim0",
}

LOST = {"correct": set(), "softmax_dim0": {"3"}}  # the others lose their own exercise (5a, 5b), maybe 5e


@pytest.fixture(scope="module")
def hostile_names(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Any, Any]:
    """One batch over a class of hostile names and litter bombs plus a Classroom repository given
    on its own, then the same command again (the documented resume)."""
    base = tmp_path_factory.mktemp("names")
    folder, marker, out = base / "class", base / "forged-conftest-ran", base / "out"
    folder.mkdir()
    for name, kind in CLASS.items():
        sample.write_folder(folder / name, kind)
    (folder / '=HYPERLINK("evil.example","open me").zip').write_bytes(b"PK\x03\x04 not a zip")
    _zip_with(folder / "litter-count.zip", "correct",
              {f"__MACOSX/assignments/._junk{i}": b"x" for i in range(MAX_ZIP_FILES)})
    _zip_with(folder / "litter-size.zip", "correct", {".git/objects/pack/big": b"\0" * (MAX_ZIP_BYTES + 1)})
    _zip_with(folder / "litter-ok.zip", "correct", {"assignments/__pycache__/losses.cpython-311.pyc": b"\0junk"})
    repo = classroom_repository(base / "carol-repo", marker)
    cmd = [sys.executable, "-m", "logreg_kit", "grade", str(folder), str(repo), "--out", str(out), "--jobs", "2",
           "--quiet", "--timeout", TIMEOUT_S]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1500)
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return out, marker, first, again


def _records(out: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def _by_source(out: Path) -> dict[str, dict[str, Any]]:
    return {Path(r["source"]).name: r for r in _records(out).values()}


def _lost(record: dict[str, Any]) -> set[str]:
    return {e["exercise"] for e in record["checks"] if e["score"] < e["max_score"]}


def test_every_submission_keeps_a_row_and_folder_of_its_own(hostile_names) -> None:
    out, _, first, _ = hostile_names
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    records = _records(out)
    ids = list(records)
    assert len({i.casefold() for i in ids}) == len(ids) == len(CLASS) + 5  # + formula zip, 3 litter zips, repo
    assert all(r["student"] == sid for sid, r in records.items())
    assert not [i for i in ids if i.startswith((".", "_")) or i.split(".")[0].casefold() in RESERVED_IDS], ids
    by_source = _by_source(out)
    assert set(by_source) >= set(CLASS)
    for name, kind in CLASS.items():  # each row holds its own student's grade: nothing overwritten
        lost = _lost(by_source[name])
        assert lost == LOST[kind] if kind in LOST else lost and "3" not in lost, (name, kind, lost)
    assert by_source["a_b"]["student"] == "a_b-3" and by_source["a_b-2"]["student"] == "a_b-2"
    for sid, record in records.items():
        assert json.loads((out / sid / "results.json").read_text())["score"] == record["score"], sid
    assert (out / "gradebook.csv").is_file() and sorted(p.name for p in (out / "records").iterdir()) == \
        sorted(f"{sid}.json" for sid in ids)


def test_no_gradebook_cell_is_a_formula(hostile_names) -> None:
    out, _, _, _ = hostile_names
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == len(_records(out)) + 1
    formulas = [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
    assert formulas == [], formulas
    messages = [row[-1] for row in rows[1:]]
    assert any(m.startswith("'=HYPERLINK(") and "not a valid zip file" in m for m in messages), messages
    assert {row[0] for row in rows[1:]} >= {"SUM_1+1_", "2+3"}


def test_archive_limits_count_litter_members(hostile_names) -> None:
    out, _, _, _ = hostile_names
    by_source = _by_source(out)
    assert by_source["litter-count.zip"]["status"] == "malformed"
    assert f"more than the limit of {MAX_ZIP_FILES}" in by_source["litter-count.zip"]["message"]
    assert by_source["litter-size.zip"]["status"] == "malformed"
    assert f"more than the limit of {MAX_ZIP_BYTES}" in by_source["litter-size.zip"]["message"]
    ok = by_source["litter-ok.zip"]  # a little litter within the limits is left out, not refused
    assert ok["status"] == "graded" and ok["score"] == ok["max_score"] > 40


def test_a_classroom_repository_is_graded_from_its_assignments_only(hostile_names) -> None:
    out, marker, _, _ = hostile_names
    repo = _by_source(out)["carol-repo"]
    assert repo["student"] == "carol-repo" and repo["status"] == "graded"
    assert _lost(repo) == {"3"} and repo["score"] == _by_source(out)["alice"]["score"]  # the honest grade
    assert not marker.exists(), "a conftest.py of the student's repository was imported"
    assert not [r for r in _records(out).values() if Path(r["source"]).name in ("grader", "assignments", ".github")]


def test_resume_finds_every_hostile_name_graded(hostile_names) -> None:
    out, _, first, again = hostile_names
    assert again.returncode == 0, again.stderr[-3000:]
    n = len(_records(out))
    assert f"{n} submissions; {n} already graded" in again.stdout
    assert f"resumed: {n} records current; none regraded" in again.stdout, again.stdout[-2000:]
