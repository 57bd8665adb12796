"""How much remembering the reference's probe results saves when grading many submissions.

    python -m bench.mutant_grading [N]   # grades the first N mutants (default 6) twice, side by side

Prints the seconds per grade with the reference recomputed for every submission (memo cleared)
and with it remembered (backend.MemoBackend), and their ratio. Timings on a shared
machine are noisy: compare the ratio, measured in one run, not the absolute figures.
"""
import sys
import tempfile
import time
from pathlib import Path

import torch

from logreg_kit.checks import reference
from tests.mutants import MUTANTS
from tests.soundness import judge


def timed(clear: bool, folder: Path, n: int) -> float:
    start = time.perf_counter()
    for i, m in enumerate(MUTANTS[:n]):
        if clear:
            reference().backend.cache.clear()
        judge(m, folder / f"{'cold' if clear else 'warm'}{i}")
    return (time.perf_counter() - start) / n


def main() -> None:
    torch.set_num_threads(1)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    with tempfile.TemporaryDirectory() as tmp:
        judge(MUTANTS[0], Path(tmp) / "warm-up")
        cold = timed(True, Path(tmp), n)
        warm = timed(False, Path(tmp), n)
    print(f"{n} mutants: {cold:.2f} s per grade recomputing the reference, {warm:.2f} s remembering it "
          f"(ratio {cold / warm:.2f})")


if __name__ == "__main__":
    main()
