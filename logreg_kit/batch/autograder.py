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
from ..harness import write_json_atomic
from ..sandbox.availability import bwrap_status, plain_worker_ids

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
    from .intake import Submission
    from .outputs import gradescope_payload
    from .pool import Options, grade_class

    records: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as out:
        grade_class([Submission("submission", target)], Path(out), Options(jobs=1, timeout=timeout), records.append)
    return gradescope_payload(records[0])


def gradescope_note() -> str:
    """One line when bwrap cannot start in the container: the plain worker, and as whom it runs."""
    status = bwrap_status()
    if status.usable:
        return ""
    ids = plain_worker_ids()
    if ids is not None:
        who = "as the unprivileged user `nobody`, which cannot write the results file or the autograder's folder"
    elif os.geteuid() == 0:
        who = "as root (`nobody` cannot run this Python), so the container is the only boundary"
    else:
        who = "as the autograder's own user, so the container is the only boundary"
    return (f"logreg-kit: the bwrap sandbox cannot start in this container, because {status.explanation()}; "
            f"student code runs in a plain subprocess {who}")


def main() -> int:
    submission = Path(os.environ.get("LOGREG_KIT_SUBMISSION", SUBMISSION))
    results = Path(os.environ.get("LOGREG_KIT_RESULTS", RESULTS))
    timeout = float(os.environ.get("LOGREG_KIT_TIMEOUT", TIMEOUT_S))
    weak = gradescope_note()
    if weak:
        print(weak, flush=True)
    payload = grade_one(find_target(submission), timeout)
    if weak:
        payload["output"] = weak
    results.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(results, payload)
    print(f"score {payload['score']:g} of {sum(t['max_score'] for t in payload['tests']):g}; wrote {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
