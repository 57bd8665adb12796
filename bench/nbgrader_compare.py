"""Benchmarks 1 and 2b: this kit vs `nbgrader autograde` on the same notebooks, side by side.

    python3 bench/nbgrader_compare.py [--n 20] [--timeout T] [--plain-nbgrader]
    python3 bench/nbgrader_compare.py --class N [--timeout T] [--plain-nbgrader]

Needs the course folder of the nbgrader route (course/nbgrader_config.py, course/source/ASSIGNMENT/*.ipynb)
and nbgrader installed; otherwise it prints that it skipped. Everything runs in a scratch copy of
course/ (`nbgrader generate_assignment ASSIGNMENT --force` first), with this checkout on PYTHONPATH
so that nbgrader_config.py and the notebooks' kernels import logreg_kit. Each time is the wall time
of the whole command, process start included.

Copies mode (default, `--n N`): the source (solution) notebook is submitted for N students, then
  1. one submission: `nbgrader autograde A --student s001 --force` vs
     `python3 -m logreg_kit grade s001.ipynb --out OUT --jobs 1 --quiet`, timed twice: first with an
     empty cache of the reference's answers (a first run on a machine), then with it (any later run);
  2. N submissions:  `nbgrader autograde A --force` (serial, all students) vs
     `python3 -m logreg_kit grade s001.ipynb ... --out OUT --jobs J --quiet` for J in 1, 2.
  With `--timeout T` both tools get it (as below); without it each keeps its own default
  (nbgrader: Execute.timeout from course/nbgrader_config.py; kit: 120 s per submission).

Class mode (`--class N`): one class of N mixed submissions from `logreg_kit.batch.sample.make_class`
(correct and buggy folders, a zip, a notebook, a hang, a crash, a malformed zip; the cycle of
sample.KINDS), graded by both tools:
  kit:      `python3 -m logreg_kit grade CLASSDIR --out OUT --jobs J --quiet --timeout T` for J in 1, 2;
  nbgrader: `nbgrader autograde A --force --Execute.timeout=T` (serial, all students), where
            submitted/STUDENT/A/NOTEBOOK.ipynb is made from each submission (STUDENT = its file or
            folder stem): a folder is rendered with `logreg_kit.notebook_build.render_notebook`, a
            zip is extracted and its `assignments/` folder rendered, a notebook is copied, and a
            zip that does not open is written as is (a malformed notebook). Rendered cells that
            the source notebook does not have (code outside any exercise, e.g. the hang's loop)
            lose their nbgrader metadata, like a cell a student adds (see `rendered`).
  T (default 120 s, the kit's default) is the kit's wall-clock limit per submission and nbgrader's
  limit per cell (nbgrader interrupts the cell and runs the rest of the notebook): a hanging
  submission costs each tool about T once. T must exceed the slowest legitimate cell (the given
  baseline training cell took over 10 s on a loaded 2-core machine). nbgrader exits non-zero when
  a notebook fails (malformed, or the kernel died); the exit status is recorded, not fatal, and
  the other students are graded. Printed: the wall times and ratios (nbgrader / kit), how many
  submissions each recorded (kit: OUT/records/*.json; nbgrader: autograded/STUDENT/A folders, since
  it removes a failed student's autograded/STUDENT/A but leaves autograded/STUDENT), the failed
  students and cell timeouts from nbgrader's log, and per student the kit's status and score and
  nbgrader's score (from gradebook.db; the two tools' point scales differ).

`--plain-nbgrader`: nbgrader without the kit's KitGrade preprocessor (the scratch
nbgrader_config.py resets Autograde.autograde_preprocessors to nbgrader's default list after
`configure(c)`), so only the notebook's own test cells grade. Both modes print which variant ran.
Those test cells call `logreg_kit.notebooks.self_check`, which fails closed under `nbgrader
autograde` (NBGRADER_EXECUTION=autograde): every test cell raises at once and scores 0, so the
plain variant's time is nbgrader executing the notebook without any checks, a lower bound.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
KIT_DEFAULT_TIMEOUT_S = 120  # logreg_kit.batch.pool.SUBMISSION_TIMEOUT_S
PLAIN_CONFIG = """
# bench/nbgrader_compare.py --plain-nbgrader: nbgrader's default autograde preprocessors (no KitGrade)
from nbgrader.converters.autograde import Autograde as _Autograde
c.Autograde.autograde_preprocessors = list(_Autograde.class_traits()["autograde_preprocessors"].default())
"""


REFERENCE_CACHE: list[str] = []  # set in main(): the kit's reference answers, in the scratch folder


def child_env() -> dict[str, str]:
    """The environment of every command: this checkout importable (nbgrader_config.py, the kernels),
    and the kit's cache of reference answers in the scratch folder (empty at the start of a run,
    so the kit's first run is measured cold and its later runs warm, whatever the user's cache holds)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if REFERENCE_CACHE:
        env["LOGREG_KIT_CACHE"] = REFERENCE_CACHE[0]
    return env


