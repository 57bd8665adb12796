"""Benchmark: what the class overview and the similarity pass cost, beside grading, in one run.

    python3 bench/insight_cost.py [--sizes 30 100] [--jobs 2]

For each size, a class built from the catalogues (tests/insight_class.py for 30: references,
stubs, mutants, variants and three planted copies; beyond that, every mutant and variant of
tests/mutants.py and tests/variants.py, then copies of them renamed sNNN) is graded with
`logreg-kit grade` (wall clock, including the overview it writes), then the overview is rebuilt
from the records in this process: the similarity pass (copydetect over every pair) and the rest
(summary, class.json, class.html) timed apart. Prints one row per size with the ratios.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from logreg_kit.batch.overview import summarise  # noqa: E402
from logreg_kit.batch.overview_html import render_class  # noqa: E402
from logreg_kit.batch.similarity import compare_class  # noqa: E402
from tests.conftest import make_submission  # noqa: E402
from tests.insight_class import build_class, slug  # noqa: E402
from tests.mutants import MUTANTS  # noqa: E402
from tests.variants import VARIANTS  # noqa: E402


def build(folder: Path, size: int) -> None:
    """The class of 30, then every other mutant and variant, then copies, up to `size`."""
    build_class(folder, min(size, 30))
    made = {p.name for p in folder.iterdir()}
    extra = [(f"x_{slug(m.name)}", m.edits) for m in MUTANTS] + [(f"y_{slug(v.name)}", v.edits) for v in VARIANTS if not v.files]
    i = 0
    while len(made) < size:
        name, edits = extra[i % len(extra)]
        name = name if i < len(extra) else f"s{i:03d}_{name}"
        if name not in made:
            make_submission(folder / name, edits)
            made.add(name)
        i += 1


def grade(folder: Path, out: Path, jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "logreg_kit", "grade", str(folder), "--out", str(out), "--jobs", str(jobs),
                    "--timeout", "180", "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", default=None, help="build and grade in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        for size in args.sizes:
            folder, out = Path(tmp) / f"class{size}", Path(tmp) / f"out{size}"
            build(folder, size)
            graded = grade(folder, out, args.jobs)
            records = [json.loads(p.read_text()) for p in sorted((out / "records").glob("*.json"))]
            start = time.perf_counter()
            similar = compare_class({r["student"]: r.get("regions") or {} for r in records})
            similarity = time.perf_counter() - start
            start = time.perf_counter()
            page = render_class(summarise(records, similar))
            (Path(tmp) / "class.html").write_text(page)
            rest = time.perf_counter() - start
            rows.append((size, graded, similarity, rest, similar["compared"], len(similar["pairs"])))
            if not args.keep:
                shutil.rmtree(folder)
    print(f"{'class':>6} {'grading s':>10} {'similarity s':>13} {'overview s':>11} {'sim/grade':>10} "
          f"{'overview/grade':>15} {'compared':>9} {'pairs':>6}")
    for size, graded, similarity, rest, compared, pairs in rows:
        print(f"{size:>6} {graded:>10.1f} {similarity:>13.2f} {rest:>11.3f} {similarity / graded:>10.1%} "
              f"{rest / graded:>15.2%} {compared:>9} {pairs:>6}")


if __name__ == "__main__":
    main()
