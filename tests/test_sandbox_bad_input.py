"""The bad-input suite: broken submissions graded through the hardened backend. Each gets a
specific message and keeps the points of every exercise it does not touch (exercises 1 and 3
live in different modules, so breaking one module must leave the other's points intact)."""
import os
import re
from pathlib import Path

import pytest

from logreg_kit.backend import LocalBackend
from logreg_kit.checks import CHECKS
from logreg_kit import harness
from logreg_kit.harness import grade

from .conftest import make_submission
from .sandbox_support import SOLUTIONS, failures, full, graded, points, remove, with_payload


@pytest.fixture(autouse=True)
def static_rules_off(monkeypatch) -> None:
    """What the sandbox and the wire do with bad input, on their own: the static rules (which refuse
    `import os`, `decimal` or an undecodable file before anything runs) have their own tests."""
    monkeypatch.setattr(harness, "static_violations", lambda check, backend: "")

BIG_BYTES = 50 * 1024 * 1024


def _fifty_mb_module(folder: Path) -> None:
    text = (SOLUTIONS / "softmax.py").read_text()
    padding = "# padding\n" * (BIG_BYTES // 10)
    (folder / "softmax.py").write_text(text + padding)


def _only(names: tuple[str, ...]):
    def keep(folder: Path) -> None:
        for entry in list(folder.iterdir()):
            if entry.name not in names:
                remove(folder, entry.name)
    return keep


# name: (module edited or None, payload, extra files, folder change, exercise that loses, message, exercise kept)
CASES = {
    "syntax error": ("softmax", "def inner(:\n    pass", {}, None, "3", "softmax.py has a syntax error at line", "1"),
    "missing module": (None, "", {}, lambda f: remove(f, "softmax.py"), "3", "softmax.py could not be imported: ModuleNotFoundError", "1"),
    "missing function": (None, "", {}, lambda f: (f / "softmax.py").write_text(
        (SOLUTIONS / "softmax.py").read_text().replace("def softmax(", "def soft_max(")), "3", "softmax is not defined in softmax.py", "1"),
    "wrong signature": (None, "", {}, lambda f: (f / "softmax.py").write_text(
        (SOLUTIONS / "softmax.py").read_text().replace("def softmax(x: torch.Tensor)", "def softmax(x: torch.Tensor, dim: int)")),
        "3", "missing 1 required positional argument: 'dim'", "1"),
    "wrong return type": ("losses", "return str(0.164252033486018)", {}, None, "1", "got str", "3"),
    "returns None": ("softmax", "return None", {}, None, "3", "expected a torch.Tensor, got NoneType", "1"),
    "wrong shape": ("softmax", "return torch.exp(x)[:, :1]", {}, None, "3", "shape", "1"),
    "NaN outputs": ("softmax", "return torch.exp(x) * float('nan')", {}, None, "3", "NaN", "1"),
    "import of a missing package": ("softmax", "", {}, lambda f: (f / "softmax.py").write_text(
        "import tensorflow\n" + (SOLUTIONS / "softmax.py").read_text()), "3", "No module named 'tensorflow'", "1"),
    "binary file named losses.py": (None, "", {"losses.py": bytes(range(256)) * 64}, None, "1", "losses.py", "3"),
    "non-UTF-8 source": (None, "", {}, lambda f: (f / "softmax.py").write_bytes(
        b'GREETING = "caf\xe9"\n' + (SOLUTIONS / "softmax.py").read_bytes()), "3", "softmax.py has a syntax error", "1"),
    "a 50 MB source file": (None, "", {}, _fifty_mb_module, "3", "softmax.py is 52.4 MB, over the 2 MB limit", "1"),
    "raises at import": (None, "", {}, lambda f: (f / "losses.py").write_text(
        (SOLUTIONS / "losses.py").read_text() + "\nraise RuntimeError('half-finished cell')\n"),
        "1", "losses.py could not be imported: RuntimeError: half-finished cell", "3"),
    "empty folder": (None, "", {}, _only(()), "1", "losses.py could not be imported", None),
    "only a notebook that is not JSON": (None, "", {}, lambda f: (_only(())(f), (f / "lesson.ipynb").write_text("{not json")),
                                         "3", "softmax.py could not be imported", None),
}

# Inputs that must not cost anything: the reference plus noise.
HARMLESS = {
    "a notebook that is not JSON next to the modules": {"lesson.ipynb": "{not json at all"},
    "a broken __init__.py": {"__init__.py": "raise RuntimeError('oops')\n"},
    "a 50 MB data file": {"weights.bin": b"\0" * BIG_BYTES},
}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_costs_only_its_exercise(name, sandbox, tmp_path) -> None:
    module, payload, files, change, loses, message, kept = CASES[name]
    folder = with_payload(tmp_path / "sub", module or "losses", payload, files=files) if module else make_submission(tmp_path / "sub")
    for filename, content in ({} if module else files).items():
        (folder / filename).write_bytes(content) if isinstance(content, bytes) else (folder / filename).write_text(content)
    if change:
        change(folder)
    report = graded(sandbox, folder, {"1", "3"})
    assert points(report, loses) < report.by_exercise()[loses][1]
    assert message in failures(report), failures(report)
    if kept:
        assert full(report, kept), failures(report)
    else:
        assert report.score == 0


@pytest.mark.parametrize("name", HARMLESS)
def test_harmless_extras_cost_nothing(name, sandbox, tmp_path) -> None:
    folder = make_submission(tmp_path / "sub")
    for filename, content in HARMLESS[name].items():
        (folder / filename).write_bytes(content) if isinstance(content, bytes) else (folder / filename).write_text(content)
    report = graded(sandbox, folder, {"1", "3"})
    assert full(report, "1") and full(report, "3"), failures(report)


def test_missing_init_is_fine(sandbox, tmp_path) -> None:
    folder = make_submission(tmp_path / "sub")
    (folder / "__init__.py").unlink()
    report = graded(sandbox, folder, {"1", "3"})
    assert full(report, "1") and full(report, "3"), failures(report)


@pytest.mark.parametrize("payload", [
    f"open({str(SOLUTIONS / 'losses.py')!r}).read()",
    "import solutions.losses",
])
def test_the_same_tricks_work_in_process(payload, tmp_path) -> None:
    """Why the sandbox matters: in the grader's own process these guarded attacks reach the
    reference and earn full marks (the attack suite asserts they earn nothing in the sandbox)."""
    folder = with_payload(tmp_path / "sub", "losses", payload)
    report = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.exercise == "1"])
    assert full(report, "1")


