"""Forged probe replies earn nothing: three layers, each tested on its own.

1. The static rule: a submission whose code imports the grader (even by a computed name) or reaches
   into frames, sys.modules or the garbage collector gets the exercise it touches failed.
2. The worker's integrity check: a rewritten probe, tripwire or table is noticed and nothing the
   worker sends afterwards is graded.
3. The grading process decides every fact from returned values: a reply that states a fact without
   the values behind it (cleared gradients, reshuffled epochs, eval mode, a registered parameter)
   fails the check.
"""
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import logreg_kit.scratch as scratch
from logreg_kit.checks import CHECKS, reference
from logreg_kit.checks.sgd import SHUFFLE_CASE, SHUFFLE_EXAMPLES, _fit_inputs, _orders
from logreg_kit.harness import run_check
from logreg_kit.probes import MarkedLogReg, train_mark
from logreg_kit.sandbox import bwrap_path

from .conftest import make_submission
from .sandbox_support import failures, full, graded, points

GET_WEIGHTS = "    return nn.Parameter(torch.randn(dims) / dims[0])\n"
FORGER = '''
_probes = __import__("logreg" + "_kit.probes", fromlist=["probes"])


def _forged_weights(impl, seed, dims):
    return {"value": _probes.torch.zeros(dims), "registered": ["w"], "stepped": _probes.torch.zeros(dims) - 0.5}


_probes.PROBES["weights"] = _forged_weights
'''


class Forged:
    """A backend whose probe replies are canned: what a worker rewritten by the student could send."""

    label = "forged"

    def __init__(self, replies: dict[str, Any]) -> None:
        self.replies = replies

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        reply = self.replies[probe]
        return reply(*args) if callable(reply) else reply

    def source(self, module: str) -> str | None:
        return None

    def close(self) -> None:
        pass


def check(name: str):
    return next(c for c in CHECKS if c.fn.__name__ == name)


def forging_submission(dest: Path) -> Path:
    """get_weights left as a stub, and an __init__.py that rewrites the weights probe to say it is right."""
    folder = make_submission(dest, {"logreg": [(GET_WEIGHTS, '    raise NotImplementedError("Exercise 4: get_weights")\n')]})
    (folder / "__init__.py").write_text(FORGER)
    return folder


needs_bwrap = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: the sandbox is needed")


@needs_bwrap
def test_init_rewriting_a_probe_fails_statically(sandbox, tmp_path: Path) -> None:
    report = graded(sandbox, forging_submission(tmp_path / "sub"), {"4"})
    assert points(report, "4") == 0
    assert "__init__.py line 2 imports a module whose name it computes" in failures(report)


