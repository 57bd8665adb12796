"""What the runtime from-scratch rule costs: one submission graded with and without its torch function mode.

    python -m bench.tripwire_cost [ROUNDS]   # default 5 rounds of each, interleaved

Grades a copy of the reference in this process (every check, the reference's answers remembered
after a warm-up) alternately with the tripwire's function mode on and replaced by a no-op, and
prints the best time of each and their ratio. Timings on a shared machine are noisy: compare the
ratio, measured in one run, not the absolute figures.
"""
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import torch

from logreg_kit import tripwire
from logreg_kit.backend import LocalBackend
from logreg_kit.harness import grade
from tests.conftest import make_submission


def timed(folder: Path) -> float:
    start = time.perf_counter()
    report = grade(LocalBackend(str(folder)))
    assert report.score == report.max_score, "the reference copy lost points"
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with_mode = tripwire._FunctionRule
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_submission(Path(tmp) / "reference")
        timed(folder)  # warm-up: imports, data, the reference's answers
        on, off = [], []
        for _ in range(rounds):
            tripwire._FunctionRule = with_mode
            on.append(timed(folder))
            tripwire._FunctionRule = contextlib.nullcontext
            off.append(timed(folder))
        tripwire._FunctionRule = with_mode
    print(f"one submission, {rounds} rounds: {min(on):.2f} s with the function mode, {min(off):.2f} s without "
          f"(ratio {min(on) / min(off):.2f})")


if __name__ == "__main__":
    main()
