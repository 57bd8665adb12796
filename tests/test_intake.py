"""The one intake: every kind of submission becomes a package folder in `intake.take_in`, and no
other module converts notebooks or extracts zips (batch grading's own rules are in test_batch.py)."""
import ast
import shutil
import zipfile
from pathlib import Path

import pytest

from logreg_kit.backend import UnavailableBackend
from logreg_kit.cells import NOTEBOOK
from logreg_kit.exercises import MODULES
from logreg_kit.factory import open_backend, open_submission
from logreg_kit.intake import IntakeError, Package, take_in

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "assignments"
CONVERTERS = ("notebook_package", "write_package", "extract_zip", "notebook_to_folder")  # the intake's steps


def _copy_stubs(dest: Path) -> Path:
    shutil.copytree(STUBS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _modules(folder: Path) -> set[str]:
    return {p.stem for p in folder.glob("*.py")} & set(MODULES)


def test_a_folder_is_graded_where_it_is(tmp_path: Path) -> None:
    folder = _copy_stubs(tmp_path / "alice")
    package = take_in(folder)
    assert package == Package(str(folder.resolve()), str(folder))


def test_a_folder_one_level_down_is_found_and_two_are_refused(tmp_path: Path) -> None:
    _copy_stubs(tmp_path / "bob" / "assignments")
    assert take_in(tmp_path / "bob").folder == (tmp_path / "bob" / "assignments").resolve()
    _copy_stubs(tmp_path / "bob" / "copy")
    with pytest.raises(IntakeError, match="holds 2 submissions, assignments/ and copy/: hand in one"):
        take_in(tmp_path / "bob")


def test_a_zip_is_extracted_under_work_and_a_temporary_folder_is_discarded(tmp_path: Path) -> None:
    archive = tmp_path / "carol.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in STUBS.glob("*.py"):
            zf.write(path, f"assignments/{path.name}")
    package = take_in(archive, tmp_path / "work", "carol")
    assert package.folder == tmp_path / "work" / "carol" / "assignments" and package.made is None
    temporary = take_in(archive)
    assert _modules(temporary.folder) == set(MODULES) and temporary.made is not None
    temporary.discard()
    assert not temporary.made.exists()


def test_a_notebook_becomes_its_solution_cells_modules(tmp_path: Path) -> None:
    package = take_in(NOTEBOOK, tmp_path, "dee")
    assert package.folder == tmp_path / "dee" and _modules(package.folder) == set(MODULES)
    assert package.label == str(NOTEBOOK)


@pytest.mark.parametrize("text, said", [
    ("{not json", "not a Jupyter notebook"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no nbgrader cell metadata"),
])
def test_a_malformed_notebook_is_refused_with_its_reason(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / "eve.ipynb").write_text(text)
    with pytest.raises(IntakeError, match=said):
        take_in(tmp_path / "eve.ipynb", tmp_path / "work", "eve")
    backend = open_submission(str(tmp_path / "eve.ipynb"))
    assert isinstance(backend, UnavailableBackend) and said in backend.why


def test_names_links_and_missing_paths(tmp_path: Path) -> None:
    assert take_in("solutions") == Package("solutions", "solutions")  # the kit's reference, never a folder here
    (tmp_path / "link").symlink_to(STUBS, target_is_directory=True)
    with pytest.raises(IntakeError, match="is a symbolic link"):
        take_in(tmp_path / "link")
    with pytest.raises(IntakeError, match="no such file or folder"):
        take_in(tmp_path / "missing")
    with pytest.raises(IntakeError, match="not a submission"):
        take_in(Path(__file__))


def test_the_factory_opens_packages_only(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="take it in first"):
        open_backend(str(NOTEBOOK))


def test_no_module_but_the_intake_converts_or_extracts() -> None:
    """Every route reaches a notebook's conversion and a zip's extraction through `intake.take_in`."""
    callers = set()
    for path in (ROOT / "logreg_kit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in CONVERTERS:
                    callers.add(path.relative_to(ROOT).as_posix())
    assert callers == {"logreg_kit/intake.py", "logreg_kit/cells.py"}  # cells: notebook_package -> write_package
