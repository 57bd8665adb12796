"""Start-up deferrals of the self-check (issue 20): the property checks' drawn cases kept on disk; the
sandbox template's warm-up beside the checks (a worker forked warm for the checks on `meta`, which
the self-check runs last); the cyclic GC kept off what the imports made."""
import gc
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from logreg_kit import pytest_plugin
from logreg_kit.backend import LocalBackend
from logreg_kit.checks import CHECKS, properties
from logreg_kit.checks.properties import EXAMPLES, Case, cases, drawn
from logreg_kit.harness import run_check
from logreg_kit.sandbox import Limits, Sandbox
from logreg_kit.sandbox.remote import RemoteBackend

from .conftest import ROOT, SANDBOX_TEST_TIMEOUT_S
from .mutants import MUTANTS

UNPATCHED_CACHE_TRUSTED = properties._cache_trusted


@pytest.fixture
def case_cache(tmp_path, monkeypatch):
    """A private cache folder, trusted (as under bwrap), and no cases drawn yet in this process."""
    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    monkeypatch.setattr(properties, "_cache_trusted", lambda: True)
    monkeypatch.setattr(properties, "caches_trusted", lambda: True)  # whatever earlier tests ran in this process
    monkeypatch.setattr(properties, "_DRAWN", {})
    return tmp_path


def _no_hypothesis(spec):  # noqa: ANN001, ANN202
    raise AssertionError("hypothesis was asked although the cases were on disk")


def test_cached_cases_are_hypothesis_own(case_cache, monkeypatch) -> None:
    fresh = drawn(cases(2))
    assert 0 < len(fresh) <= EXAMPLES and all(c.classes >= 2 for c in fresh)
    assert len(list(case_cache.glob("hypothesis-cases-*.json"))) == 1
    monkeypatch.setattr(properties, "_DRAWN", {})
    monkeypatch.setattr(properties, "_draw", _no_hypothesis)
    assert drawn(cases(2)) == fresh


def test_each_spec_has_its_own_file(case_cache) -> None:
    drawn(cases(1))
    drawn(cases(2))
    assert len(list(case_cache.glob("hypothesis-cases-*.json"))) == 2


@pytest.mark.parametrize("content", [
    "[]",  # no cases: every property would pass
    json.dumps([[1, 5, 1, 1.0]]),  # fewer classes than the spec asks for
    json.dumps([[1, 5000, 3, 1.0]]),  # more rows than MAX_ROWS
    json.dumps([[1, 5, 3, 7.5]]),  # a scale outside SCALES
    json.dumps([[1, 5, 3, 1.0]] * (EXAMPLES + 1)),  # more cases than drawn
    json.dumps([[0, 1, 2, 1.0]]),  # one trivial case (the review's cache poisoning)
    json.dumps([[0, 1, 2, 1.0]] * EXAMPLES),  # as many as drawn, but one case repeated
    json.dumps([[seed, 1, 2, 1.0] for seed in range(EXAMPLES - 1)]),  # distinct, but one fewer than drawn
    json.dumps([[[1], 1, 2, 1.0]] * EXAMPLES),  # a field of the wrong type
    json.dumps({"seed": 1}),
    "not json",
])
def test_a_cache_file_without_valid_cases_is_drawn_afresh(case_cache, monkeypatch, content) -> None:
    drawn(cases(2))
    path = next(case_cache.glob("hypothesis-cases-*.json"))
    path.write_text(content)
    monkeypatch.setattr(properties, "_DRAWN", {})
    redrawn = []
    monkeypatch.setattr(properties, "_draw", lambda spec: redrawn.append(spec) or [Case(1, 2, 2, 1.0)])
    assert drawn(cases(2)) == [Case(1, 2, 2, 1.0)]
    assert redrawn == [cases(2)]


def test_the_cache_is_not_read_where_student_code_could_write_it(case_cache, monkeypatch) -> None:
    drawn(cases(2))
    monkeypatch.setattr(properties, "_DRAWN", {})
    monkeypatch.setattr(properties, "_cache_trusted", lambda: False)
    redrawn = []
    monkeypatch.setattr(properties, "_draw", lambda spec: redrawn.append(spec) or [Case(1, 2, 2, 1.0)])
    drawn(cases(2))
    assert redrawn == [cases(2)]


def test_cache_off_draws_every_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOGREG_KIT_CACHE", "off")
    monkeypatch.setattr(properties, "_cache_trusted", lambda: True)
    monkeypatch.setattr(properties, "_DRAWN", {})
    assert drawn(cases(1))
    assert properties._drawn_file(cases(1)) is None


POISONER = """
import atexit, json, os
def _poison():
    with open(os.environ["POISON_PATH"], "w") as f:  # well-formed: EXAMPLES distinct valid 1-row cases
        f.write(json.dumps([[seed, 1, 2, 1.0] for seed in range({n})]))
atexit.register(_poison)
"""


