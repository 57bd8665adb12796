"""The notebook converter (logreg_kit/notebooks.py): a solution cell's own checks (a sanity `print`
that uses the notebook's data) are not run by the grader, `:=` is never dropped, an import error
names the solution cell and its line, and a notebook that lost its nbgrader metadata is refused
with a message, never graded 0 in silence."""
import csv
import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from logreg_kit.factory import open_submission
from logreg_kit.batch.intake import Submission, prepare_or_explain
from logreg_kit.checks import CHECKS
from logreg_kit.harness import Report, grade
from logreg_kit.notebooks import NOTEBOOK, notebook_package
from logreg_kit.sandbox import bwrap_path

from .conftest import ROOT

# Lines a student adds below the solution to look at their work in the kernel (x_valid, y_valid and
# plt come from the notebook's given cells, which the converted package does not have).
SANITY = {
    "3": "\nsoftmax(torch.randn(2, 3)).sum(dim=1)\n",
    "4": "\n\n# quick look\nprint(LogReg()(x_valid[:2]).shape)\n",
    "5d": "\nmodel = LogReg()\npreds = predict(model, x_valid)\nprint(accuracy(preds,\n               y_valid)); plt.plot([1])\n",
}
MISSING_METADATA = "the notebook has no nbgrader cell metadata"


def with_cells(dest: Path, tails: dict[str, str], strip_metadata: bool = False) -> Path:
    """The course notebook (the reference in its solution cells) with text added to the end of
    some solution cells (exercise id -> text); optionally every cell's metadata dropped."""
    notebook = json.loads(NOTEBOOK.read_text())
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id.removeprefix("ex") in tails and grade_id.startswith("ex"):
            cell["source"] = "".join(cell["source"]) + tails[grade_id.removeprefix("ex")]
        if strip_metadata:
            cell["metadata"] = {}
    dest.write_text(json.dumps(notebook))
    return dest


def graded(notebook: Path, exercises: set[str], in_process: bool = True) -> Report:
    backend = open_submission(str(notebook), in_process=in_process)
    try:
        return grade(backend, [c for c in CHECKS if c.exercise in exercises])
    finally:
        backend.close()


def failures(report: Report) -> str:
    return "\n\n".join(o.message for o in report.outcomes if o.status == "failed")


def cell_line(ex_id: str, tail: str, text: str) -> int:
    """The line of the course notebook's solution cell for `ex_id`, with `tail` added, that holds `text`."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    cell = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == f"ex{ex_id}")
    return ("".join(cell["source"]) + tail).splitlines().index(text) + 1


def test_sanity_lines_in_solution_cells_cost_nothing(tmp_path: Path) -> None:
    notebook = with_cells(tmp_path / "logreg.ipynb", SANITY)
    report = graded(notebook, {"3", "4", "5a", "5b", "5c", "5d"})
    assert not failures(report), failures(report)
    assert report.score == report.max_score > 0


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")
def test_sanity_lines_cost_nothing_in_the_sandbox_as_kitgrade_grades(tmp_path: Path) -> None:
    notebook = with_cells(tmp_path / "logreg.ipynb", SANITY)
    report = graded(notebook, {"4", "5d"}, in_process=False)
    assert not failures(report), failures(report)
    assert report.score == report.max_score > 0


def test_own_checks_become_pass_and_line_numbers_stay(tmp_path: Path) -> None:
    tail = "\nx = 1; print(x_valid,\n  y_valid); y = 2\nbatch = x_valid[:2]\nshape = batch.shape\n'''a note'''\n"
    module = (notebook_package(with_cells(tmp_path / "a.ipynb", {"4": tail}), tmp_path / "pkg") / "logreg.py").read_text()
    lines = module[module.index("# --- solution cell ex4"):].splitlines()[1:]
    at = cell_line("4", tail, "x = 1; print(x_valid,")
    assert lines[at - 1 : at + 4] == ["x = 1; ", "pass; y = 2", "pass", "pass", "'''a note'''"]
    assert "class LogReg(nn.Module):" in lines


def test_a_walrus_is_never_dropped(tmp_path: Path) -> None:
    """`(softmax := F.softmax)` is an expression statement that rebinds an exercise name: it stays
    in the converted module, where the from-scratch rule sees it (the print beside it goes)."""
    tail = "\nprint(softmax(x_valid[:2]).sum(1))\n(softmax := F.softmax)\n"
    notebook = with_cells(tmp_path / "w.ipynb", {"3": tail})
    module = (notebook_package(notebook, tmp_path / "pkg") / "softmax.py").read_text()
    assert "(softmax := F.softmax)" in module and "print(softmax(x_valid" not in module
    report = graded(notebook, {"3"})
    line = cell_line("3", tail, "(softmax := F.softmax)")
    assert report.score < report.max_score
    assert f"solution cell ex3, line {line} uses torch.nn.functional.softmax" in failures(report), failures(report)


def test_an_import_error_names_the_solution_cell_and_its_line(tmp_path: Path) -> None:
    tail = "\nraise ValueError('not finished')\n"
    report = graded(with_cells(tmp_path / "e.ipynb", {"4": tail}), {"4"})
    line = cell_line("4", tail, "raise ValueError('not finished')")
    assert f"solution cell ex4, line {line}: ValueError: not finished" in failures(report), failures(report)
    assert "logreg.py" not in failures(report)


def test_a_notebook_without_nbgrader_metadata_is_refused_in_the_pytest_route(tmp_path: Path) -> None:
    notebook = with_cells(tmp_path / "bare.ipynb", {}, strip_metadata=True)
    results = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", f"--impl={notebook}",
                          f"--results={results}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout[-2000:]
    tests: list[dict[str, Any]] = json.loads(results.read_text())["tests"]
    assert tests and all(MISSING_METADATA in t["output"] for t in tests if t.get("status") == "failed"), run.stdout[-2000:]


def test_a_notebook_without_nbgrader_metadata_is_malformed_in_the_batch(tmp_path: Path) -> None:
    (tmp_path / "class").mkdir()
    notebook = with_cells(tmp_path / "class" / "bare.ipynb", {}, strip_metadata=True)
    folder, why, _ = prepare_or_explain(Submission("bare", notebook), tmp_path / "work")
    assert folder is None and why.startswith(f"bare.ipynb: {MISSING_METADATA}") and "as saved by Jupyter" in why
    done = subprocess.run([str(Path(sysconfig.get_path("scripts")) / "logreg-kit"), "grade", str(tmp_path / "class"),
                           "--out", str(tmp_path / "graded"), "--jobs", "1"], capture_output=True, text=True, timeout=600)
    (row,) = csv.DictReader((tmp_path / "graded" / "gradebook.csv").open())
    assert row["status"] == "malformed" and MISSING_METADATA in row["message"], (row, done.stderr[-2000:])