def test_hardened_route_is_the_default_for_folders(tmp_path) -> None:
    from logreg_kit.factory import open_backend
    from logreg_kit.sandbox import RemoteBackend

    folder = make_submission(tmp_path / "sub")
    assert isinstance(open_backend("solutions"), LocalBackend)
    assert isinstance(open_backend(str(folder), in_process=True), LocalBackend)
    backend = open_backend(str(folder))
    try:
        assert isinstance(backend, RemoteBackend)
        assert os.path.samefile(backend.folder, folder)
    finally:
        backend.close()


def test_fallback_without_bwrap_still_grades_and_says_so(tmp_path) -> None:
    from logreg_kit.sandbox import Sandbox

    from .sandbox_support import graded as graded_in

    box = Sandbox(use_bwrap=False)
    try:
        bad = with_payload(tmp_path / "bad", "losses", "import os\nos._exit(0)")
        report = graded_in(box, bad, {"1"})
        assert points(report, "1") <= 1 and "it exited with code 0" in failures(report)
        report = graded_in(box, make_submission(tmp_path / "good"), {"1"})
        assert full(report, "1")
        assert "no bwrap: weaker isolation" in report.summary_lines()[0]
    finally:
        box.close()


def test_groups_left_by_a_killed_grader_are_swept(tmp_path) -> None:
    """A grader killed with -9 cannot remove its pids cgroup; the next one removes it (if empty)."""
    from logreg_kit.sandbox.launcher import PidsCgroup

    first = PidsCgroup(8)
    if first.path is None:
        pytest.skip("no pids cgroup can be created here (not root, or no delegated cgroup tree)")
    dead_pid = 2**22 + 12345  # above pid_max's usual ceiling: no such process
    stale = first.path.parent / f"logreg_kit_{dead_pid}_1"
    stale.mkdir()
    second = PidsCgroup(8)
    try:
        assert not stale.exists() and first.path.is_dir()  # the live grader's own group is kept
    finally:
        first.remove()
        second.remove()
        if stale.exists():
            stale.rmdir()