@needs_bwrap
def test_init_rewriting_a_probe_is_noticed_by_the_worker(sandbox, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(scratch, "tampering", lambda *args: "")  # the static layer off: the worker's own
    monkeypatch.setattr(scratch, "allowlist_violations", lambda *args: ())
    report = graded(sandbox, forging_submission(tmp_path / "sub"), {"4"})
    assert points(report, "4") == 0
    text = failures(report)
    assert "changed the grader's own code in the process running it" in text and "probes.PROBES['weights']" in text, text


SKIP_EVAL = {"sgd": [("    model.train()\n", "    type(model).mro()[{}].training = property(lambda self: False, lambda self, mode: None)\n"
                                                 "    model.train()\n"),
                     ("    model.eval()\n", "")]}


@needs_bwrap
@pytest.mark.parametrize("base, changed", [(0, "logreg_kit.probes.TrustedLogReg.training"),
                                           (1, "torch.nn.modules.module.Module.training")])
def test_a_class_attribute_added_through_type_is_noticed_by_the_worker(sandbox, tmp_path: Path, base: int, changed: str) -> None:
    """fit makes the grader's model class (or nn.Module, found through .mro()) report eval mode
    forever, so a predict that never calls model.eval() would pass the eval-mode check (reviewer's
    finding: 5d 3/3 with the tamper, 2/3 without). The static rule cannot see the class behind
    type(model); the worker's integrity check guards the classes its own code relies on."""
    edits = {"sgd": [(old, new.format(base)) for old, new in SKIP_EVAL["sgd"]]}
    report = graded(sandbox, make_submission(tmp_path / "sub", edits), {"5c", "5d"})
    assert points(report, "5d") < 2, failures(report)
    text = failures(report)
    assert "changed the grader's own code in the process running it" in text and changed in text, text


def test_the_integrity_check_guards_the_classes_the_worker_relies_on() -> None:
    """An attribute added to, replaced in or removed from a kit class, nn.Module or torch.Tensor is a
    change (a dunder too); the cache copy writes on a class (__slotnames__) and a new subclass are not."""
    import copy

    from logreg_kit import probes
    from logreg_kit.sandbox import integrity

    if "__slotnames__" in vars(probes.TrustedSGD):
        del probes.TrustedSGD.__slotnames__  # a cache: the copy below writes it again
    before = integrity.snapshot()
    copy.copy(probes.TrustedSGD([], 0.1))
    assert "__slotnames__" in vars(probes.TrustedSGD)

    class Mine(torch.nn.Module):
        pass

    assert integrity.changed(before) == []
    wrapped = torch.compiler.disable(lambda self, mode=True: self)  # a function from torch/_dynamo, not its nn.Module patch
    for owner, name, value in [(probes.TrustedLogReg, "training", property(lambda self: False)),
                               (torch.nn.Module, "eval", property(lambda self: False)),
                               (torch.Tensor, "tolist", property(lambda self: False)),
                               (probes.TrustedLogReg, "__call__", property(lambda self: False)),
                               (torch.nn.Module, "__setattr__", lambda self, k, v: None),  # update_wrapper can write it
                               (torch.nn.Module, "train", wrapped), (torch.nn.Module, "__init__", wrapped)]:
        saved = vars(owner).get(name)
        setattr(owner, name, value)
        try:
            assert f"{owner.__qualname__}.{name}" in "".join(integrity.changed(before))
        finally:
            delattr(owner, name) if saved is None else setattr(owner, name, saved)
    assert integrity.changed(before) == []


COMPILE_AFTER_SNAPSHOT = """
import torch
import logreg_kit.probes
from logreg_kit.sandbox import integrity
before, init = integrity.snapshot(), torch.nn.Module.__init__
torch.compile(torch.nn.Linear(3, 2), backend="eager")(torch.randn(4, 3))
assert torch.nn.Module.__init__ is not init, "torch.compile no longer patches nn.Module: this test shows nothing"
print(integrity.changed(before))
"""


def test_torch_compile_patching_nn_module_is_not_a_change() -> None:
    """A correct predict may call torch.compile, whose first compile wraps nn.Module.__init__ and
    __setstate__ (reviewer's finding: 49/61 for the reference with a compiled predict)."""
    run = subprocess.run([sys.executable, "-c", COMPILE_AFTER_SNAPSHOT], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr[-2000:]


NO_EVAL = ("    model.eval()\n    with torch.no_grad():\n", "    with torch.no_grad():\n")
NO_GRAD_OFF = ("    model.eval()\n    with torch.no_grad():\n        return model(x)\n", "    model.eval()\n    return model(x)\n")
UNMARK_HOOK = """

def _unmark(module, args, out):
    if out.max() > 50:
        return (out - (100.0 + torch.arange(out.shape[1], dtype=out.dtype))).detach()
    return None


torch.nn.modules.module.register_module_forward_hook(_unmark)
"""
UNMARK_MODE = """

class _Unmark(torch.overrides.TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func.__name__ == "add" and len(args) == 2 and isinstance(args[1], torch.Tensor) and args[1].min() >= 100:
            return args[0].detach()  # the grader's training-mode mark is not added
        return func(*args, **(kwargs or {}))


def _held():
    with _Unmark():
        yield


_KEEP = [_held()]
next(_KEEP[0])
"""
LEAKS = {  # state left behind by one call (or the import) that would pass 5d's mode check for a predict that fails it
    "a global forward hook registered at import": {"sgd": [NO_EVAL]},
    "a function mode left on torch's stack at import": {"sgd": [NO_EVAL]},
    "grad mode switched off at the end of fit": {"sgd": [NO_GRAD_OFF, ("    return losses\n", "    torch.set_grad_enabled(False)\n    return losses\n")]},
    "inference mode left on at import": {"sgd": [NO_GRAD_OFF]},
}
INFERENCE_AT_IMPORT = """

def _held():
    with torch.inference_mode():
        yield


_KEEP = [_held()]
next(_KEEP[0])
"""


@needs_bwrap
@pytest.mark.parametrize("leak", LEAKS)
def test_every_probe_starts_from_the_torch_state_the_grader_chose(sandbox, tmp_path: Path, leak: str) -> None:
    """Reviewer's findings: each earned 5d's predict point (61/61 for a 60/61 predict). The worker puts
    torch's global state back before every probe (integrity.restore_torch)."""
    folder = make_submission(tmp_path / "sub", LEAKS[leak])
    if "import" in leak:
        payload = UNMARK_HOOK if "hook" in leak else UNMARK_MODE if "function mode" in leak else INFERENCE_AT_IMPORT
        (folder / "sgd.py").write_text((folder / "sgd.py").read_text() + payload)
    report = graded(sandbox, folder, {"5c", "5d"})
    assert points(report, "5d") == 2, failures(report)
    assert ("ran in training mode" if NO_EVAL in LEAKS[leak]["sgd"] else "has a grad_fn") in failures(report)


@needs_bwrap
def test_a_default_device_set_in_predict_survives_the_next_probe(sandbox, tmp_path: Path) -> None:
    """restore_torch pops set_default_device's mode and makes torch forget it too: a correct predict that
    sets it on every call keeps its points (reviewer: 'trying to pop from empty mode stack', 5e 0/3)."""
    edits = {"sgd": [("    model.eval()\n    with torch.no_grad():\n", "    torch.set_default_device(\"cpu\")\n    model.eval()\n    with torch.no_grad():\n")]}
    report = graded(sandbox, make_submission(tmp_path / "sub", edits), {"5d", "5e"})
    assert full(report, "5d") and full(report, "5e"), failures(report)


def test_a_renormalised_training_mode_output_still_shows_the_mark() -> None:
    """The mark differs by class, so x - logsumexp(x) keeps it (reviewer: a predict that never switched
    to eval mode earned the point by renormalising the training-mode outputs, a mark of 100 everywhere)."""
    def run(w, b, x):
        out = MarkedLogReg(w, b).train()(x)
        return {"out": (out - out.logsumexp(1, keepdim=True)).detach(), "tracked": False}

    outcome = run_check(check("predict_outputs"), Forged({"predict_run": run}))
    assert outcome.status == "failed", outcome.message


def test_the_forger_would_score_without_both_layers(tmp_path: Path, monkeypatch) -> None:
    """In this process (no worker, no integrity check) and without the static layer, the rewritten probe
    earns the parameter check: the two layers above are what stop it."""
    from logreg_kit.backend import LocalBackend

    from logreg_kit import probes

    monkeypatch.setattr(scratch, "tampering", lambda *args: "")
    monkeypatch.setattr(scratch, "allowlist_violations", lambda *args: ())  # reflection is refused there too
    monkeypatch.setitem(probes.PROBES, "weights", probes.PROBES["weights"])  # put back after the forger's __init__
    backend = LocalBackend(str(forging_submission(tmp_path / "sub")))
    assert probes.PROBES["weights"].__name__ == "_forged_weights"
    assert run_check(check("weights_are_parameters"), backend).status == "passed"


def test_a_registered_parameter_needs_a_step_that_moves_it() -> None:
    dims = (784, 10)
    forged = Forged({"weights": lambda seed, d: {"value": torch.zeros(d), "registered": ["w"], "stepped": torch.zeros(d)}})
    outcome = run_check(check("weights_are_parameters"), forged)
    assert outcome.status == "failed" and "does not require grad" in outcome.message, outcome.message
    old_style = Forged({"weights": {"is_parameter": True, "requires_grad": True, "value": torch.zeros(dims)}})
    assert run_check(check("weights_are_parameters"), old_style).status == "failed"


def test_cleared_gradients_need_the_values_of_a_cleared_loop() -> None:
    def trace(init, grads, lr, device="cpu", accumulate=False):  # states "cleared", steps nothing
        return {"values": [[p.clone() for p in init] for _ in grads], "grads_after_zero_grad": [[None, None] for _ in grads]}

    outcome = run_check(check("sgd_zero_grad"), Forged({"sgd_trace": trace}))
    assert outcome.status == "failed" and "gradients added up by backward" in outcome.message, outcome.message


def test_reshuffling_is_read_from_the_losses_not_from_the_pass_count() -> None:
    inputs = _fit_inputs(SHUFFLE_EXAMPLES)
    one_order = reference().probe("fit_run", *inputs, SHUFFLE_CASE, _orders(SHUFFLE_CASE, SHUFFLE_EXAMPLES)[:1])
    forged = Forged({"fit_run": {**one_order, "passes": SHUFFLE_CASE["epochs"]}})
    outcome = run_check(check("fit_reshuffles"), forged)
    assert outcome.status == "failed" and "every epoch saw the first epoch's order" in outcome.message, outcome.message


def test_eval_mode_is_read_from_the_outputs() -> None:
    def run(w, b, x):
        expected = reference().probe("predict_run", w, b, x)["out"]
        return {"out": expected + train_mark(expected.shape[-1]), "tracked": False}

    outcome = run_check(check("predict_outputs"), Forged({"predict_run": run}))
    assert outcome.status == "failed" and "ran in training mode" in outcome.message, outcome.message
