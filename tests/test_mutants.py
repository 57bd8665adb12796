"""Every mutant in tests/mutants.py loses exactly its declared exercises' points, with its message.

Each mutant is graded in this process (LocalBackend), with the reference's probe results
remembered across mutants (checks.registry.MemoBackend). `python -m tests.soundness`
prints the kill count per exercise.
"""
import pytest
import torch

from .mutants import MUTANTS
from .soundness import judge

torch.set_num_threads(1)  # many small grades on a shared machine: threads only contend


def test_catalogue_covers_every_exercise() -> None:
    from logreg_kit.exercises import EXERCISES
    assert len(MUTANTS) >= 30
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)
    assert {ex.id for ex in EXERCISES} <= {ex for m in MUTANTS for ex in m.loses}


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_loses_exactly_its_points(mutant, tmp_path) -> None:
    verdict = judge(mutant, tmp_path / "submission")
    assert verdict.lost == mutant.loses, f"lost {sorted(verdict.lost)}, declared {sorted(mutant.loses)}\n{verdict.feedback}"
    assert mutant.message in verdict.feedback, f"message {mutant.message!r} not in:\n{verdict.feedback}"
