"""Helpers for the sandbox suites: grade a folder through the hardened backend, a few exercises only."""
import shutil
import textwrap
from pathlib import Path

from logreg_kit.checks import CHECKS
from logreg_kit.harness import Report, grade
from logreg_kit.sandbox import RemoteBackend, Sandbox

from .conftest import ROOT, make_submission

EX1_START = "    ### BEGIN SOLUTION\n    total = 0.0\n"
EX3_START = "    ### BEGIN SOLUTION\n    e = torch.exp(x)\n"
HEADS = {"losses": "import numpy as np\n", "softmax": "import torch\n"}


def graded(sandbox: Sandbox, folder: Path, exercises: set[str], timeout: float | None = None) -> Report:
    """Grade the checks of `exercises` on `folder` in the shared sandbox."""
    backend = RemoteBackend(str(folder), sandbox=sandbox, timeout=timeout)
    try:
        return grade(backend, [c for c in CHECKS if c.exercise in exercises])
    finally:
        backend.close()


def points(report: Report, exercise: str) -> float:
    return report.by_exercise()[exercise][0]


def full(report: Report, exercise: str) -> bool:
    got, most = report.by_exercise()[exercise]
    return got == most > 0


def failures(report: Report) -> str:
    return "\n".join(o.message for o in report.outcomes if o.status == "failed")


def with_payload(dest: Path, module: str, payload: str = "", top: str = "",
                 files: dict[str, str | bytes] | None = None) -> Path:
    """The reference with `payload` run first in binary_loss_if (losses) or softmax (softmax),
    `top` after the module's imports, and extra or replaced files."""
    start = EX1_START if module == "losses" else EX3_START
    edits = []
    if payload:
        body = textwrap.indent(textwrap.dedent(payload).strip("\n") + "\n", "    ")
        edits.append((start, start.replace("### BEGIN SOLUTION\n", "### BEGIN SOLUTION\n" + body, 1)))
    if top:
        edits.append((HEADS[module], HEADS[module] + textwrap.dedent(top).strip("\n") + "\n"))
    folder = make_submission(dest, {module: edits})
    for name, content in (files or {}).items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def reference_copy(dest: Path) -> Path:
    if not dest.exists():
        make_submission(dest)
    return dest


def remove(folder: Path, name: str) -> None:
    path = folder / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()


SOLUTIONS = ROOT / "solutions"
