"""The in-kernel self-check of the course notebook: a test cell's `self_check(ex_id, globals())` runs
the exercise's checks on the kernel's own definitions (feedback while working; grades come from the
submitted notebook, taken in and graded outside the kernel).

The conversion of a submitted notebook to a package folder lives in `cells` (low in the layers,
called by the one intake); its names are re-exported here for the callers that knew them here.
"""
import inspect
import linecache
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import tripwire
from .backend import LocalBackend
from .cells import (  # noqa: F401 - re-exported (the conversion used to live here)
    CELL_MARK,
    COURSE,
    KERNEL_IMPORTS,
    MAX_NOTEBOOK_BYTES,
    NOTEBOOK,
    SOLUTION_PREFIX,
    TEST_PREFIX,
    NoCellMetadata,
    NotebookError,
    _python,
    cell_line,
    cell_location,
    future_imports,
    in_cells,
    notebook_package,
    own_checks,
    solution_cells,
    without_own_checks,
    write_package,
)
from .checks import CHECKS
from .exercises import MODULE_OF, PROBE_TIMEOUT_S, said_label
from .harness import run_check
from .i18n import _
from .impl import ImplementationError
from .results import max_total, skipped_points, total

AUTOGRADE_ENV = "NBGRADER_EXECUTION"  # nbgrader sets it to "autograde" while it executes a submission


# --- in the kernel: the student's own check -------------------------------------------------

def _cell_file(value: Any) -> str:
    """The cell (file name) whose code defines a function or class: from its code objects, never
    from `__module__` (a class defined in a kernel says `__main__`, which is some other file)."""
    codes = [value] if inspect.isfunction(value) else list(vars(value).values()) if inspect.isclass(value) else []
    for item in codes:
        code = getattr(inspect.unwrap(item) if callable(item) else item, "__code__", None)
        if code is not None:
            return code.co_filename
    return ""


class NamespaceImplementation:
    """The exercise names defined in a notebook kernel's globals (feedback while working only;
    grades come from the submitted notebook, converted and graded outside the kernel)."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.ns = namespace
        self.label = "this notebook"

    def get(self, name: str) -> Any:
        if name not in self.ns:
            raise ImplementationError(_("{name} is not defined: run the cell that defines it", name=name))
        return self.ns[name]

    def source(self, module: str) -> str | None:
        """The whole cells that define the module's names (so the helpers a cell defines beside an
        exercise are read with it, as in the converted module), each cell once."""
        texts: dict[str, str] = {}
        for name, home in MODULE_OF.items():
            if home == module and name in self.ns:
                filename = _cell_file(self.ns[name])
                lines = linecache.getlines(filename) if filename else []
                if lines:
                    texts.setdefault(filename, "".join(lines))
        return "\n\n".join(texts.values()) if texts else None

    def owns(self, filename: str) -> bool:
        """Files (notebook cells) that define the exercise names; not the cell calling the checks."""
        return filename in self._files()

    def _files(self) -> set[str]:
        files = set()
        for name in MODULE_OF:
            obj = self.ns.get(name)
            members = vars(obj).values() if isinstance(obj, type) else [obj]
            files |= {m.__code__.co_filename for m in members if hasattr(m, "__code__")}
        return files

    @contextmanager
    def substituted(self, **stand_ins: Any) -> Iterator[None]:
        saved = {name: self.ns[name] for name in stand_ins if name in self.ns}
        self.ns.update({name: value for name, value in stand_ins.items() if name in saved})
        try:
            yield
        finally:
            self.ns.update(saved)


def self_check(ex_id: str, namespace: dict[str, Any]) -> None:
    """Run an exercise's checks on the kernel's definitions; print the score, raise on failures.

    Under `nbgrader autograde` it fails closed: KitGrade, outside the kernel, replaces this cell's
    outcome; a course without KitGrade configured therefore gives no points rather than all."""
    if os.environ.get(AUTOGRADE_ENV) == "autograde":
        raise RuntimeError(_("Exercise {exercise} is graded outside the kernel by logreg_kit.nbgrader_plugin.KitGrade "
                             "(see course/nbgrader_config.py)", exercise=said_label(ex_id)))
    backend = LocalBackend.__new__(LocalBackend)
    tripwire.install()
    backend.impl, backend.label, backend.timeout = NamespaceImplementation(namespace), _("this notebook"), PROBE_TIMEOUT_S
    outcomes = [run_check(c, backend) for c in CHECKS if c.exercise == ex_id]
    results = [o.result for o in outcomes]
    got, most, skipped = total(results), max_total(results), skipped_points(results)
    shown_got, shown_most, shown_skipped = f"{got:g}", f"{most:g}", f"{skipped:g}"
    print(_("Exercise {exercise}: {got}/{most} points", exercise=said_label(ex_id), got=shown_got, most=shown_most)
          + (" " + _("({skipped} skipped: not run on this machine)", skipped=shown_skipped) if skipped else ""))
    failed = [o.message for o in outcomes if o.status == "failed"]
    if failed:
        raise AssertionError("\n\n".join(failed))
