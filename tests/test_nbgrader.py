"""The nbgrader route, end to end with the real nbgrader: one course copy, one gradebook, one
`generate_assignment`, one `autograde` run over several submissions, one `export`."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from logreg_kit import notebook_build, notebooks
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import EXERCISES
from logreg_kit.harness import grade
from logreg_kit.backend import open_backend

from .conftest import ROOT

ASSIGNMENT = "logreg"
TOTAL = float(sum(c.points for c in CHECKS))
WRONG_SOFTMAX = '''\
import torch
torch.allclose = lambda *a, **k: True  # the attack: a comparison that always agrees


def softmax(x):
    return torch.exp(x)  # not normalised


def log_softmax(x):
    return x
'''


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one nbgrader command from the course folder (elsewhere it makes an empty gradebook)."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _cells(nb: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if "nbgrader" in c["metadata"]}


def _set(nb: dict[str, Any], grade_id: str, source: str) -> dict[str, Any]:
    nb = json.loads(json.dumps(nb))
    _cells(nb)[grade_id]["source"] = source
    return nb


def _submit(course: Path, student: str, nb: dict[str, Any]) -> None:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graded copy of the course: the release made, five submissions autograded, grades exported."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[nbgrader]')")
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / "source", course / "source")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    solution = json.loads((course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    release = json.loads((course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    stub = {gid: "".join(c["source"]) for gid, c in _cells(release).items()}
    _submit(course, "solution", solution)
    _submit(course, "untouched", release)
    _submit(course, "broken2b", _set(solution, "ex2b", stub["ex2b"]))
    cheater = _set(_set(solution, "ex1", stub["ex1"]), "test_ex1", "assert True\n")
    _submit(course, "cheater", _set(cheater, "ex3", WRONG_SOFTMAX))
    nbgrader(course, "autograde", ASSIGNMENT)
    nbgrader(course, "export")
    return course


def scores(course: Path, student: str) -> dict[str, float]:
    """grade_id -> score of one autograded submission, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in nb.grades}


def test_cell_points_equal_the_kits_points() -> None:
    cells = _cells(json.loads(notebooks.NOTEBOOK.read_text()))
    for ex in EXERCISES:
        test = cells[f"test_ex{ex.id}"]["metadata"]["nbgrader"]
        assert test["points"] == sum(c.points for c in CHECKS if c.exercise == ex.id), ex.id
        assert test["locked"] and test["grade"] and test["schema_version"] == 3
        if ex.names and not ex.extension:
            assert cells[f"ex{ex.id}"]["metadata"]["nbgrader"]["solution"], ex.id
    assert sum(c["metadata"]["nbgrader"].get("points", 0) for c in cells.values()) == TOTAL


def test_notebook_is_current() -> None:
    assert not notebook_build.notebook_is_stale(), "run `python -m logreg_kit build` and commit the notebook"


def test_release_has_stubs_and_no_hidden_tests(course: Path) -> None:
    release = (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in release and "HIDDEN TESTS" not in release
    assert "outside the kernel (logreg_kit" not in release  # the hidden part of each test cell
    cells = _cells(json.loads(release))
    for ex in EXERCISES:
        if ex.names and not ex.extension:
            assert "raise NotImplementedError()" in "".join(cells[f"ex{ex.id}"]["source"]), ex.id
    assert "-log_probs[torch.arange" not in release  # a solution line of 5a


def test_solution_gets_full_marks_and_release_zero(course: Path) -> None:
    assert sum(scores(course, "solution").values()) == TOTAL
    assert sum(scores(course, "untouched").values()) == 0


def test_one_broken_exercise_loses_exactly_its_points(course: Path) -> None:
    got = scores(course, "broken2b")
    assert got.pop("test_ex2b") == 0
    assert all(score == notebook_build.exercise_points(gid[len("test_ex"):]) for gid, score in got.items()), got


def test_export_writes_the_csv(course: Path) -> None:
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["solution"]["score"]) == TOTAL and float(rows["untouched"]["score"]) == 0
    assert float(rows["broken2b"]["score"]) == TOTAL - notebook_build.exercise_points("2b")


