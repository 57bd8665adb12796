"""A student's loop, side by side in one run: cold `pytest grader/` before and after, `logreg-kit watch`,
and `nbgrader validate` (issue 20).

Each round, one after the other:
  1. a bare `python -c "import torch"` (the yardstick);
  2. a cold `pytest grader/` of a copy of the reference (sandboxed, as a student's folder is graded)
     on the kit as it was at `--before` (checked out into a temporary git worktree) and on this
     checkout: the time to the first check's result and to the end, and the CPU time: user + sys
     of the run and every process it waited for, plus the sandbox's processes (template and workers,
     read from /proc by bench/first_result_probe.py just before the template is closed: the template
     is killed, so its time never reaches the run's own);
  3. on a copy of the course notebook (the solution notebook): a cold `pytest grader/ --impl=NOTEBOOK`
     on this checkout and `nbgrader validate NOTEBOOK`.
Then, once, in this process: `logreg-kit watch`'s Watcher on that notebook: its first grade (the
template still starting), a save of the exercise 1 cell and one of the exercise 3 cell (each adds a
comment; each row names the exercises its save re-graded: the cell's own), and a full re-grade;
each save is timed from the look at the files to the last result, `--rounds` times (CPU: this process
and the sandbox's, from /proc; the polling interval, 0.3 s, is not counted).

Printed: medians; the cold runs with their ratio to the bare torch import, the loop's rows with
their ratio to the cold self-check of the same notebook. Wall times on a shared machine are
inflated by whatever else runs: the CPU column and the ratios of one run are what to compare.

    .venv/bin/python bench/student_loop.py [--rounds 1] [--before 05f6f13] [--parts cold,notebook,watch]

--rounds 1 takes about 3 minutes on a quiet 2-core machine (nbgrader validate is most of it;
measured here under load: 1.5 minutes of CPU time in all).
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REF = "05f6f13"  # main when this part of issue 20 started
PROBE = "first_result_probe"  # bench/first_result_probe.py: prints the time of the first check's result
NOTEBOOK = ROOT / "course" / "source" / "logreg" / "logreg.ipynb"
PARTS = ("cold", "notebook", "watch")
NBGRADER_CELL_S = 600  # nbgrader's limit per cell (its default, 30 s, fails the training cells on a busy machine)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """(wall seconds, CPU seconds of the command and the processes it waited for, the finished run)."""
    cpu, start = _children_cpu(), time.time()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.time() - start, _children_cpu() - cpu, done


def bare_torch() -> dict[str, float]:
    wall, cpu, _ = run_timed([sys.executable, "-c", "import torch"], ROOT)
    return {"first": wall, "total": wall, "cpu": cpu}


def self_check(kit: Path, impl: Path) -> dict[str, float]:
    """One cold `pytest grader/` of `impl` run in `kit`: seconds to the first result, to the end, CPU seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "bench")}
    start = time.time()
    wall, cpu, run = run_timed([sys.executable, "-m", "pytest", "grader/", "-q", "-p", "no:cacheprovider", "-p", PROBE,
                                f"--impl={impl}"], kit, env)
    if "passed" not in run.stdout or " failed" in run.stdout:
        raise SystemExit(f"the self-check in {kit} did not pass:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    first = [float(line.split()[1]) for line in run.stderr.splitlines() if line.startswith("FIRST_RESULT ")]
    sandbox = [float(line.split()[1]) for line in run.stderr.splitlines() if line.startswith("SANDBOX_CPU ")]
    return {"first": first[0] - start if first else float("nan"), "total": wall, "cpu": cpu + sum(sandbox)}


def nbgrader_validate(notebook: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    course = notebook.parents[2]  # course/source/ASSIGNMENT/NOTEBOOK
    wall, cpu, run = run_timed([str(Path(sys.executable).parent / "nbgrader"), "validate", f"--Execute.timeout={NBGRADER_CELL_S}",
                                str(notebook)], course, env)
    if run.returncode != 0 or "Success" not in run.stdout + run.stderr:
        print(f"(nbgrader validate did not report success: rc {run.returncode}; {(run.stdout + run.stderr)[-300:]!r})")
    return {"first": wall, "total": wall, "cpu": cpu}


def edit_cell(notebook: Path, grade_id: str, n: int) -> None:
    """Save the notebook with a changed comment at the end of the solution cell `grade_id`."""
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    cell["source"] = source.rstrip("\n") + f"\n# edit {n}\n"
    notebook.write_text(json.dumps(nb, indent=1))


def watch_rows(notebook: Path, rounds: int) -> dict[str, list[dict[str, float]]]:
    """The warm loop's timings on `notebook` (this process; the watcher's template stays warm)."""
    sys.path.insert(0, str(ROOT))
    from logreg_kit.watch import Watcher  # noqa: PLC0415 - this checkout's kit

    watcher = Watcher(notebook)
    rows: dict[str, list[dict[str, float]]] = {}

    def timed(name: str, fn: Callable[[], object]) -> None:
        cpu, start = time.process_time() + watcher.sandbox.cpu_seconds(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - start, time.process_time() + watcher.sandbox.cpu_seconds() - cpu
        rows.setdefault(name, []).append({"first": wall, "total": wall, "cpu": cpu})

    regraded: dict[str, set[str]] = {}

    def save(grade_id: str, n: int) -> Callable[[], object]:
        edit_cell(notebook, grade_id, n)

        def regrade() -> None:
            exercises = watcher.affected(watcher.changed() or set())
            regraded[grade_id] = exercises
            watcher.grade(exercises)
        return regrade

    try:
        timed("watch: first grade (template starting)", watcher.grade)
        failed = [o.check.name for o in watcher.outcomes.values() if o.status == "failed"]
        if failed:
            raise SystemExit(f"watch: the reference notebook failed {failed}")
        for n in range(rounds):
            timed("watch: save ex1 cell", save("ex1", n))
            timed("watch: save ex3 cell", save("ex3", n))
            timed("watch: full re-grade", watcher.grade)
        for grade_id, exercises in regraded.items():  # the rows say what a save re-graded
            rows[f"watch: save {grade_id} cell (re-grades {', '.join(sorted(exercises)) or 'nothing'})"] = rows.pop(f"watch: save {grade_id} cell")
    finally:
        watcher.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before", default=BEFORE_REF, help="git ref of the kit to compare with")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    work = Path(tempfile.mkdtemp(prefix="logreg_student_loop_"))
    before = work / "before"
    if "cold" in parts:
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(before), args.before], cwd=ROOT, check=True)
    try:
        folder, notebook = work / "submission", work / NOTEBOOK.relative_to(ROOT)
        shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "course", work / "course")  # nbgrader runs from the course folder, with its config
        cold: dict[str, list[dict[str, float]]] = {}
        loop: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.rounds):
            cold.setdefault("bare `import torch`", []).append(bare_torch())
            if "cold" in parts:
                cold.setdefault(f"before ({args.before})", []).append(self_check(before, folder))
                cold.setdefault("after", []).append(self_check(ROOT, folder))
            if "notebook" in parts:
                loop.setdefault("cold pytest grader/ --impl=NOTEBOOK", []).append(self_check(ROOT, notebook))
                loop.setdefault("nbgrader validate NOTEBOOK", []).append(nbgrader_validate(notebook))
        if "watch" in parts:
            loop.update(watch_rows(notebook, args.rounds))
        report(cold, loop, args.rounds)
    finally:
        if "cold" in parts:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(cold: dict[str, list[dict[str, float]]], loop: dict[str, list[dict[str, float]]], rounds: int) -> None:
    torch_s = _median(cold["bare `import torch`"], "total")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nstudent loop: medians of {rounds} round(s), {os.cpu_count()} core(s), load average {load:.1f} at the end")
    print(f"cold `pytest grader/` on a copy of the reference, sandboxed (x torch: ratio to the bare torch import)")
    print(f"{'variant':<28}{'first result':>13}{'x torch':>9}{'total':>10}{'x torch':>9}{'CPU':>9}{'x torch':>9}")
    torch_cpu = _median(cold["bare `import torch`"], "cpu")
    for name, runs in cold.items():
        first, total, cpu = (_median(runs, k) for k in ("first", "total", "cpu"))
        print(f"{name:<28}{first:>11.2f} s{first / torch_s:>8.2f}x{total:>8.2f} s{total / torch_s:>8.2f}x"
              f"{cpu:>7.2f} s{cpu / torch_cpu:>8.2f}x")
    if not loop:
        return
    base = loop.get("cold pytest grader/ --impl=NOTEBOOK")
    cold_s = _median(base, "total") if base else float("nan")
    print(f"\nthe course notebook (a copy): cold self-check, nbgrader, the warm loop (x cold: ratio to the cold self-check)")
    cold_cpu = _median(base, "cpu") if base else float("nan")
    print(f"{'row':<46}{'wall':>9}{'x cold':>9}{'CPU':>9}{'x cold':>9}")
    for name, runs in loop.items():
        total, cpu = _median(runs, "total"), _median(runs, "cpu")
        print(f"{name:<46}{total:>7.2f} s{total / cold_s:>8.2f}x{cpu:>7.2f} s{cpu / cold_cpu:>8.2f}x")


if __name__ == "__main__":
    main()
