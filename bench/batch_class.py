"""Benchmark 2: a generated class graded with --jobs 1 and then --jobs 2, side by side in one run.

    python3 bench/batch_class.py [--n 100] [--timeout 30]

Prints wall time per run, per-submission time, the jobs-2 speed-up, statuses and the
workers' peak memory (from the records). The class cycles through logreg_kit.batch.sample.KINDS
(correct, buggy, a notebook, a zip, one hang, one crash, one malformed zip per 12).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grade(folder: Path, out: Path, jobs: int, timeout: float, *extra: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "logreg_kit", "grade", str(folder), "--out", str(out), "--jobs", str(jobs),
                    "--timeout", str(timeout), "--quiet", *extra], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--keep", default=None, help="grade in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from logreg_kit.batch.sample import make_class

    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        folder = Path(tmp) / "class"
        make_class(folder, args.n)
        results = {}
        for jobs in (1, 2):
            out = Path(tmp) / f"out{jobs}"
            results[jobs] = (grade(folder, out, jobs, args.timeout), records(out))
        for jobs, (wall, recs) in results.items():
            graded = [r["seconds"] for r in recs if r["status"] == "graded"]
            peaks = [r["peak_rss_mb"] for r in recs if "peak_rss_mb" in r]
            print(f"--jobs {jobs}: {wall:.1f} s wall for {len(recs)} submissions = {wall / len(recs):.2f} s each; "
                  f"median grading time of a graded one {statistics.median(graded):.2f} s; "
                  f"statuses {dict(Counter(r['status'] for r in recs))}; worker peak RSS max {max(peaks):.0f} MB")
        same = [r1["score"] for r1 in results[1][1]] == [r2["score"] for r2 in results[2][1]]
        print(f"speed-up --jobs 2 vs --jobs 1: {results[1][0] / results[2][0]:.2f}x (same scores: {same})")
        print(f"timeout per hanging submission: {args.timeout:g} s (the class has "
              f"{sum(r['status'] == 'timeout' for r in results[1][1])} hangs)")


if __name__ == "__main__":
    main()
