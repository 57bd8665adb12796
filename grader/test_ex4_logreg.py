"""Exercise 4: get_weights and LogReg. The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_for


@pytest.mark.parametrize("check", checks_for("4"))
def test_check(check, grade_check) -> None:
    grade_check(check)