# numpy scalars are numbers: np.float64 (np.mean, arithmetic on np.log) is a float, np.float32 a
# real number; each variant gets the same verdict in the sandbox and in-process.
NUMPY_SCALARS = {  # name: (module, [(old, new)], exercise, True for full marks or what a failure says)
    "1 returns np.float64": ("losses", [("return float(total / len(y))", "return total / len(y)")], "1", True),
    "2a returns np.float64": ("losses", [("return float(total / len(y))", "return float(total / len(y))  # 1"),
                                         ("return float(total / len(y))\n", "return total / len(y)\n")], "2a", True),
    "2b returns np.mean": ("losses", [("return float(np.mean(-(targets", "return (np.mean(-(targets")], "2b", True),
    "accuracy returns np.float32": ("sgd", [(".float().mean().item()", ".float().mean().numpy()[()]")], "5d", True),
    "1 returns np.bool_": ("losses", [("return float(total / len(y))", "return np.bool_(total > 0)")], "1", "got bool"),
    "2b returns np.int64": ("losses", [("return float(np.mean(-(targets", "return np.int64(np.mean(-(targets")], "2b", "outside the tolerance"),
    "1 returns a Fraction": ("losses", [("import numpy as np\n", "import numpy as np\nfrom fractions import Fraction\n"),
                                        ("return float(total / len(y))", "return Fraction(float(total / len(y)))")], "1", True),
    "1 returns a Decimal": ("losses", [("import numpy as np\n", "import numpy as np\nfrom decimal import Decimal\n"),
                                       ("return float(total / len(y))", "return Decimal(float(total / len(y)))")], "1", "got Decimal"),
}


@pytest.mark.parametrize("name", NUMPY_SCALARS)
def test_numpy_scalars_get_the_same_verdict_on_every_route(name, sandbox, tmp_path) -> None:
    module, edits, exercise, correct = NUMPY_SCALARS[name]
    folder = make_submission(tmp_path / "sub", {module: edits})
    sandboxed = graded(sandbox, folder, {exercise})
    in_process = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.exercise == exercise])
    assert [o.status for o in sandboxed.outcomes] == [o.status for o in in_process.outcomes], failures(sandboxed)
    assert full(sandboxed, exercise) == (correct is True), failures(sandboxed)
    assert "Foreign" not in failures(sandboxed) + failures(in_process)
    if correct is not True:  # what type or value came back
        assert correct in failures(sandboxed) and correct in failures(in_process)


# --- what comes back over the wire is checked before the grader computes on it ----------------

