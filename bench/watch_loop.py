"""`logreg-kit watch` against a cold `pytest grader/`, side by side in one run.

On a copy of the reference (sandboxed, as a student's folder is graded): a cold `pytest grader/`
(a new process, as a student runs it after each edit), then the warm loop's first grade, a save of
softmax.py re-graded (the exercises it can change), a save of losses.py, and a full re-grade, each
timed in the watcher's process. With --nbgrader, also `nbgrader validate` of the course notebook.

    .venv/bin/python bench/watch_loop.py [--rounds 3] [--nbgrader]
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from logreg_kit.exercises import MODULES  # noqa: E402
from logreg_kit.watch import Watcher, affected_exercises, module_texts  # noqa: E402


def timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cold_pytest(impl: Path) -> float:
    return timed(lambda: subprocess.run([sys.executable, "-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider",
                                         f"--impl={impl}"], cwd=ROOT, capture_output=True, check=False))


def nbgrader_validate() -> float:
    notebook = ROOT / "course" / "source" / "logreg" / "logreg.ipynb"
    scripts = Path(sys.executable).parent
    return timed(lambda: subprocess.run([str(scripts / "nbgrader"), "validate", str(notebook)], cwd=ROOT / "course",
                                        capture_output=True, check=False))


def resave(watcher: Watcher, folder: Path, module: str, n: int) -> float:
    """Save `module` with a changed comment, then time the look and the re-grade the watcher does."""
    path = folder / f"{module}.py"
    path.write_text(path.read_text() + f"\n# edit {n}\n")

    def regrade() -> None:
        changed = watcher.changed() or {module}
        watcher.grade(affected_exercises(changed, module_texts(folder)))

    return timed(regrade)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--nbgrader", action="store_true", help="also time `nbgrader validate` of the course notebook")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="logreg_watch_bench_"))
    folder = work / "submission"
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    rows: dict[str, list[float]] = {"cold pytest grader/ (new process)": []}
    if args.nbgrader:
        rows["nbgrader validate (course notebook)"] = []
    for _ in range(args.rounds):
        rows["cold pytest grader/ (new process)"].append(cold_pytest(folder))
        if args.nbgrader:
            rows["nbgrader validate (course notebook)"].append(nbgrader_validate())
    watcher = Watcher(folder)
    try:
        rows["watch: first grade (template warming)"] = [timed(watcher.grade)]
        for n in range(args.rounds):
            rows.setdefault("watch: save softmax.py (3, 3x + importers)", []).append(resave(watcher, folder, "softmax", n))
            rows.setdefault("watch: save losses.py (1, 2a, 2b)", []).append(resave(watcher, folder, "losses", n))
            rows.setdefault("watch: full re-grade", []).append(timed(watcher.grade))
        print(f"medians of {args.rounds} round(s); exercise modules: {', '.join(MODULES)}")
        cold = statistics.median(rows["cold pytest grader/ (new process)"])
        for name, values in rows.items():
            value = statistics.median(values)
            print(f"{name:<44}{value:>8.2f} s{value / cold:>8.2f}x cold")
    finally:
        watcher.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
