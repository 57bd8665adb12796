"""Every correct variant (tests/variants.py) gets full marks in every route, with one verdict per check.

Routes: in this process (`--in-process`), the sandbox (`--impl=DIR`, the default), the notebook
converted to a package and sandboxed (what `--impl=NB.ipynb` and nbgrader's KitGrade do), and the
notebook kernel's own self-check (the test cells students run). The sandbox suite shares one
warm template (conftest's `sandbox` fixture).
"""
import json
import linecache
from pathlib import Path
from typing import Any

import pytest

from logreg_kit.backend import LocalBackend
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import EXERCISES
from logreg_kit.harness import Report, grade
from logreg_kit.notebook_build import render_notebook
from logreg_kit.notebooks import NamespaceImplementation, _python, notebook_package
from logreg_kit.sandbox import bwrap_path

from .conftest import make_submission
from .sandbox_support import graded
from .variants import VARIANTS, Variant

KERNEL_SKIPS = ("given_baseline", "given_pipeline")  # cells that only train and plot: no names the checks use


def variant_folder(v: Variant, dest: Path) -> Path:
    folder = make_submission(dest, v.edits)
    for name, text in v.files:
        (folder / name).write_text(text)
    return folder


def verdicts(report: Report) -> dict[str, str]:  # check name -> passed / failed / skipped
    return {o.check.name: o.status for o in report.outcomes}


def assert_full_marks(report: Report, route: str) -> None:
    failed = [o.message for o in report.outcomes if o.status == "failed"]
    assert not failed, f"{route}: a correct variant lost points:\n" + "\n\n".join(failed)
    assert report.max_score > 0


def checks_of(v: Variant) -> list[Any]:
    return [c for c in CHECKS if c.exercise in v.graded]


def notebook_of(folder: Path, dest: Path, v: Variant | None = None) -> Path:
    """The course notebook as a student would hand it in, with the variant's solution cells (each
    rewritten exercise's cell opened by the variant's cell_head: a `from __future__` line, a docstring, ...)."""
    notebook = json.loads(render_notebook(folder))
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if v is not None and v.cell_head and grade_id in {f"ex{ex}" for ex in v.rewrites}:
            cell["source"] = (v.cell_head + "".join(cell["source"])).splitlines(keepends=True)
    dest.write_text(json.dumps(notebook, indent=1))
    return dest


def kernel_namespace(notebook: Path) -> dict[str, Any]:
    """Run the notebook's given and solution cells in one namespace, as Jupyter would (each cell's
    source registered with linecache, so inspect.getsource sees it as IPython makes it)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for i, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell["cell_type"] != "code" or grade_id.startswith("test_") or grade_id in KERNEL_SKIPS:
            continue
        source = _python("".join(cell["source"]))
        filename = f"<ipython-input-{i}-variant>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)
    return namespace


def kernel_report(namespace: dict[str, Any], checks: list[Any]) -> Report:
    backend = LocalBackend.__new__(LocalBackend)  # as notebooks.self_check builds it
    backend.impl, backend.label, backend.timeout = NamespaceImplementation(namespace), "kernel", 60.0
    return grade(backend, checks)


def test_catalogue_covers_every_exercise() -> None:
    assert len(VARIANTS) >= 25
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    assert {ex.id for ex in EXERCISES if ex.id != "5e"} <= {ex for v in VARIANTS for ex in v.rewrites}


@pytest.mark.parametrize("v", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_gets_full_marks_in_process(v: Variant, tmp_path: Path) -> None:
    report = grade(LocalBackend(str(variant_folder(v, tmp_path / "sub"))), checks_of(v))
    assert_full_marks(report, "in-process")


NOTEBOOK_VARIANTS = [v for v in VARIANTS if v.notebook]


@pytest.mark.parametrize("v", NOTEBOOK_VARIANTS, ids=[v.name for v in NOTEBOOK_VARIANTS])
def test_variant_notebook_gets_full_marks_in_process(v: Variant, tmp_path: Path) -> None:
    """The notebook route's converter without the sandbox (runs where bwrap does not): the cells as
    pasted, `from __future__` lines and decorators included, grade like the .py folder."""
    notebook = notebook_of(variant_folder(v, tmp_path / "sub"), tmp_path / "logreg.ipynb", v)
    report = grade(LocalBackend(str(notebook_package(notebook, tmp_path / "converted"))), checks_of(v))
    assert_full_marks(report, "notebook converted, in-process")


needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: "
                                 "the sandboxed routes need it (.ci/run installs it)")


@needs_bwrap
@pytest.mark.parametrize("v", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_gets_full_marks_in_every_other_route(v: Variant, tmp_path: Path, sandbox) -> None:
    folder = variant_folder(v, tmp_path / "sub")
    checks = checks_of(v)
    routes = {"sandbox": graded(sandbox, folder, v.graded)}
    if v.notebook:
        notebook = notebook_of(folder, tmp_path / "logreg.ipynb", v)
        routes["notebook (sandboxed, as KitGrade)"] = graded(sandbox, notebook_package(notebook), v.graded)
        routes["notebook kernel self-check"] = kernel_report(kernel_namespace(notebook), checks)
    for route, report in routes.items():
        assert_full_marks(report, route)  # full marks everywhere: the same verdict for every check
        assert verdicts(report).keys() == {c.name for c in checks}
