"""The Gradescope entry point (`run_autograder` calls `python -m logreg_kit.batch.autograder`).

Grades the one submission in /autograder/submission (a folder of modules, a .zip or a
.ipynb notebook) through the same pool as `logreg-kit grade` (so a hang or a crash still
writes a results.json) and writes /autograder/results/results.json.
"""
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..exercises import MODULES
from ..i18n import _
from ..paths import write_json_atomic
from ..result_formats import gradescope
from ..sandbox.availability import ALLOW_WEAK_ENV, PLAIN_USER, bwrap_status, plain_worker, weak_allowed_by_env, withhold
from .intake import Submission
from .outputs import gradescope_payload
from .pool import Options, grade_class

SUBMISSION = "/autograder/submission"
RESULTS = "/autograder/results/results.json"
TIMEOUT_S = 600.0


def find_target(folder: Path) -> Path:
    """What to grade inside Gradescope's submission folder."""
    if any(p.stem in MODULES for p in folder.rglob("*.py")):
        return folder
    for pattern in ("*.ipynb", "*.zip"):
        found = sorted(p for p in folder.rglob(pattern) if "__MACOSX" not in p.parts and ".ipynb_checkpoints" not in p.parts)
        if found:
            return found[0]
    return folder


def grade_one(target: Path, timeout: float) -> dict[str, Any]:
    """The submission's batch record (outputs.py)."""
    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as out:
        grade_class([Submission("submission", target)], Path(out), Options(jobs=1, timeout=timeout), records.append)
    return records[0]


def gradescope_note() -> str:
    """One line when bwrap cannot start in the container: the plain worker, and as whom it runs."""
    status = bwrap_status()
    if status.usable:
        return ""
    worker = plain_worker()
    if worker.ids is not None:
        who = _("as the unprivileged user `{user}`, which cannot read the reference or write the results file or the "
                "autograder's folder", user=PLAIN_USER)
    else:
        who = _("that can read the reference: {why}", why=worker.why)
    return _("logreg-kit: the bwrap sandbox cannot start in this container, because {explanation}; student code runs in "
             "a plain subprocess {who}", explanation=status.explanation(), who=who)


def refusal() -> str:
    """Why this run hands out no points ('' when it may grade): student code would run without bwrap
    as a user that can read the reference, and LOGREG_KIT_ALLOW_WEAK_SANDBOX=1 is not set."""
    if bwrap_status().usable or plain_worker().ids is not None or weak_allowed_by_env():
        return ""
    return _("logreg-kit: refusing to grade: {note}, so a submission could copy the solutions. Run the autograder as "
             "root with a Python that `{user}` can run (the image's /autograder/venv), make bwrap work in the image, "
             "or set {variable}=1 to grade anyway.", note=gradescope_note(), user=PLAIN_USER, variable=ALLOW_WEAK_ENV)


def main() -> int:
    submission = Path(os.environ.get("LOGREG_KIT_SUBMISSION", SUBMISSION))
    results = Path(os.environ.get("LOGREG_KIT_RESULTS", RESULTS))
    timeout = float(os.environ.get("LOGREG_KIT_TIMEOUT", TIMEOUT_S))
    results.parent.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        withhold(results.parent)  # `nobody` may neither read nor write the results
    weak, refused = gradescope_note(), refusal()
    if weak:
        print(weak, flush=True)
    if refused:
        print(refused, flush=True)
        write_json_atomic(results, gradescope([], refused))
        return 1
    record = grade_one(find_target(submission), timeout)
    payload = gradescope_payload(record)
    if weak:
        payload["output"] = weak
    write_json_atomic(results, payload)
    print(_("score {score:g} of {most:g}; wrote {results}", score=record["score"], most=record["max_score"], results=results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
