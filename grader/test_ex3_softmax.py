"""Exercise 3: softmax and log_softmax (and the extension): the checks of every exercise declared in softmax.py
(logreg_kit/exercises.py). The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_of_module


@pytest.mark.parametrize("check", checks_of_module("softmax"))
def test_check(check, grade_check) -> None:
    grade_check(check)