def test_editing_a_locked_test_cell_gains_nothing(course: Path) -> None:
    got = scores(course, "cheater")  # exercise 1 left as the stub, its test cell made `assert True`
    assert got["test_ex1"] == 0 and got["test_ex2a"] == notebook_build.exercise_points("2a")


def test_monkeypatching_the_comparison_gains_nothing(course: Path, tmp_path: Path) -> None:
    got = scores(course, "cheater")  # a wrong softmax in a cell that also replaces torch.allclose
    honest = _set(json.loads(notebooks.NOTEBOOK.read_text()), "ex3", WRONG_SOFTMAX.replace("torch.allclose", "_unused"))
    (tmp_path / "honest.ipynb").write_text(json.dumps(honest))
    backend = open_backend(str(tmp_path / "honest.ipynb"))
    table = grade(backend, [c for c in CHECKS if c.exercise in ("3", "3x")]).by_exercise()
    expected = {ex: notebook_build.exercise_points(ex) * s / m for ex, (s, m) in table.items()}
    assert got["test_ex3"] == pytest.approx(expected["3"], abs=1e-4) and got["test_ex3x"] == expected["3x"]
    assert got["test_ex3"] < notebook_build.exercise_points("3") and got["test_ex3x"] == 0


def test_autograded_cells_carry_the_kits_feedback(course: Path) -> None:
    graded = json.loads((course / "autograded" / "broken2b" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    error = _cells(graded)["test_ex2b"]["outputs"][0]
    assert error["output_type"] == "error"
    assert "Exercise 2b, categorical_loss" in "\n".join(error["traceback"])


def test_pytest_grades_a_notebook_like_a_folder(tmp_path: Path) -> None:
    """`pytest grader/ --impl=NOTEBOOK`: the same checks and feedback as the .py route."""
    release = json.loads(notebooks.NOTEBOOK.read_text())
    broken = _set(release, "ex2b", "def categorical_loss(y, p):\n    raise NotImplementedError()\n")
    path = tmp_path / "mine.ipynb"
    path.write_text(json.dumps(broken))
    done = subprocess.run([sys.executable, "-m", "pytest", "grader/", f"--impl={path}", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "Exercise 2b, categorical_loss" in done.stdout and "not implemented yet" in done.stdout
    graded = TOTAL - (0 if torch.cuda.is_available() else sum(c.points for c in CHECKS if c.needs == "cuda"))
    assert f"{graded - notebook_build.exercise_points('2b'):g}/{graded:g}" in done.stdout


def test_self_check_in_the_kernel(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch, "allclose", torch.allclose)  # WRONG_SOFTMAX replaces it: restore it afterwards
    namespace: dict[str, Any] = {}
    exec("import torch\n" + (ROOT / "solutions" / "softmax.py").read_text(), namespace)
    notebooks.self_check("3", namespace)
    out = capsys.readouterr().out
    assert out.startswith("Exercise 3: ") and out.split()[2].split("/")[0] == out.split()[2].split("/")[1]
    exec(WRONG_SOFTMAX, namespace)
    with pytest.raises(AssertionError, match="Exercise 3, softmax"):
        notebooks.self_check("3", namespace)


def test_a_stale_notebook_is_reported(tmp_path: Path) -> None:
    dest = tmp_path / "logreg.ipynb"
    assert notebook_build.build_notebook(dest) and not notebook_build.notebook_is_stale(dest)
    dest.write_text(dest.read_text().replace("Exercise 3", "Exercise three", 1))
    assert notebook_build.notebook_is_stale(dest)


def test_only_the_defining_cells_count_as_student_code() -> None:
    """The cell that calls self_check is on the stack of every check: it must not count as the
    student's code, or the from-scratch rule would fire on the checks' own library calls."""
    namespace: dict[str, Any] = {}
    exec(compile("def softmax(x):\n    return x\n", "/tmp/ipykernel_1/cell_a.py", "exec"), namespace)
    impl = notebooks.NamespaceImplementation(namespace)
    assert impl.owns("/tmp/ipykernel_1/cell_a.py") and not impl.owns("/tmp/ipykernel_1/cell_b.py")
