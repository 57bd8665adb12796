"""What the from-scratch allowlist costs next to the denylist it replaced: the static pass per submission.

    python -m bench.allowlist_cost [ROUNDS]   # default 5 rounds, interleaved

For one submission (a copy of the reference) and a class of 30 (30 different correct variants from
tests/variants.py, so no cached verdict is reused), times in one run, interleaved:

- old rule: each exercise module read as UTF-8, `scratch.violations` (the denylist) and `tampering`
  for every exercise;
- new rule: every .py file read and decoded as Python decodes it (`scratch.read_sources`), then
  `scratch.allowlist_violations` and `tampering` for every exercise.

The caches of both rules are cleared before each submission. The runtime tripwire is unchanged (its
cost: `python -m bench.tripwire_cost`). Prints the best time of each and their ratio.
"""
import sys
import tempfile
import time
from pathlib import Path

from logreg_kit import scratch
from logreg_kit.exercises import EXERCISES, MODULES
from tests.conftest import make_submission
from tests.variants import VARIANTS

CLASS_SIZE = 30


def old_rule(folder: Path) -> int:
    sources = {m: (folder / f"{m}.py").read_text(encoding="utf-8") for m in ("__init__", *MODULES)}
    found = len(scratch.tampering(sources["__init__"], "__init__"))
    for ex in EXERCISES:
        found += len(scratch.tampering(sources[ex.module], ex.module, ex.names))
        found += len(scratch.violations(sources[ex.module], ex.id))
    return found


def new_rule(folder: Path) -> int:
    files = tuple(sorted(scratch.read_sources(folder, 2 * 2**20).items()))
    found = len(scratch.tampering(dict(files).get("__init__.py"), "__init__"))
    for ex in EXERCISES:
        found += len(scratch.tampering(dict(files).get(f"{ex.module}.py"), ex.module, ex.names))
        found += len(scratch.allowlist_violations(files, ex.id))
    return found


def clear() -> None:
    for cached in (scratch.violations, scratch.tampering, scratch.allowlist_violations, scratch._parse):
        cached.cache_clear()


def timed(rule, folders: list[Path]) -> float:
    start = time.perf_counter()
    for folder in folders:
        clear()
        assert rule(folder) == 0, f"{folder.name}: a correct submission broke a rule"
    return time.perf_counter() - start


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = [make_submission(Path(tmp) / "reference")]
        klass = []
        for i, v in enumerate(VARIANTS[-CLASS_SIZE:]):
            folder = make_submission(Path(tmp) / f"student{i:02d}", v.edits)
            for name, text in v.files:
                (folder / name).write_text(text)
            klass.append(folder)
        for label, folders in (("one submission", one), (f"a class of {len(klass)}", klass)):
            best = {"old (denylist)": float("inf"), "new (allowlist)": float("inf")}
            for _ in range(rounds):
                best["old (denylist)"] = min(best["old (denylist)"], timed(old_rule, folders))
                best["new (allowlist)"] = min(best["new (allowlist)"], timed(new_rule, folders))
            old, new = best.values()
            print(f"{label:16s}  old rule {old * 1000:8.1f} ms   new rule {new * 1000:8.1f} ms   "
                  f"new/old {new / old:5.2f}x   ({new / len(folders) * 1000:.1f} ms per submission)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