def _frame(value) -> bytes:
    """A frame as a worker that skips encode() could send it (torch.save of anything)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def _shared_bomb(depth: int) -> list:
    nested: list = []
    for _ in range(depth):
        nested = [nested, nested]  # 2**depth values from a frame of a few hundred bytes
    return nested


def _unsafe_frames() -> dict:
    import numpy as np
    import torch

    from logreg_kit.sandbox import wire

    return {  # name: (value, what the refusal says)
        "stride-0 view of 2**44 elements": (torch.zeros(1).expand(1, 2**44), "view of 17,592,186,044,416 elements"),
        "stride-0 ndarray of 2**24 elements": ({wire.ARRAY_TAG: torch.from_numpy(np.broadcast_to(np.zeros(1), (2**24,)))},
                                               "array view of 16,777,216 elements"),
        "meta tensor of 2**40 elements": (torch.empty(2**40, device="meta"), "meta tensor of 1,099,511,627,776 elements"),
        "sparse tensor of 2**40 elements": (torch.sparse_coo_tensor(torch.tensor([[0]]), torch.tensor([1.0]), (2**40,)),
                                            "layout torch.sparse_coo"),
        "quantized dtype": (torch.quantize_per_tensor(torch.ones(3), 0.1, 0, torch.quint8), "dtype quint8"),
        "20 dimensions": (torch.zeros((1,) * 20), "20 dimensions"),
        "one tensor sent 100 times": ([torch.zeros(10_000)] * 100, "share their data"),
        "an int of 101 bits": (1 << 100, "an int of 101 bits"),
        "nesting 100 deep": (eval("[" * 100 + "]" * 100), "nested more than 64 levels"),
        "2**19 values from shared lists": (_shared_bomb(19), "more than 250,000 values"),
        "a dict with tensor keys": ({torch.zeros(1): 1}, "key that is not a str"),
        "a Foreign tag holding a huge view": ({wire.FOREIGN_TAG: torch.zeros(1).expand(2**40)}, "view of 1,099,511,627,776"),
    }


@pytest.mark.parametrize("name", list(_unsafe_frames()))
def test_unsafe_frames_are_refused_at_decode(name) -> None:
    import time

    from logreg_kit.sandbox import wire

    value, message = _unsafe_frames()[name]
    frame = _frame(value)
    start = time.process_time()  # CPU time: a busy machine must not fail this test
    with pytest.raises(wire.UnsafeValue, match=message.replace("(", r"\(")):
        wire.loads(frame)
    assert time.process_time() - start < 2.0


def test_plain_results_cross_the_wire_unchanged() -> None:
    import numpy as np
    import torch

    from logreg_kit.probes import plain
    from logreg_kit.sandbox import wire

    value = {"t": torch.randn(64, 10), "views": [torch.zeros(1).expand(3, 4), torch.arange(10)[::2]],
             "a": np.arange(6.0).reshape(2, 3), "n": [np.float64(0.25), np.float32(0.5), np.int64(3), np.bool_(True)],
             "meta": torch.empty(784, 10, device="meta"), "losses": [0.1] * 5000, "c": torch.ones(2, dtype=torch.complex64)}
    got = wire.loads(wire.dumps(plain(value)))
    assert torch.equal(got["t"], value["t"]) and torch.equal(got["views"][0], torch.zeros(3, 4))
    assert torch.equal(got["views"][1], torch.arange(0, 10, 2)) and np.array_equal(got["a"], value["a"])
    assert got["n"] == [0.25, 0.5, 3, True] and [type(v) for v in got["n"]] == [float, float, int, bool]
    assert got["meta"].device.type == "meta" and got["meta"].shape == (784, 10) and got["losses"] == value["losses"]


# A worker whose plain() no longer copies would send LogReg's forward back as a view of 2**22 columns
# backed by one element, and the check would compute exp() on all of it before looking at the shape
# (wire.loads refuses such a view: test_unsafe_frames_are_refused_at_decode). Getting there takes
# torch's clone patched in the worker, which the integrity check now sees (torch.Tensor is guarded).
HUGE_VIEW_TOP = """
_clone = torch.Tensor.clone
torch.Tensor.clone = lambda self, *a, **k: self if 0 in self.stride() else _clone(self, *a, **k)
"""
HUGE_VIEW_FORWARD = ("        return log_softmax(x @ self.l1_w + self.l1_b)\n",
                     "        return (x @ self.l1_w + self.l1_b)[:, :1].expand(len(x), 2**22)\n")


def test_a_huge_view_through_a_patched_clone_is_refused_in_the_worker(sandbox, tmp_path) -> None:
    import resource
    import time

    folder = make_submission(tmp_path / "sub", {"logreg": [("import torch\n", "import torch\n" + HUGE_VIEW_TOP), HUGE_VIEW_FORWARD]})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()  # the grading process's own CPU time (load-independent)
    report = graded(sandbox, folder, {"4", "3"})
    assert time.process_time() - start < 30
    assert "changed the grader's own code in the process running it (torch.Tensor.clone)" in failures(report), failures(report)
    assert points(report, "4") == 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 100 * 1024  # KiB: no 335 MB exp()


def test_solutions_means_the_kits_reference_whatever_the_working_directory(tmp_path, monkeypatch) -> None:
    """`--impl=solutions` is the kit's own reference, found by the kit's path; a `solutions/`
    folder of the working directory (first on sys.path under `python -m`) is a student's, graded
    in the sandbox when given as a path."""
    import sys

    from logreg_kit.factory import open_backend
    from logreg_kit.impl import PackageImplementation
    from logreg_kit.sandbox import RemoteBackend

    fake = make_submission(tmp_path / "solutions")
    (fake / "__init__.py").write_text("raise RuntimeError('the fake reference ran')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "solutions", raising=False)
    reference = PackageImplementation("solutions")
    assert reference.root == SOLUTIONS.resolve() and not reference.errors
    assert all(path.parent == SOLUTIONS.resolve() for path in reference.files())
    backend = open_backend("./solutions")
    try:
        assert isinstance(backend, RemoteBackend) and backend.folder == fake.resolve()
    finally:
        backend.close()
