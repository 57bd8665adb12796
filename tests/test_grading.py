"""The grader's verdicts: full marks for the reference, zero for stubs, exact losses for one bug."""
import json
import subprocess
import sys

import pytest

from logreg_kit.backend import LocalBackend
from logreg_kit.harness import grade

from .conftest import ROOT, lost_exercises


def test_reference_gets_full_marks(reference_report) -> None:
    failed = [o.message for o in reference_report.outcomes if o.status == "failed"]
    assert not failed
    assert reference_report.score == reference_report.max_score > 40


def test_untouched_stubs_get_zero() -> None:
    report = grade(LocalBackend("assignments"))
    assert report.score == 0
    assert all("not implemented yet" in o.message or o.status != "failed" or "no `if`" in o.message
               for o in report.outcomes)


def test_lesson_example_value() -> None:
    from solutions.losses import binary_loss, binary_loss_if
    y, p = [1, 0, 0, 1], [0.9, 0.1, 0.2, 0.8]
    assert binary_loss_if(y, p) == pytest.approx(0.164252033486018, abs=1e-15)
    assert binary_loss(y, p) == pytest.approx(0.164252033486018, abs=1e-15)


BREAKS = {
    "binary sign": ({"losses": [("total -= np.log(prob)\n        else", "total += np.log(prob)\n        else")]}, {"1"}),
    "categorical sum": ({"losses": [("np.mean(-(targets", "np.sum(-(targets")]}, {"2b"}),
    "softmax dim 0": ({"softmax": [("e.sum(dim=1)[:, None]", "e.sum(dim=0)[None, :]")]}, {"3"}),
    "log_softmax naive": ({"softmax": [("shifted = x - x.max(dim=1, keepdim=True).values", "shifted = x")]}, {"3x"}),
    "weights transposed": ({"logreg": [("get_weights(28 * 28, 10)", "get_weights(10, 28 * 28)")]}, {"4", "5e"}),
    "nll sum": ({"sgd": [("log_probs[torch.arange(len(y)), y].mean()", "log_probs[torch.arange(len(y)), y].sum()")]}, {"5a"}),
    "sgd ascent": ({"sgd": [("p -= self.lr * p.grad", "p += self.lr * p.grad")]}, {"5b", "5e"}),
    "fit no step": ({"sgd": [("            opt.step()\n", "")]}, {"5c", "5e"}),
    "accuracy dim 0": ({"sgd": [("preds.argmax(dim=1) == y", "preds.argmax(dim=0)[: len(y)] == y")]}, {"5d"}),
}


@pytest.mark.parametrize("name", BREAKS)
def test_one_broken_function_loses_exactly_its_exercise(name, submission) -> None:
    edits, expected_lost = BREAKS[name]
    report = grade(LocalBackend(str(submission(edits))))
    assert lost_exercises(report) == expected_lost
    messages = "\n".join(o.message for o in report.outcomes if o.status == "failed")
    assert "hint:" in messages and "Exercise" in messages


def test_syntax_error_costs_only_that_module(submission) -> None:
    folder = submission({"softmax": [("def softmax(", "def softmax(:")]})
    report = grade(LocalBackend(str(folder)))
    assert lost_exercises(report) == {"3", "3x"}
    assert "softmax.py has a syntax error at line" in next(o.message for o in report.outcomes if o.status == "failed")


def _pytest_grader(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_pytest_route_reference_and_results_json(tmp_path) -> None:
    results = tmp_path / "results.json"
    run = _pytest_grader("--impl=solutions", f"--results={results}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "total" in run.stdout and "logreg-kit score" in run.stdout
    payload = json.loads(results.read_text())
    assert payload["score"] == sum(t["max_score"] for t in payload["tests"]) > 0
    assert all({"name", "score", "max_score", "output"} <= set(t) for t in payload["tests"])
    assert payload["tests"][0]["name"].startswith("1 binary_loss_if: ")


def test_pytest_route_stubs_fail_with_zero(tmp_path) -> None:
    results = tmp_path / "results.json"
    run = _pytest_grader(f"--results={results}")
    assert run.returncode == 1
    assert json.loads(results.read_text())["score"] == 0
    assert "not implemented yet (Exercise 3: softmax)" in run.stdout


def test_pytest_route_folder_submission(tmp_path, submission) -> None:
    folder = submission({"softmax": [("e.sum(dim=1)[:, None]", "e.sum(dim=0)[None, :]")]})
    results = tmp_path / "results.json"
    run = _pytest_grader(f"--impl={folder}", f"--results={results}")
    assert run.returncode == 1
    failed = {t["name"].split(":")[0] for t in json.loads(results.read_text())["tests"] if t.get("status") == "failed"}
    assert failed == {"3 softmax"}


def test_pytest_route_unopenable_submission_fails_every_check_with_the_reason(tmp_path) -> None:
    notebook = tmp_path / "broken.ipynb"
    notebook.write_text("{not json")
    results = tmp_path / "results.json"
    run = _pytest_grader(f"--impl={notebook}", f"--results={results}")
    assert run.returncode == 1
    payload = json.loads(results.read_text())
    assert payload["score"] == 0
    assert all("not a readable Jupyter notebook" in t["output"] for t in payload["tests"] if t.get("status") == "failed")