def test_an_in_process_run_leaves_no_case_cache_for_the_next_run(case_cache, monkeypatch, tmp_path) -> None:
    """--in-process (student code with this user's rights) removes the kit's caches when it starts and
    when it ends: what its student code writes to them is not read by the next (sandboxed) run."""
    own = drawn(cases(2))
    path = properties._drawn_file(cases(2))
    assert path is not None and path.exists()
    student = tmp_path / "student"
    shutil.copytree(Path(properties.__file__).resolve().parents[2] / "solutions", student)
    with open(student / "__init__.py", "a") as f:
        f.write(POISONER.format(n=EXAMPLES))
    script = ("import sys; from logreg_kit.factory import open_backend; from logreg_kit.paths import caches_trusted\n"
              "open_backend(sys.argv[1], in_process=True)\n"
              "assert not caches_trusted()\n")
    env = {**os.environ, "POISON_PATH": str(path), "LOGREG_KIT_CACHE": str(case_cache)}
    done = subprocess.run([sys.executable, "-c", script, str(student)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert not list(case_cache.glob("hypothesis-cases-*.json"))  # the poisoner's file was removed after it
    monkeypatch.setattr(properties, "_DRAWN", {})
    assert drawn(cases(2)) == own


def test_no_case_cache_is_read_or_written_after_student_code_ran_unsandboxed(case_cache, monkeypatch) -> None:
    own = drawn(cases(2))
    path = next(case_cache.glob("hypothesis-cases-*.json"))
    monkeypatch.setattr(properties, "_DRAWN", {})
    monkeypatch.setattr(properties, "_cache_trusted", UNPATCHED_CACHE_TRUSTED)
    monkeypatch.setattr(properties, "caches_trusted", lambda: False)
    redrawn = []
    monkeypatch.setattr(properties, "_draw", lambda spec: redrawn.append(spec) or [Case(1, 2, 2, 1.0)])
    drawn(cases(2))
    assert redrawn == [cases(2)]
    path.unlink()
    properties._write_drawn(cases(2), own)
    assert not path.exists()


# --- the template's warm-up (torch._dynamo, which `meta` needs) beside the checks, not before them ---

DYNAMO_PROBE = {"losses": [("    ### BEGIN SOLUTION\n    total = 0.0\n",
                            "    ### BEGIN SOLUTION\n    import sys\n    return float('torch._dynamo' in sys.modules)\n    total = 0.0\n")]}


def test_the_checks_on_meta_declare_it() -> None:
    """Check.needs == "meta" is what sends a check to a warm worker (and last in the self-check)."""
    for check in CHECKS:
        assert ("on_meta(" in inspect.getsource(check.fn)) == (check.needs == "meta"), check.name


def test_a_cold_worker_never_warms_up_and_meta_checks_get_a_warm_one(submission) -> None:
    """The template's first worker is forked cold and stays so (it used to import torch._dynamo itself
    after its first answer, on the path of every later check); the template warms up meanwhile, and a
    check that needs `meta` runs in a worker forked after that."""
    folder = submission(DYNAMO_PROBE)
    box = Sandbox(Limits(timeout_s=SANDBOX_TEST_TIMEOUT_S))
    backend = RemoteBackend(folder, sandbox=box)
    try:
        loaded = [backend.run(("1",), "call", "binary_loss_if", [1], [0.5]) for _call in range(3)]
        assert loaded == [0.0, 0.0, 0.0] and not backend.warm
        meta_check = next(c for c in CHECKS if c.needs == "meta")
        assert run_check(meta_check, backend).status == "passed"
        assert backend.warm and backend.run(("1",), "call", "binary_loss_if", [1], [0.5]) == 1.0
    finally:
        backend.close()
        box.close()


def test_the_self_check_runs_the_meta_checks_last(tmp_path) -> None:
    """pytest grader/ runs the checks that need `meta` last (the template warms up for them beside the
    others), the rest in the order collected; the reports (results.json here) keep the collected order."""
    results = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "grader/", "-v", "--impl=solutions", "-p", "no:cacheprovider",
                           f"--results={results}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    files = sorted(ROOT.glob("grader/test_*.py"))  # pytest's order, each file's checks from its module
    declared = [param.values[0] for path in files for param in
                pytest_plugin.checks_of_module(path.stem.split("_", 2)[2])]
    ran = [line for line in done.stdout.splitlines() if line.startswith("grader/")]
    ran = [next(c.name for c in declared if f"[{c.name}]" in line) for line in ran]
    meta = [c.name for c in declared if c.needs == "meta"]
    assert len(ran) == len(CHECKS) and meta, done.stdout[-2000:] + done.stderr[-2000:]
    assert ran == [c.name for c in declared if c.needs != "meta"] + meta
    assert [t["name"] for t in json.loads(results.read_text())["tests"]] == [c.name for c in declared]


def test_collection_leaves_its_imports_out_of_the_cyclic_gc() -> None:
    """The grading process pauses the collector while collection imports torch and the checks, then
    freezes what they made (pytest_collection_finish) and collects again."""
    config = SimpleNamespace(stash={pytest_plugin.GC_PAUSED: True})
    gc.disable()
    try:
        pytest_plugin.pytest_collection_finish(SimpleNamespace(config=config))
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_meta_check_sees_the_code_after_a_cpu_call_whatever_runs_first(submission) -> None:
    """Review F2: a softmax that keeps a tensor made on its first call's device passed the device check
    when that check was the first call of its worker (a fresh warm worker, the meta checks run last) and
    failed it otherwise; the probe now calls the code on the CPU first, so every order gives one verdict."""
    edits = next(m.edits for m in MUTANTS if m.name == "softmax: a ones tensor made once, on the device of the first call")
    check = next(c for c in CHECKS if c.needs == "meta" and c.exercise == "3")
    result = run_check(check, LocalBackend(str(submission(edits))))  # the first call this submission sees
    assert result.status == "failed" and "meta" in result.message, result.message