def run_cmd(cmd: list[str], cwd: Path, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    run = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True, env=child_env())
    wall = time.perf_counter() - start
    if check and run.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return wall, run


def timed(cmd: list[str], cwd: Path) -> float:
    return run_cmd(cmd, cwd)[0]


def kit_cmd(paths: list[Path], out: Path, jobs: int, timeout: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "logreg_kit", "grade", *map(str, paths), "--out", str(out), "--jobs", str(jobs),
           "--quiet"]
    return cmd + (["--timeout", str(timeout)] if timeout is not None else [])


def kit(paths: list[Path], out: Path, jobs: int, timeout: int | None = None) -> float:
    return timed(kit_cmd(paths, out, jobs, timeout), ROOT)


def rendered(folder: Path) -> bytes:
    """`render_notebook(folder)` as a student's notebook: code of the student's outside any exercise
    (the hang's `while True: pass`) is rendered as a locked "given" cell with a grade_id the source
    notebook does not have; nbgrader's sanitizing drops that grade_id and then rejects the whole
    notebook ("nbgrader cell does not have a grade_id"). Such cells lose their nbgrader metadata,
    as a cell a student adds in Jupyter has none."""
    from logreg_kit.notebook_build import render_notebook
    from logreg_kit.cells import NOTEBOOK

    def grade_id(cell: dict) -> str | None:
        return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")

    known = {grade_id(cell) for cell in json.loads(NOTEBOOK.read_text())["cells"]} - {None}
    nb = json.loads(render_notebook(folder))
    for cell in nb["cells"]:
        if grade_id(cell) is not None and grade_id(cell) not in known:
            del cell["metadata"]["nbgrader"]
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def submission_notebook(sub: Path, scratch: Path) -> bytes:
    """The notebook nbgrader gets for one sample-class submission (see the module docstring)."""
    if sub.is_dir():
        return rendered(sub)
    if sub.suffix == ".ipynb":
        return sub.read_bytes()
    try:
        with zipfile.ZipFile(sub) as zf:
            dest = scratch / sub.stem
            zf.extractall(dest)
    except zipfile.BadZipFile:
        return sub.read_bytes()  # a malformed zip becomes a malformed notebook
    return rendered(dest / "assignments")


