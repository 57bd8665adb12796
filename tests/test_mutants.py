"""Every mutant in tests/mutants.py loses exactly its declared exercises' points, with its message.

Each mutant is graded in this process (LocalBackend), with the reference's probe results
remembered across mutants (backend.MemoBackend). `python -m tests.soundness`
prints the kill count per exercise.
"""
import pytest
import torch

from .diagnoses import FIRST_MESSAGE_NAMES, UNRELATED_HINTS, dictates, first_message
from .mutants import MUTANTS
from .conftest import ROOT
from .soundness import Verdict, judge, report_lines

torch.set_num_threads(1)  # many small grades on a shared machine: threads only contend


def test_catalogue_covers_every_exercise() -> None:
    from logreg_kit.exercises import EXERCISES
    assert len(MUTANTS) >= 30
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert {ex.id for ex in EXERCISES} <= {ex for m in MUTANTS for ex in m.loses}


def solution_lines() -> set[str]:
    """Lines of the reference's student regions, long enough to be recognisable, that the
    students' stubs do not show anyway (a docstring may state the formula)."""
    public = "\n".join(path.read_text() for path in (ROOT / "assignments").glob("*.py"))
    lines: set[str] = set()
    for path in (ROOT / "solutions").glob("*.py"):
        inside = False
        for line in path.read_text().splitlines():
            inside = (inside or "BEGIN SOLUTION" in line) and "END SOLUTION" not in line
            if inside and len(line.strip()) >= MIN_LEAK_CHARS and "SOLUTION" not in line and line.strip() not in public:
                lines.add(line.strip())
    return lines


MIN_LEAK_CHARS = 25
SOLUTION_LINES = solution_lines()


def test_report_lines_count_kills_per_exercise() -> None:
    a, b = MUTANTS[0], MUTANTS[-1]
    verdicts = [Verdict(a, a.loses, a.message, 1.0), Verdict(b, frozenset(), "", 1.0)]
    lines = report_lines(verdicts)
    assert lines[0] == "logreg-kit soundness: 2 mutants"
    assert any(line.split()[:2] == ["1", "1"] for line in lines)
    assert "as declared: 1/2" in "\n".join(lines)
    assert any(line.startswith(f"  NOT AS DECLARED: {b.name}") for line in lines)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_exactly_its_points(mutant, tmp_path) -> None:
    verdict = judge(mutant, tmp_path / "submission")
    assert verdict.lost == mutant.loses, f"lost {sorted(verdict.lost)}, declared {sorted(mutant.loses)}\n{verdict.feedback}"
    assert mutant.message in verdict.feedback, f"message {mutant.message!r} not in:\n{verdict.feedback}"
    assert verdict.points_as_declared, f"points lost {dict(verdict.points_lost)}, declared {dict(mutant.points)}"
    shown = "\n".join(line for line in verdict.feedback.splitlines() if not line.startswith("  hint: "))
    leaked = [line for line in SOLUTION_LINES if line in shown]  # hints are written by hand, reviewed apart
    assert not leaked, f"feedback shows reference source: {leaked}"
    first = first_message(verdict.feedback)  # issue 16: the first failure names the mistake, in words
    words = FIRST_MESSAGE_NAMES.get(mutant.name, mutant.message)
    assert words in first, f"the first failure does not say {words!r}:\n{first}"
    hints = [line for line in verdict.feedback.splitlines() if line.startswith("  hint: ")]
    assert not [h for h in hints if dictates(h)], f"a hint dictates the fix: {[h for h in hints if dictates(h)]}"
    unrelated = [h for h in hints for w in UNRELATED_HINTS.get(mutant.name, ()) if w in h.lower()]
    assert not unrelated, f"hints of a cause this mistake does not have: {unrelated}"
