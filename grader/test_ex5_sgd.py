"""Exercise 5: nll_loss, SGD, fit, predict, accuracy, and the whole pipeline. The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_for


@pytest.mark.parametrize("check", checks_for("5a", "5b", "5c", "5d", "5e"))
def test_check(check, grade_check) -> None:
    grade_check(check)
