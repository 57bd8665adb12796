"""assignments/ is generated from solutions/, is current, and leaks no solution."""
import ast
import re

import pytest

from logreg_kit import build
from logreg_kit.exercises import MODULES


def test_assignments_are_current() -> None:
    assert build.stale_files() == [], "run `python -m logreg_kit build` and commit assignments/"


def test_no_marker_text_leaks() -> None:
    for path in build.ASSIGNMENTS.rglob("*.py"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path


def test_every_stub_raises_with_its_exercise() -> None:
    for module in MODULES:
        stub = (build.ASSIGNMENTS / f"{module}.py").read_text()
        solution = (build.SOLUTIONS / f"{module}.py").read_text()
        regions = solution.count(build.BEGIN)
        raises = re.findall(r'raise NotImplementedError\("Exercise ([0-9a-z]+): ([A-Za-z_.]+)"\)', stub)
        assert len(raises) == regions > 0, module
        ast.parse(stub)


def test_stub_bodies_hold_no_solution_code() -> None:
    """Each stubbed function is its docstring, maybe super().__init__(), and the raise."""
    for module in MODULES:
        tree = ast.parse((build.ASSIGNMENTS / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(isinstance(s, ast.Raise) for s in node.body):
                kinds = [type(s).__name__ for s in node.body]
                assert kinds[-1] == "Raise" and len(kinds) <= 3, (module, node.name, kinds)


@pytest.mark.parametrize("bad", [
    "def softmax():\n    ### BEGIN SOLUTION\n    return 1\n",
    "def softmax():\n    return 1\n    ### END SOLUTION\n",
    "def helper():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
    "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",
])
def test_unbalanced_or_stray_markers_are_rejected(bad: str) -> None:
    with pytest.raises(build.MarkerError):
        build.stub_source(bad, "bad.py")


def test_build_check_reports_a_stale_file(tmp_path) -> None:
    build.build(tmp_path)
    assert build.stale_files(tmp_path) == []
    (tmp_path / "softmax.py").write_text("# edited by hand\n")
    assert build.stale_files(tmp_path) == ["softmax.py"]
