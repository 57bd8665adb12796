"""Each exercise is declared once (logreg_kit/exercises.py) and reaches every route from there.

An exercise declared but missing anywhere fails here: no checks, checks that do not add up to its
points, left out of `pytest grader/`, of batch grading, of the notebook (the nbgrader course's source),
of the student bundle (stubs, grader, README table), of the README's generated table; a probe with
no declared subject. The last test holds the guide (docs/adding-an-exercise.md) to its word: the
commit that added exercise 5f touched only the files the guide names.
"""
import fnmatch
import importlib
import json
import re
import subprocess

import pytest

from logreg_kit import build, notebook_build, readme_build, release
from logreg_kit.batch.grading import planned_entries
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import BY_ID, EXERCISES, MODULE_MARKDOWN, MODULES, exercise_of, label
from logreg_kit.notebooks import SOLUTION_PREFIX, TEST_PREFIX
from logreg_kit.probes import PROBE_SUBJECTS, PROBES

from .conftest import ROOT

IDS = [ex.id for ex in EXERCISES]
GUIDE = ROOT / "docs" / "adding-an-exercise.md"
GUIDE_COMMIT = "Exercise 5f:"  # the subject line of the commit that followed the guide


def test_ids_are_unique_and_modules_declared() -> None:
    assert len(set(IDS)) == len(IDS)
    assert set(MODULE_MARKDOWN) == set(MODULES)
    assert {ex.module for ex in EXERCISES} <= set(MODULES)


@pytest.mark.parametrize("ex_id", IDS)
def test_exercise_has_checks_adding_up_to_its_points(ex_id: str) -> None:
    checks = [c for c in CHECKS if c.exercise == ex_id]
    assert checks, f"exercise {ex_id} is declared but has no check"
    assert sum(c.points for c in checks) == BY_ID[ex_id].points, f"exercise {ex_id}: its checks' points"


def test_every_check_belongs_to_a_declared_exercise() -> None:
    assert {c.exercise for c in CHECKS} <= set(IDS)


def grader_checks() -> list:
    """The checks `pytest grader/` collects: the params of every grader/test_*.py."""
    found = []
    for path in sorted((ROOT / "grader").glob("test_*.py")):
        module = importlib.import_module(f"grader.{path.stem}")
        for mark in module.test_check.pytestmark:
            if mark.name == "parametrize":
                found += [param.values[0] for param in mark.args[1]]
    return found


def test_pytest_grader_collects_every_check_once() -> None:
    found = grader_checks()
    assert len(found) == len({id(c) for c in found}), "a check is collected twice"
    missing = [c.name for c in CHECKS if c not in found]
    assert not missing, f"not in `pytest grader/`: {missing}"


def test_batch_grading_plans_every_exercise() -> None:
    entries = planned_entries()
    assert [e["name"] for e in entries] == [c.name for c in CHECKS]
    assert {e["exercise"] for e in entries} == set(IDS)


def _cells() -> dict[str, dict]:
    notebook = json.loads(notebook_build.render_notebook())
    return {cell["id"]: cell for cell in notebook["cells"]}


def test_notebook_grades_every_exercise_with_its_points() -> None:
    cells = _cells()
    for ex in EXERCISES:
        test = cells[f"{TEST_PREFIX}{ex.id}"]
        assert test["metadata"]["nbgrader"]["points"] == ex.points, ex.id
        assert "".join(cells[f"ex{ex.id}_md"]["source"]).endswith(ex.markdown), ex.id
        if ex.names and not ex.extension:
            assert f"{SOLUTION_PREFIX}{ex.id}" in cells, f"exercise {ex.id} has no solution cell"


def test_an_extension_is_graded_right_after_the_exercise_it_extends() -> None:
    order = list(_cells())
    for ex in EXERCISES:
        if ex.extension:
            owner = exercise_of(ex.names[0]).id
            between = order[order.index(f"{TEST_PREFIX}{owner}") + 1:order.index(f"ex{ex.id}_md")]
            assert all(c.startswith(TEST_PREFIX) or c.endswith("_md") for c in between), (ex.id, between)


def test_course_notebook_and_readme_are_current() -> None:
    assert not notebook_build.notebook_is_stale(), "run `logreg-kit build` and commit the notebook"
    assert not readme_build.readme_is_stale(), "run `logreg-kit build` and commit README.md"


def test_readme_table_has_every_exercise() -> None:
    block = readme_build.generated_block()
    rows = [line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| ")][1:]
    assert rows == IDS
    assert f"{sum(ex.points for ex in EXERCISES):g} in all" in block


def test_readme_generation_needs_its_markers() -> None:
    with pytest.raises(readme_build.ReadmeError):
        readme_build.render_readme("# no markers\n")


@pytest.mark.parametrize("ex_id", [ex.id for ex in EXERCISES if ex.names])
def test_stubs_and_solutions_define_every_name(ex_id: str) -> None:
    ex = BY_ID[ex_id]
    stub = build.render_assignments()[f"{ex.module}.py"]
    solution = (build.SOLUTIONS / f"{ex.module}.py").read_text()
    for name in ex.names:
        pattern = rf"^(def|class) {name}\b"
        assert re.search(pattern, stub, re.M) and re.search(pattern, solution, re.M), (ex_id, name)


def test_student_bundle_has_every_exercise() -> None:
    texts = release.bundle_texts()
    readme = texts["README.md"]
    for ex in EXERCISES:
        assert f"| {label(ex.id)} | " in readme, f"exercise {ex.id} is not in the bundle's points table"
        for name in ex.names:
            assert re.search(rf"^(def|class) {name}\b", texts[f"assignments/{ex.module}.py"], re.M), (ex.id, name)
    shipped = {path for path in texts if path.startswith("grader/test_")}
    assert shipped == {f"grader/{p.name}" for p in (ROOT / "grader").glob("test_*.py")}


def test_every_probe_declares_its_subject() -> None:
    assert set(PROBE_SUBJECTS) == set(PROBES)


# --- the guide, held to its word -------------------------------------------------------------------
def guide_files() -> list[str]:
    """The files (glob patterns) the guide says an instructor touches: the list between its markers."""
    text = GUIDE.read_text()
    block = text.split("<!-- files -->")[1].split("<!-- end files -->")[0]
    return re.findall(r"^- `([^`]+)`", block, re.M)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_guide_lists_the_files_it_names() -> None:
    files = guide_files()
    for needed in ("solutions/*.py", "logreg_kit/exercises.py", "logreg_kit/checks/*.py", "tests/mutants.py",
                   "tests/variants.py", "README.md"):
        assert needed in files, needed


def test_the_commit_that_followed_the_guide_touched_only_its_files() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no history to read")
    if _git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone: the commit that added exercise 5f may not be in it")
    commits = _git("log", "--format=%H", "--fixed-strings", f"--grep={GUIDE_COMMIT}", "--no-merges").split()
    assert commits, f"no commit whose message starts with {GUIDE_COMMIT!r}"
    touched = _git("show", "--name-only", "--format=", commits[-1]).split()
    outside = [path for path in touched if not any(fnmatch.fnmatch(path, p) for p in guide_files())]
    assert not outside, f"the commit that added 5f touched files the guide does not name: {outside}"
