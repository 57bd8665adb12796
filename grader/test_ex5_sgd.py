"""Exercise 5: nll_loss, SGD, fit, predict, accuracy, and the whole pipeline: the checks of every exercise declared in sgd.py
(logreg_kit/exercises.py). The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_of_module


@pytest.mark.parametrize("check", checks_of_module("sgd"))
def test_check(check, grade_check) -> None:
    grade_check(check)
