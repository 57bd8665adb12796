"""Load cannot cost points: per-call limits are CPU time, so a saturated machine (a grading server at
a deadline) grades the reference to full marks in every route.

The limit here is LOAD_LIMIT_S of CPU per call, a few times what the heaviest call (the 5e pipeline)
needs; with BUSY_PROCESSES busy loops on a 2-core machine that call takes 10x its CPU time or more in
wall-clock time (measured: 100 s for 7.6 s of CPU), so a wall-clock limit of the same size fails it
(the kit before issue 16).
"""
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from logreg_kit.backend import LocalBackend, StudentError, time_limit
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import WALL_FACTOR
from logreg_kit.harness import grade
from logreg_kit.sandbox import Limits, RemoteBackend, Sandbox, bwrap_path

from .conftest import make_submission

BUSY_PROCESSES = 8  # load 8+ on the kit's 2-core CI machine
LOAD_LIMIT_S = 30.0  # CPU seconds per call: the pipeline (5e) needs 3-10 (torch's threads spin more under load)
HEAVY = {"5c", "5e"}  # the exercises whose calls use the most CPU


@pytest.fixture
def saturated() -> Iterator[None]:
    """BUSY_PROCESSES busy loops for the duration of the test (each ended by its own pid)."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True:\n    pass"]) for _ in range(BUSY_PROCESSES)]
    time.sleep(1.0)
    try:
        yield
    finally:
        for proc in loops:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def _heavy_checks() -> list:
    return [c for c in CHECKS if c.exercise in HEAVY]


def test_reference_full_marks_in_process_on_a_saturated_machine(saturated) -> None:
    report = grade(LocalBackend("solutions", timeout=LOAD_LIMIT_S), _heavy_checks())
    failed = [o.message for o in report.outcomes if o.status == "failed"]
    assert not failed, "\n\n".join(failed)


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: the sandboxed route needs it")
def test_reference_full_marks_in_the_sandbox_on_a_saturated_machine(saturated, tmp_path) -> None:
    box = Sandbox(Limits(timeout_s=LOAD_LIMIT_S))
    backend = RemoteBackend(str(make_submission(tmp_path / "reference")), sandbox=box)
    try:
        report = grade(backend, _heavy_checks())
    finally:
        backend.close()
        box.close()
    failed = [o.message for o in report.outcomes if o.status == "failed"]
    assert not failed, "\n\n".join(failed)


def test_cpu_limit_stops_a_busy_call_and_says_how_much_cpu_it_used() -> None:
    start = time.monotonic()
    with pytest.raises(StudentError) as err, time_limit(0.3, "fit"):
        while True:
            pass
    assert "timed out after 0.3 s of CPU time in fit" in str(err.value) and "it used 0." in str(err.value)
    assert time.monotonic() - start < 0.3 * WALL_FACTOR


def test_wall_backstop_stops_a_sleeping_call() -> None:
    start = time.monotonic()
    with pytest.raises(StudentError) as err, time_limit(0.1, "fit"):
        time.sleep(5)
    assert f"timed out after {0.1 * WALL_FACTOR:g} s of wall-clock time in fit" in str(err.value)
    assert time.monotonic() - start < 3

