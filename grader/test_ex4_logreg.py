"""Exercise 4: get_weights and LogReg: the checks of every exercise declared in logreg.py
(logreg_kit/exercises.py). The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_of_module


@pytest.mark.parametrize("check", checks_of_module("logreg"))
def test_check(check, grade_check) -> None:
    grade_check(check)
