"""Cold `pytest grader/` start-up, before and after, side by side in one run.

For each round, one after the other: a bare `python -c "import torch"`, the self-check of a copy of
the reference (sandboxed, as a student's folder is graded) on the kit as it was at `--before`
(checked out into a temporary git worktree) and on this checkout. Prints, per variant, the median
time to the first check's result and to the end, and their ratios to the bare torch import.

    .venv/bin/python bench/selfcheck_startup.py [--rounds 3] [--before c129236]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REF = "c129236"  # main when issue 20's work started
PROBE = "first_result_probe"


def bare_torch() -> float:
    start = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.time() - start


def self_check(kit: Path, impl: Path) -> tuple[float, float]:
    """(seconds to the first check's result, seconds to exit) of one cold `pytest grader/` in `kit`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    start = time.time()
    run = subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", "-p", PROBE,
                          f"--impl={impl}"], cwd=kit, env=env, capture_output=True, text=True)
    total = time.time() - start
    if "passed" not in run.stdout or " failed" in run.stdout:
        raise SystemExit(f"the self-check in {kit} did not pass:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    first = [float(line.split()[1]) for line in run.stderr.splitlines() if line.startswith("FIRST_RESULT ")]
    return first[0] - start, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", default=BEFORE_REF, help="git ref of the kit to compare with")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="logreg_startup_"))
    before = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
    try:
        impl = work / "submission"
        shutil.copytree(ROOT / "solutions", impl, ignore=shutil.ignore_patterns("__pycache__"))
        times: dict[str, list[tuple[float, float]]] = {"bare torch import": [], f"before ({args.before})": [], "after": []}
        for _ in range(args.rounds):
            t = bare_torch()
            times["bare torch import"].append((t, t))
            times[f"before ({args.before})"].append(self_check(before, impl))
            times["after"].append(self_check(ROOT, impl))
        report(times, args.rounds)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)


def report(times: dict[str, list[tuple[float, float]]], rounds: int) -> None:
    torch_s = statistics.median(t for t, _ in times["bare torch import"])
    print(f"cold `pytest grader/` on a copy of the reference, sandboxed; medians of {rounds} round(s), {os.cpu_count()} core(s)")
    print(f"{'variant':<26}{'first result':>14}{'x torch':>9}{'total':>9}{'x torch':>9}")
    for name, pairs in times.items():
        first = statistics.median(f for f, _ in pairs)
        total = statistics.median(t for _, t in pairs)
        print(f"{name:<26}{first:>12.2f} s{first / torch_s:>8.2f}x{total:>7.2f} s{total / torch_s:>8.2f}x")


if __name__ == "__main__":
    main()