def kit_records(out: Path) -> dict[str, dict]:
    return {r["student"]: r for r in (json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json")))}


def nbgrader_scores(course: Path, assignment: str, students: list[str]) -> dict[str, tuple[float, float]]:
    """(score, max_score) per student that nbgrader autograded (its folder is there)."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            if not (course / "autograded" / student / assignment).is_dir():
                continue
            try:
                sub = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            scores[student] = (sub.score, sub.max_score)
    return scores


def class_mode(args: argparse.Namespace, nbgrader: list[str], course: Path, assignment: str, notebook: Path,
               tmp: Path) -> None:
    from logreg_kit.batch.sample import make_class

    timeout = args.timeout if args.timeout is not None else KIT_DEFAULT_TIMEOUT_S
    class_dir = tmp / "class"
    subs = make_class(class_dir, args.class_n)
    students = []
    for sub in subs:
        student = sub.stem
        dest = course / "submitted" / student / assignment
        dest.mkdir(parents=True)
        (dest / notebook.name).write_bytes(submission_notebook(sub, tmp / "unzipped"))
        students.append(student)

    nb_cmd = nbgrader + ["autograde", assignment, "--force", f"--Execute.timeout={timeout}"]
    nb_wall, nb_run = run_cmd(nb_cmd, course, check=False)
    nb_log = nb_run.stdout + nb_run.stderr
    # nbgrader removes a failed student's autograded/STUDENT/A but leaves autograded/STUDENT
    nb_done = sorted(p.parent.name for p in (course / "autograded").glob(f"*/{assignment}") if p.is_dir())
    nb_failed = re.findall(r"There was an error processing assignment '[^']*' for student '([^']*)'", nb_log)
    nb_timeouts = re.findall(r"Timeout waiting for execute reply \((\d+)s\)", nb_log)
    scores = nbgrader_scores(course, assignment, students)

    kits = {}
    for jobs in (1, 2):
        out = tmp / f"kit{jobs}"
        wall, run = run_cmd(kit_cmd([class_dir], out, jobs, timeout), ROOT, check=False)
        kits[jobs] = (wall, run.returncode, kit_records(out))

    print(f"class of {len(subs)} submissions ({', '.join(sorted(Counter(s.split('_', 1)[1] for s in students)))}); "
          f"timeout {timeout} s (kit: per submission, wall clock; nbgrader: --Execute.timeout, per cell)")
    print(f"nbgrader autograde (serial): {nb_wall:.1f} s, exit status {nb_run.returncode}, "
          f"recorded {len(nb_done)}/{len(subs)} (autograded/STUDENT/{assignment} folders); failed: {', '.join(nb_failed) or 'none'}; "
          f"cell timeouts hit: {len(nb_timeouts)}" + (f" (at {', '.join(sorted(set(nb_timeouts)))} s)" if nb_timeouts else ""))
    for jobs, (wall, rc, recs) in kits.items():
        statuses = dict(Counter(r["status"] for r in recs.values()))
        print(f"logreg-kit --jobs {jobs}: {wall:.1f} s, exit status {rc}, recorded {len(recs)}/{len(subs)} "
              f"(records/*.json), statuses {statuses} -> nbgrader / kit = {nb_wall / wall:.2f}x")
    print("per student: kit --jobs 1 status score/max | nbgrader score/max")
    recs1 = kits[1][2]
    for student in students:
        r = recs1.get(student)
        kit_txt = f"{r['status']:9s} {r['score']:g}/{r['max_score']:g}" if r else "no record"
        nb_txt = f"{scores[student][0]:g}/{scores[student][1]:g}" if student in scores else "not autograded"
        print(f"  {student:24s} {kit_txt:22s} | {nb_txt}")


def copies_mode(args: argparse.Namespace, nbgrader: list[str], course: Path, assignment: str,
                notebooks: list[Path], tmp: Path) -> None:
    nb_timeout = [f"--Execute.timeout={args.timeout}"] if args.timeout is not None else []
    students = [f"s{i:03d}" for i in range(1, args.n + 1)]
    for student in students:
        dest = course / "submitted" / student / assignment
        dest.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, dest / nb.name)
    # the kit grades the same notebook, one file per student
    kit_dir = tmp / "kit"
    kit_dir.mkdir()
    kit_files = [Path(shutil.copy(notebooks[0], kit_dir / f"{s}.ipynb")) for s in students]
    nb_one = timed(nbgrader + ["autograde", assignment, "--student", students[0], "--force", *nb_timeout], course)
    kit_cold = kit(kit_files[:1], tmp / "one-cold", 1, args.timeout)
    kit_one = kit(kit_files[:1], tmp / "one", 1, args.timeout)
    print(f"1. one submission: nbgrader {nb_one:.1f} s, logreg-kit {kit_one:.1f} s -> {nb_one / kit_one:.1f}x "
          f"(the kit's first run, before it has the reference's answers on disk: {kit_cold:.1f} s -> {nb_one / kit_cold:.1f}x)")
    nb_all = timed(nbgrader + ["autograde", assignment, "--force", *nb_timeout], course)
    k1 = kit(kit_files, tmp / "all1", 1, args.timeout)
    k2 = kit(kit_files, tmp / "all2", 2, args.timeout)
    print(f"2. {args.n} submissions: nbgrader (serial) {nb_all:.1f} s, logreg-kit --jobs 1 {k1:.1f} s "
          f"({nb_all / k1:.1f}x), --jobs 2 {k2:.1f} s ({nb_all / k2:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="copies mode: students submitting the source notebook")
    parser.add_argument("--class", dest="class_n", type=int, default=None,
                        help="class mode: grade one generated class of this many mixed submissions with both tools")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds: the kit's --timeout and nbgrader's --Execute.timeout (class mode default 120)")
    parser.add_argument("--plain-nbgrader", action="store_true",
                        help="run nbgrader without the kit's KitGrade preprocessor (only the notebook's test cells)")
    args = parser.parse_args()
    sources = sorted(COURSE.glob("source/*/*.ipynb"))
    if not (COURSE / "nbgrader_config.py").is_file() or not sources or importlib.util.find_spec("nbgrader") is None:
        print("skipped: needs course/nbgrader_config.py, course/source/ASSIGNMENT/*.ipynb and nbgrader "
              "(they arrive with the nbgrader route's branch)")
        return
    sys.path.insert(0, str(ROOT))
    assignment = sources[0].parent.name
    notebooks = sorted(sources[0].parent.glob("*.ipynb"))
    nbgrader = [sys.executable, "-m", "nbgrader"]
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        REFERENCE_CACHE.append(str(tmp / "reference-cache"))
        course = tmp / "course"
        shutil.copytree(COURSE, course, ignore=shutil.ignore_patterns("gradebook.db", "autograded", "submitted",
                                                                      "release", "feedback"))
        if args.plain_nbgrader:
            with (course / "nbgrader_config.py").open("a") as f:
                f.write(PLAIN_CONFIG)
        _, gen = run_cmd(nbgrader + ["generate_assignment", assignment, "--force"], course)
        if "Exception while loading config file" in gen.stdout + gen.stderr:
            raise SystemExit(f"nbgrader could not load {course / 'nbgrader_config.py'}:\n{gen.stderr[-3000:]}")
        if args.plain_nbgrader:
            print("nbgrader variant: plain (default autograde preprocessors, no KitGrade); the test cells' "
                  "self_check fails closed under autograde, so it scores 0 and its time includes no checks")
        else:
            print("nbgrader variant: with the kit's KitGrade preprocessor (course/nbgrader_config.py)")
        if args.class_n is not None:
            class_mode(args, nbgrader, course, assignment, notebooks[0], tmp)
        else:
            copies_mode(args, nbgrader, course, assignment, notebooks, tmp)


if __name__ == "__main__":
    main()
