"""nbgrader autograde with the kit's checks, decided outside the student's kernel, run in the sandbox.

`KitGrade` is an nbgrader preprocessor that runs in the `nbgrader autograde` process and is its only
grading step: `configure(c)` takes nbgrader's `Execute` out of `Autograde.autograde_preprocessors`
and puts `KitGrade` in its place, so no cell of the student's notebook runs in a kernel on the
instructor's machine (nbgrader 0.9's autograde executes notebooks nowhere else). `KitGrade` takes the
submission's solution cells (by grade_id), converts them to a package folder through the one intake
(`intake.take_in`: cells that are not solution cells are never part of it), grades that
folder with `factory.open_backend` like `pytest grader/ --impl=DIR` (in the bubblewrap sandbox), and sets
the outputs of every test cell to the kit's result for its exercise: a plain text report at full
marks, the report plus the score (nbgrader's partial credit) when some checks failed, an error when
none passed. nbgrader's sanitising steps (cleared outputs, locked cells restored, checksums) run
before it and its saving steps (`SaveAutoGrades`, late penalties) after it, as before.
"""
import dataclasses
import os
import shutil
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool, Unicode
from nbformat.v4 import new_output

from .cells import TEST_PREFIX
from .exercises import BY_ID
from .factory import open_backend
from .harness import grade
from .i18n import available_languages, set_language
from .intake import Package, take_in
from .result_formats import nbgrader_cell
from .results import CheckResult, by_exercise
from .sandbox.availability import ALLOW_WEAK_ENV, require_sandbox


def outputs_for(score: float, points: float, text: str) -> list[NotebookNode]:
    """Test cell outputs that nbgrader's determine_grade reads as `score` out of `points`."""
    if score <= 0:
        return [new_output("error", ename="GradingFailed", evalue=text.splitlines()[0],
                           traceback=text.splitlines())]
    outputs = [new_output("stream", name="stdout", text=text)]
    if score < points:
        outputs.append(new_output("execute_result", data={"text/plain": f"{score:g}"}, execution_count=None))
    return outputs


class KitGrade(Preprocessor):
    """Sets every logreg-kit test cell's outcome from the kit's checks on the submitted solution cells."""

    enabled = Bool(True)  # nbconvert skips preprocessors that are not enabled
    allow_weak_sandbox = Bool(False, help=f"grade even where bwrap cannot start: student code then runs in a plain "
                              f"subprocess (weaker isolation); or set {ALLOW_WEAK_ENV}=1").tag(config=True)
    lang = Unicode("", help=f"the language of the feedback in the graded notebooks: {', '.join(available_languages())} "
                   "(empty: from LANGUAGE, LC_ALL, LC_MESSAGES or LANG, else en); "
                   "c.KitGrade.lang = 'zh_CN'").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        set_language(self.lang or None)  # an unknown language: UnknownLanguage, naming those there are
        weak = require_sandbox(self.allow_weak_sandbox, "c.KitGrade.allow_weak_sandbox = True").weak_line()
        if weak:
            self.log.warning("%s", weak)
        package = package_from_node(nb)
        try:
            backend = open_backend(package)
            try:
                report = grade(backend)
            finally:
                backend.close()
        finally:
            package.discard()
        table: dict[str, list[CheckResult]] = by_exercise(report.results)
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
            ex_id = grade_id[len(TEST_PREFIX):] if grade_id.startswith(TEST_PREFIX) else None
            if cell.cell_type != "code" or ex_id not in BY_ID:
                continue
            points = float(cell.metadata.nbgrader.get("points", 0))
            score, text = nbgrader_cell(ex_id, table.get(ex_id, []), points)
            cell.outputs = outputs_for(score, points, text)
            self.log.info("logreg-kit: %s %s/%s", grade_id, f"{score:g}", f"{points:g}")
        self.log.info("logreg-kit: total %s/%s graded here, as `logreg-kit grade` gives it", f"{report.score:g}",
                      f"{report.max_score:g}")
        return nb, resources


def package_from_node(nb: NotebookNode) -> Package:
    """The package of an in-memory notebook, through the one intake (written to a temporary file
    first); `discard` removes both."""
    work = Path(tempfile.mkdtemp(prefix="logreg_nbsrc_"))
    try:
        path = work / "submission.ipynb"
        nbformat.write(nb, str(path))
        return dataclasses.replace(take_in(path, work, "package"), made=work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def interpreter_scripts_on_path() -> str:
    """Put the running interpreter's own scripts folder (a venv's `bin/`) first on PATH and return it.

    nbgrader runs `alembic` by name when it creates a gradebook; with an unactivated venv that
    name would resolve to whatever PATH holds (or nothing). The scripts installed next to this
    interpreter are the ones that belong to this nbgrader."""
    scripts = sysconfig.get_path("scripts")
    parts = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != scripts]
    os.environ["PATH"] = os.pathsep.join([scripts, *parts])
    return scripts


def grading_steps(defaults: list[Any], execute: type) -> list[Any]:
    """nbgrader's autograde steps with its kernel execution (`execute`) replaced by `KitGrade`."""
    if execute not in defaults:
        raise ValueError("nbgrader's autograde steps have no Execute step: this nbgrader is not the 0.9 the kit knows")
    steps = list(defaults)
    steps[steps.index(execute)] = KitGrade
    return steps


def configure(c: Any) -> None:
    """Set up an nbgrader config object `c` for this course: `KitGrade` instead of `Execute` (no
    student cell runs outside the sandbox), and this interpreter's scripts (alembic) first on
    PATH, so no activated venv is needed."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    interpreter_scripts_on_path()
    c.Autograde.autograde_preprocessors = grading_steps(Autograde.class_traits()["autograde_preprocessors"].default(),
                                                       Execute)
