"""Per-submission cost of the hardened route against the in-process route, side by side.

    python3 bench/bench_hardened.py [--submissions 3]

Grades copies of the reference (a) in this process (LocalBackend), (b) in the sandbox with one
warm template shared by the batch, (c) in the sandbox with a template of its own per submission
(what one `pytest grader/ --impl=DIR` run does). Runs are interleaved. Also times a worker
forked from the warm template against a cold `python -c 'import torch'`.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logreg_kit.backend import LocalBackend  # noqa: E402
from logreg_kit.checks import CHECKS  # noqa: E402
from logreg_kit.harness import grade  # noqa: E402
from logreg_kit.sandbox import RemoteBackend, Sandbox  # noqa: E402

LIGHT = {"1", "2a", "2b", "3", "3x", "5a"}  # quick checks: the sandbox's per-call cost shows most here


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def grade_with(make_backend, checks) -> None:
    backend = make_backend()
    try:
        report = grade(backend, checks)
        assert report.score == report.max_score, report.summary_lines()
    finally:
        backend.close()


def worker_start_ms(box: Sandbox, folder: Path, repeats: int = 20) -> float:
    """Fork a worker, load the submission, answer one call; median over repeats."""
    times = []
    for _ in range(repeats):
        backend = RemoteBackend(str(folder), sandbox=box)
        times.append(timed(lambda: backend.run(("1",), "call", "binary_loss", [1, 0], [0.9, 0.1])))
        backend.close()
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_hardened_"))
    folders = [Path(shutil.copytree(ROOT / "solutions", work / f"sub{i}")) for i in range(args.submissions)]
    cold = statistics.median(timed(lambda: subprocess.run([sys.executable, "-c", "import torch"], check=True)) for _ in range(3))
    start = time.perf_counter()
    box = Sandbox()
    template_s = time.perf_counter() - start
    start = time.perf_counter()
    plain_box = Sandbox(use_bwrap=False)
    plain_template_s = time.perf_counter() - start
    print(f"isolation: {box.isolation}; cgroup pids limit: {'yes' if box.cgroup.path else 'no'}")
    print(f"cold `python -c 'import torch'`: {cold * 1000:.0f} ms; sandboxed template start (bwrap + imports + warm-up): {template_s * 1000:.0f} ms; "
          f"without bwrap: {plain_template_s * 1000:.0f} ms")
    start_ms = worker_start_ms(box, folders[0])
    print(f"worker from the warm template (fork + import submission + one call): {start_ms:.1f} ms "
          f"= {cold * 1000 / start_ms:.0f}x faster than a cold torch import")
    for name, checks in (("all checks", list(CHECKS)), ("light checks (ex 1-3, 5a)", [c for c in CHECKS if c.exercise in LIGHT])):
        routes = {
            "in-process": lambda f: (lambda: LocalBackend(str(f))),
            "sandbox, shared template": lambda f: (lambda: RemoteBackend(str(f), sandbox=box)),
            "sandbox, own template": lambda f: (lambda: RemoteBackend(str(f))),
            "no bwrap, shared template": lambda f: (lambda: RemoteBackend(str(f), sandbox=plain_box)),
        }
        times: dict[str, list[float]] = {route: [] for route in routes}
        for folder in folders:  # interleaved: one submission through every route in turn
            for route, make in routes.items():
                times[route].append(timed(lambda: grade_with(make(folder), checks)))
        base = statistics.median(times["in-process"])
        print(f"\n{name}, {len(checks)} checks, median of {len(folders)} submissions:")
        for route, values in times.items():
            med = statistics.median(values)
            print(f"  {route:<27}{med:7.2f} s per submission   ratio to in-process {med / base:5.2f}")
    box.close()
    plain_box.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
