"""Exercise 3: softmax and log_softmax (and the extension). The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_for


@pytest.mark.parametrize("check", checks_for("3", "3x"))
def test_check(check, grade_check) -> None:
    grade_check(check)
