"""What memoising the reference's probe results saves per submission, measured in one process.

    python3 bench/memo_gain.py [--n 4]

Grades the same n sample submissions (correct and buggy) twice in this process: first with
the reference answering every question afresh, then with logreg_kit.batch.memo in front
of it (after one warm-up submission fills the memo, as in a worker). Prints the mean time
per submission of each and the ratio.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from logreg_kit.factory import open_backend
    from logreg_kit.batch.memo import memoise_reference, unmemoise_reference
    from logreg_kit.batch.sample import write_folder
    from logreg_kit.checks.registry import grader_data
    from logreg_kit.harness import grade

    torch.set_num_threads(1)
    grader_data()
    kinds = ["correct", "softmax_dim0", "sgd_ascent", "nll_sum"]
    with tempfile.TemporaryDirectory() as tmp:
        folders = [write_folder(Path(tmp) / f"s{i}", kinds[i % len(kinds)]) for i in range(args.n)]

        def run_all() -> list[float]:
            times = []
            for folder in folders:
                start = time.perf_counter()
                grade(open_backend(str(folder)))
                times.append(time.perf_counter() - start)
            return times

        grade(open_backend(str(folders[0])))  # warm-up: imports, first-call costs
        plain = run_all()
        memo = memoise_reference()
        grade(open_backend(str(folders[0])))  # fills the memo
        memoised = run_all()
        unmemoise_reference()
    a, b = statistics.mean(plain), statistics.mean(memoised)
    print(f"per submission: {a:.2f} s without memo, {b:.2f} s with memo ({memo.hits} hits, {memo.misses} misses); "
          f"saves {a - b:.2f} s = {(a - b) / a:.0%}; speed-up {a / b:.2f}x")


if __name__ == "__main__":
    main()
