"""Benchmarks 1 and 2b: this kit vs `nbgrader autograde` on the same notebooks, side by side.

    python3 bench/nbgrader_compare.py [--n 20]

Needs the course folder of the nbgrader route (course/nbgrader_config.py, course/source/ASSIGNMENT/*.ipynb)
and nbgrader installed; otherwise it prints that it skipped. In a scratch copy of course/ it
submits the source (solution) notebook for n students, then times:
  1. one submission: `nbgrader autograde A --student s001` vs `logreg-kit grade s001.ipynb --jobs 1`;
  2. n submissions:  `nbgrader autograde A` (serial, all students) vs `logreg-kit grade --jobs 1` and `--jobs 2`.
Each time is the wall time of the whole command, process start included.
"""
import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return time.perf_counter() - start


def kit(paths: list[Path], out: Path, jobs: int) -> float:
    return timed([sys.executable, "-m", "logreg_kit", "grade", *map(str, paths), "--out", str(out),
                  "--jobs", str(jobs), "--quiet"], ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()
    sources = sorted(COURSE.glob("source/*/*.ipynb"))
    if not (COURSE / "nbgrader_config.py").is_file() or not sources or importlib.util.find_spec("nbgrader") is None:
        print("skipped: needs course/nbgrader_config.py, course/source/ASSIGNMENT/*.ipynb and nbgrader "
              "(they arrive with the nbgrader route's branch)")
        return
    assignment = sources[0].parent.name
    notebooks = sorted(sources[0].parent.glob("*.ipynb"))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("gradebook.db", "autograded", "submitted",
                                                                      "release", "feedback"))
        timed(nbgrader + ["generate_assignment", assignment, "--force"], course)
        students = [f"s{i:03d}" for i in range(1, args.n + 1)]
        for student in students:
            dest = course / "submitted" / student / assignment
            dest.mkdir(parents=True)
            for nb in notebooks:
                shutil.copy(nb, dest / nb.name)
        # the kit grades the same notebook, one file per student
        kit_dir = Path(tmp) / "kit"
        kit_dir.mkdir()
        kit_files = [shutil.copy(notebooks[0], kit_dir / f"{s}.ipynb") for s in students]
        nb_one = timed(nbgrader + ["autograde", assignment, "--student", students[0], "--force"], course)
        kit_one = kit([Path(kit_files[0])], Path(tmp) / "one", 1)
        print(f"1. one submission: nbgrader {nb_one:.1f} s, logreg-kit {kit_one:.1f} s -> {nb_one / kit_one:.1f}x")
        nb_all = timed(nbgrader + ["autograde", assignment, "--force"], course)
        k1 = kit([Path(p) for p in kit_files], Path(tmp) / "all1", 1)
        k2 = kit([Path(p) for p in kit_files], Path(tmp) / "all2", 2)
        print(f"2. {args.n} submissions: nbgrader (serial) {nb_all:.1f} s, logreg-kit --jobs 1 {k1:.1f} s "
              f"({nb_all / k1:.1f}x), --jobs 2 {k2:.1f} s ({nb_all / k2:.1f}x)")


if __name__ == "__main__":
    main()
