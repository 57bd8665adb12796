"""Options and summary for `pytest grader/` (see logreg_kit.pytest_plugin)."""
from logreg_kit.pytest_plugin import (  # noqa: F401
    grade_check,
    pytest_addoption,
    pytest_collection_finish,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_sessionfinish,
    pytest_sessionstart,
    pytest_terminal_summary,
    pytest_unconfigure,
)
