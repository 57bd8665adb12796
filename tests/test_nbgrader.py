"""The nbgrader route, end to end with the real nbgrader: one course copy, one gradebook, one
`generate_assignment`, one `autograde` run over several submissions, one `export`, each run as the
README writes it (the venv's `nbgrader` script, no venv activated, the venv's bin off PATH)."""
import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import torch

from logreg_kit import notebook_build, notebooks
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import EXERCISES
from logreg_kit.harness import grade
from logreg_kit.factory import open_submission

from .conftest import ROOT

ASSIGNMENT = "logreg"
TOTAL = float(sum(c.points for c in CHECKS))
UNRUN = [c for c in CHECKS if c.needs == "cuda" and not torch.cuda.is_available()]  # skipped: no points
GRADED = TOTAL - sum(c.points for c in UNRUN)
WRONG_SOFTMAX = '''\
import torch
torch.allclose = lambda *a, **k: True  # the attack: a comparison that always agrees


def softmax(x):
    return torch.exp(x)  # not normalised


def log_softmax(x):
    return x
'''


QUICK_LOOK = "\n\n# quick look\nprint(LogReg()(x_valid[:2]).shape)\n"  # x_valid: a given cell's, not in the package


def _env() -> dict[str, str]:
    """No venv activated: the interpreter's scripts folder is not on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != sysconfig.get_path("scripts"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def exercise_graded_points(ex_id: str) -> float:
    """An exercise's points that can be earned on this machine (its CUDA checks need a GPU)."""
    return notebook_build.exercise_points(ex_id) - sum(c.points for c in UNRUN if c.exercise == ex_id)


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one nbgrader command from the course folder (elsewhere it makes an empty gradebook),
    as the README does: the venv's own `nbgrader` script."""
    script = Path(sysconfig.get_path("scripts")) / "nbgrader"
    done = subprocess.run([str(script), *args], cwd=course, env=_env(), capture_output=True, text=True, timeout=1500)
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
    _submit(course, "quicklook", _set(solution, "ex4", "".join(_cells(solution)["ex4"]["source"]) + QUICK_LOOK))
    cheater = _set(_set(solution, "ex1", stub["ex1"]), "test_ex1", "assert True\n")
    _submit(course, "cheater", _set(cheater, "ex3", WRONG_SOFTMAX))
    autograde = nbgrader(course, "autograde", ASSIGNMENT)
    (course / "autograde.log").write_text(autograde.stdout + autograde.stderr)
    nbgrader(course, "export")
    return course


def scores(course: Path, student: str) -> dict[str, float]:
    """grade_id -> score of one autograded submission, from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.score for g in nb.grades}


def test_the_kits_config_runs_no_kernel() -> None:
    """nbgrader's Execute (a kernel running every cell as the instructor) is replaced by KitGrade."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[nbgrader]')")
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from logreg_kit.nbgrader_plugin import KitGrade, configure

    c = Config()
    configure(c)
    steps = c.Autograde.autograde_preprocessors
    defaults = list(Autograde.class_traits()["autograde_preprocessors"].default())
    assert Execute not in steps and KitGrade in steps
    assert [s for s in steps if s is not KitGrade] == [s for s in defaults if s is not Execute]


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
    cells, source = _cells(json.loads(release)), _cells(json.loads(notebooks.NOTEBOOK.read_text()))
    tests = [gid for gid in source if gid.startswith("test_ex")]
    assert tests and all(cells[gid]["source"] == source[gid]["source"] for gid in tests)  # nothing hidden to strip
    assert all(cells[gid]["metadata"]["nbgrader"]["checksum"] for gid in tests)
    for ex in EXERCISES:
        if ex.names and not ex.extension:
            assert "raise NotImplementedError()" in "".join(cells[f"ex{ex.id}"]["source"]), ex.id
    assert "-log_probs[torch.arange" not in release  # a solution line of 5a


def test_solution_gets_full_marks_and_release_zero(course: Path) -> None:
    assert sum(scores(course, "solution").values()) == GRADED  # no points for CUDA checks that did not run
    assert sum(scores(course, "untouched").values()) == 0


def test_a_sanity_print_in_a_solution_cell_costs_nothing(course: Path) -> None:
    assert sum(scores(course, "quicklook").values()) == GRADED  # the print is the student's own check: not run


def autograde_log(course: Path) -> dict[str, str]:
    """Student id -> the lines nbgrader autograde logged while grading that student."""
    blocks: dict[str, str] = {}
    student = ""
    for line in (course / "autograde.log").read_text().splitlines():
        if "Creating/updating student with ID '" in line:
            student = line.split("ID '", 1)[1].split("'", 1)[0]
        blocks[student] = blocks.get(student, "") + line + "\n"
    return blocks


def test_untouched_release_autogrades_without_tamper_warnings(course: Path) -> None:
    log = autograde_log(course)
    assert "has changed" not in log["untouched"] and "has changed" not in log["solution"]
    assert "Attribute 'checksum' for cell test_ex1 has changed" in log["cheater"]  # who did edit it


