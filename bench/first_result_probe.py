"""A pytest plugin for bench/student_loop.py: prints the wall-clock time of the first check's result,
and the CPU seconds of the sandbox's processes (template and workers) just before the template is
closed: it is killed, so its time never reaches the run's own (getrusage of its waited children)."""
import sys
import time

import pytest

_seen = False


def pytest_runtest_logreport(report) -> None:  # noqa: ANN001 - pytest's TestReport
    global _seen
    if not _seen and report.when == "call":
        _seen = True
        sys.stderr.write(f"FIRST_RESULT {time.time():.6f}\n")
        sys.stderr.flush()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    from logreg_kit.pytest_plugin import EARLY  # noqa: PLC0415 - the kit of the run (before or after)

    sandbox = config.stash.get(EARLY, None)
    if sandbox is not None:
        sys.stderr.write(f"SANDBOX_CPU {sandbox.cpu_seconds():.3f}\n")
        sys.stderr.flush()
