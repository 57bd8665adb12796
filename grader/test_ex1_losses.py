"""Exercises 1 and 2: cross-entropy in numpy: the checks of every exercise declared in losses.py
(logreg_kit/exercises.py). The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_of_module


@pytest.mark.parametrize("check", checks_of_module("losses"))
def test_check(check, grade_check) -> None:
    grade_check(check)
