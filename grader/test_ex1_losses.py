"""Exercises 1 and 2: cross-entropy in numpy. The checks live in logreg_kit.checks."""
import pytest

from logreg_kit.pytest_plugin import checks_for


@pytest.mark.parametrize("check", checks_for("1", "2a", "2b"))
def test_check(check, grade_check) -> None:
    grade_check(check)
