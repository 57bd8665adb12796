"""Grade the mutant catalogue and report, per exercise, how many mutants each exercise's checks kill.

    python -m tests.soundness            # table per exercise, then any mutant that is not killed as declared
    python -m tests.soundness -k softmax # only the mutants whose name contains "softmax"

`tests/test_mutants.py` asserts the same verdicts one mutant at a time.
"""
import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from logreg_kit.backend import LocalBackend
from logreg_kit.exercises import EXERCISES, label
from logreg_kit.harness import Report, grade

from .conftest import lost_exercises, make_submission
from .mutants import MUTANTS, Mutant


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant
    lost: frozenset[str]  # exercises that lost points
    feedback: str  # every failed check's message
    seconds: float
    points_lost: tuple[tuple[str, int], ...] = ()  # (exercise id, points lost), sorted, for the exercises that lost any

    @property
    def message_shown(self) -> bool:
        return self.mutant.message in self.feedback

    @property
    def as_declared(self) -> bool:
        return self.lost == self.mutant.loses and self.message_shown and self.points_as_declared

    @property
    def points_as_declared(self) -> bool:
        return not self.mutant.points or self.points_lost == self.mutant.points


def failed_feedback(report: Report) -> str:
    return "\n".join(o.message for o in report.outcomes if o.status == "failed")


def judge(mutant: Mutant, folder: Path) -> Verdict:
    """Grade the reference with the mutant's edits applied in `folder` (which must not exist yet)."""
    start = time.perf_counter()
    report = grade(LocalBackend(str(make_submission(folder, mutant.edits))))
    return Verdict(mutant, frozenset(lost_exercises(report)), failed_feedback(report), time.perf_counter() - start,
                   points_lost(report))


def points_lost(report: Report) -> tuple[tuple[str, int], ...]:
    """(exercise id, points lost) for each exercise that lost points, sorted by id."""
    return tuple(sorted((ex, most - got) for ex, (got, most) in report.by_exercise().items() if got < most))


def kill_counts(verdicts: list[Verdict]) -> dict[str, int]:
    """Exercise id -> how many mutants made it lose points."""
    return {ex.id: sum(ex.id in v.lost for v in verdicts) for ex in EXERCISES}


def report_lines(verdicts: list[Verdict]) -> list[str]:
    declared = {ex.id: sum(ex.id in v.mutant.loses for v in verdicts) for ex in EXERCISES}
    lines = [f"logreg-kit soundness: {len(verdicts)} mutants", f"  {'exercise':<16}{'kills':>6}{'declared':>10}"]
    for ex_id, kills in kill_counts(verdicts).items():
        lines.append(f"  {label(ex_id):<16}{kills:>6}{declared[ex_id]:>10}")
    wrong = [v for v in verdicts if not v.as_declared]
    lines.append(f"  as declared: {len(verdicts) - len(wrong)}/{len(verdicts)}; "
                 f"grading time {sum(v.seconds for v in verdicts):.1f} s")
    for v in wrong:
        lines.append(f"  NOT AS DECLARED: {v.mutant.name}: lost {sorted(v.lost)}, declared {sorted(v.mutant.loses)}, "
                     f"message {'shown' if v.message_shown else 'missing: ' + repr(v.mutant.message)}"
                     + ("" if v.points_as_declared else f", points lost {dict(v.points_lost)}, declared {dict(v.mutant.points)}"))
    return lines


def main(argv: list[str] | None = None) -> int:
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(prog="python -m tests.soundness", description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutants whose name contains this text")
    parser.add_argument("-v", action="store_true", help="print each mutant's verdict as it is graded")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k in m.name]
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, m in enumerate(chosen):
            verdicts.append(judge(m, Path(tmp) / f"mutant{i}"))
            if args.v:
                v = verdicts[-1]
                print(f"{'ok ' if v.as_declared else 'BAD'} {v.seconds:5.2f}s {m.name}: lost {sorted(v.lost)}", flush=True)
    print("\n".join(report_lines(verdicts)))
    return 0 if all(v.as_declared for v in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
