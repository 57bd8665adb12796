"""Helpers for the kit's own tests: submissions made from the reference with small edits."""
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from logreg_kit.backend import LocalBackend
from logreg_kit.harness import Report, grade

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"


def make_submission(dest: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """Copy solutions/ to `dest` as a student folder, applying (old, new) text edits per module."""
    shutil.copytree(ROOT / "solutions", dest, ignore=shutil.ignore_patterns("__pycache__"))
    for module, pairs in (edits or {}).items():
        path = dest / f"{module}.py"
        text = path.read_text()
        for old, new in pairs:
            assert old in text, f"edit target not found in {module}.py: {old!r}"
            text = text.replace(old, new, 1)
        path.write_text(text)
    return dest


@pytest.fixture
def submission(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))
    return lambda edits=None: make_submission(tmp_path / f"sub{next(counter)}", edits)


@pytest.fixture(scope="session")
def reference_report() -> Report:
    return grade(LocalBackend("solutions"))


def lost_exercises(report: Report) -> set[str]:
    return {ex for ex, (got, most) in report.by_exercise().items() if got < most}


SANDBOX_TEST_TIMEOUT_S = 20.0  # per call in the sandbox suites; the hang attacks use a shorter one


@pytest.fixture(scope="session")
def sandbox():
    """One warm template for all the sandbox tests (bwrap where installed)."""
    from logreg_kit.sandbox import Limits, Sandbox

    box = Sandbox(Limits(timeout_s=SANDBOX_TEST_TIMEOUT_S))
    yield box
    box.close()
