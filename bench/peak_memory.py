"""Benchmark 3: peak memory of one grading worker (and of the parent), on a small class.

    python3 bench/peak_memory.py [--n 4] [--jobs 2]

Workers report their peak RSS (ru_maxrss) in each record; the parent's own is printed too.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from logreg_kit.batch.sample import make_class

    with tempfile.TemporaryDirectory() as tmp:
        make_class(Path(tmp) / "class", args.n)
        subprocess.run([sys.executable, "-m", "logreg_kit", "grade", f"{tmp}/class", "--out", f"{tmp}/out",
                        "--jobs", str(args.jobs), "--timeout", "60", "--quiet"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        recs = [json.loads(p.read_text()) for p in Path(tmp, "out", "records").glob("*.json")]
    peaks = sorted(r["peak_rss_mb"] for r in recs if "peak_rss_mb" in r)
    parent = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"worker peak RSS over {len(peaks)} graded submissions: min {peaks[0]:.0f} MB, max {peaks[-1]:.0f} MB; "
          f"largest child of this script (the grade command or a worker): {parent:.0f} MB; "
          f"--jobs {args.jobs} needs about {args.jobs} x {peaks[-1]:.0f} MB for workers")


if __name__ == "__main__":
    main()