def test_cell_scores_are_whole_check_points(course: Path) -> None:
    graded = json.loads((course / "autograded" / "solution" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    every = [json.loads(p.read_text()) for p in sorted((course / "autograded").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"))]
    partial = [o for nb in every for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "execute_result"]
    assert partial or not UNRUN  # on a CPU the skipped CUDA checks leave cells with partial credit
    assert all(float("".join(o["data"]["text/plain"])).is_integer() for o in partial)
    if UNRUN:
        ex4 = "".join(_cells(graded)["test_ex4"]["outputs"][0]["text"])
        assert "\n  skipped " in ex4 and "not run on this machine" in ex4


def test_one_broken_exercise_loses_exactly_its_points(course: Path) -> None:
    got = scores(course, "broken2b")
    assert got.pop("test_ex2b") == 0
    assert all(score == exercise_graded_points(gid[len("test_ex"):]) for gid, score in got.items()), got


def test_export_writes_the_csv(course: Path) -> None:
    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["solution"]["score"]) == GRADED and float(rows["untouched"]["score"]) == 0
    assert float(rows["broken2b"]["score"]) == GRADED - exercise_graded_points("2b")
    assert float(rows["solution"]["max_score"]) == TOTAL  # nbgrader fixes the max when it generates the assignment


def test_editing_a_locked_test_cell_gains_nothing(course: Path) -> None:
    got = scores(course, "cheater")  # exercise 1 left as the stub, its test cell made `assert True`
    assert got["test_ex1"] == 0 and got["test_ex2a"] == exercise_graded_points("2a")


def test_monkeypatching_the_comparison_gains_nothing(course: Path, tmp_path: Path) -> None:
    got = scores(course, "cheater")  # a wrong softmax in a cell that also replaces torch.allclose
    honest = _set(json.loads(notebooks.NOTEBOOK.read_text()), "ex3", WRONG_SOFTMAX.replace("torch.allclose", "_unused"))
    (tmp_path / "honest.ipynb").write_text(json.dumps(honest))
    backend = open_submission(str(tmp_path / "honest.ipynb"))
    table = grade(backend, [c for c in CHECKS if c.exercise in ("3", "3x")]).by_exercise()
    expected = {ex: s for ex, (s, m) in table.items()}  # whole points of the checks that passed
    # never more than the same wrong softmax without the patch (the allowlist refuses the patch itself,
    # so the cheater may get less: assigning to a library's attribute is a violation of its own)
    assert got["test_ex3"] <= expected["3"] and got["test_ex3x"] <= expected["3x"]
    assert got["test_ex3"] < notebook_build.exercise_points("3") and got["test_ex3x"] == 0


def test_autograded_cells_carry_the_kits_feedback(course: Path) -> None:
    graded = json.loads((course / "autograded" / "broken2b" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    error = _cells(graded)["test_ex2b"]["outputs"][0]
    assert error["output_type"] == "error"
    assert "Exercise 2b, categorical_loss" in "\n".join(error["traceback"])


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


def test_every_route_gives_the_same_total(course: Path, tmp_path: Path) -> None:
    """One submission (exercise 2b left as the stub) through every route: the same points; the same
    max wherever a route computes it (CUDA checks without a GPU left out); nbgrader's max is the
    notebook's, fixed when the assignment was generated."""
    notebook = course / "submitted" / "broken2b" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    backend = open_submission(str(notebook))
    try:
        report = grade(backend)  # what KitGrade and `logreg-kit check` compute
    finally:
        backend.close()
    results = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "grader/", f"--impl={notebook}", "-q", "-p", "no:cacheprovider",
                           f"--results={results}"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:]  # `pytest grader/ --impl=NOTEBOOK`: the .py route's feedback
    assert "Exercise 2b, categorical_loss" in done.stdout and "not implemented yet" in done.stdout
    (summary,) = [line.split()[-1] for line in done.stdout.splitlines() if line.split()[:1] == ["total"]]
    payload = json.loads(results.read_text())
    (tmp_path / "class").mkdir()
    shutil.copyfile(notebook, tmp_path / "class" / "broken2b.ipynb")
    batch = subprocess.run([str(Path(sysconfig.get_path("scripts")) / "logreg-kit"), "grade", str(tmp_path / "class"),
                            "--out", str(tmp_path / "graded"), "--jobs", "1"], env=_env(), capture_output=True, text=True, timeout=600)
    assert (tmp_path / "graded" / "gradebook.csv").is_file(), batch.stdout[-2000:] + batch.stderr[-2000:]
    (row,) = csv.DictReader((tmp_path / "graded" / "gradebook.csv").open())
    exported = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}["broken2b"]

    points = GRADED - exercise_graded_points("2b")
    assert report.score == float(summary.split("/")[0]) == payload["score"] == float(row["total"]) == points
    assert sum(scores(course, "broken2b").values()) == float(exported["score"]) == points
    assert report.max_score == float(summary.split("/")[1]) == sum(t["max_score"] for t in payload["tests"]) \
        == float(row["max_score"]) == GRADED
    assert float(exported["max_score"]) == TOTAL
    assert [n for n in row if row[n] == "skipped"] == [c.name for c in UNRUN]


def test_a_notebooks_violation_names_its_cell_not_the_converted_module(tmp_path: Path) -> None:
    source = json.loads(notebooks.NOTEBOOK.read_text())
    cell = "".join(_cells(source)["ex4"]["source"])
    cell = cell.replace("class LogReg(nn.Module):", "class LogReg(nn.Module):\n    linear = nn.Linear(784, 10)")
    line = cell.splitlines().index("    linear = nn.Linear(784, 10)") + 1
    (tmp_path / "mine.ipynb").write_text(json.dumps(_set(source, "ex4", cell)))
    backend = open_submission(str(tmp_path / "mine.ipynb"), in_process=True)
    (outcome,) = grade(backend, [c for c in CHECKS if c.exercise == "4"][:1]).outcomes
    assert f"solution cell ex4, line {line} uses torch.nn.Linear" in outcome.message, outcome.message
    assert "logreg.py line" not in outcome.message
