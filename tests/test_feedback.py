"""The feedback a student reads: shape, dtype and device before values; the worst element; NaN/inf named."""
import numpy as np
import pytest
import torch

from logreg_kit.checks import CHECKS
from logreg_kit.feedback import CheckFailure, expect_float, expect_tensor
from logreg_kit.harness import failure_message, static_violations
from logreg_kit.scratch import violations

EXPECTED = torch.arange(12, dtype=torch.float32).reshape(3, 4)


def message_of(got, expected=EXPECTED, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        expect_tensor(got, expected, rtol=1e-5, atol=1e-6, case="x: (3, 4)", **kwargs)
    return str(info.value)


def test_shape_is_reported_before_values() -> None:
    assert message_of(torch.zeros(4, 3)).startswith("shape: expected (3, 4), got (4, 3)")


def test_dtype_is_reported_before_values() -> None:
    assert message_of(EXPECTED.double() + 1).startswith("dtype: expected torch.float32, got torch.float64")


def test_device_is_reported_before_values() -> None:
    assert message_of(torch.empty(3, 4, device="meta")).startswith("device: expected cpu, got meta")


def test_not_a_tensor() -> None:
    assert "expected a torch.Tensor, got ndarray (3, 4) float32" in message_of(EXPECTED.numpy())


def test_worst_element_index_expected_got_tolerance() -> None:
    got = EXPECTED.clone()
    got[1, 2] += 0.5
    got[2, 3] += 2.0
    text = message_of(got)
    assert "values differ at 2 of 12 elements" in text
    assert "worst at index (2, 3): expected 11, got 13" in text
    assert "tolerance" in text and "rtol=1e-05" in text and "[x: (3, 4)]" in text


def test_hidden_expected_values_stay_hidden() -> None:
    got = EXPECTED.clone()
    got[0, 1] = 7.0
    text = message_of(got, reveal=False)
    assert "got 7" in text and "expected 1," not in text


@pytest.mark.parametrize("bad, word", [(float("nan"), "NaN"), (float("inf"), "inf")])
def test_non_finite_values_are_named(bad: float, word: str) -> None:
    got = EXPECTED.clone()
    got[2, 1] = bad
    assert message_of(got).startswith(f"{word} at index (2, 1) (1 non-finite elements)")


def test_float_expected_but_tensor_returned() -> None:
    with pytest.raises(CheckFailure, match=r"expected a Python float, got Tensor \(\) float32 on cpu"):
        expect_float(torch.tensor(0.5), 0.5, rtol=0, atol=1e-6)
    with pytest.raises(CheckFailure, match="not finite"):
        expect_float(float("nan"), 0.5, rtol=0, atol=1e-6)
    with pytest.raises(CheckFailure, match=r"expected 0.5, got 0.25"):
        expect_float(np.float64(0.25), 0.5, rtol=0, atol=1e-6)


def test_every_check_has_a_hint_and_the_message_carries_it() -> None:
    assert all(c.hint.strip() for c in CHECKS)
    c = CHECKS[0]
    text = failure_message(c, "expected 1, got 2")
    assert text.splitlines()[0] == f"Exercise 1, {c.function}: {c.title}"
    assert text.splitlines()[-1] == f"  hint: {c.hint}"


def test_static_rule_names_the_call_and_line() -> None:
    source = "import torch\nfrom torch.nn import functional as G\n\n\ndef softmax(x):\n    return G.softmax(x, 1)\n"
    assert violations(source, "3") == (
        "softmax.py line 6 uses torch.nn.functional.softmax, which exercise 3 asks you to write yourself",)
    assert violations(source, "3x") == ()  # log_softmax is clean


def test_static_rule_follows_module_level_renames_and_constant_getattr() -> None:
    source = ("import torch.nn.functional as F\nsm = F.log_softmax\n\n\ndef log_softmax(x):\n    return sm(x, 1)\n\n\n"
              "def softmax(x):\n    return getattr(F, 'softmax')(x, 1)\n")
    assert [v.split(" uses ")[1].split(",")[0] for v in violations(source, "3")] == [
        "torch.nn.functional.log_softmax", "torch.nn.functional.softmax"]


class SourceOnly:
    label = "static"

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def source(self, module: str) -> str | None:
        return self.sources.get(module)


def test_static_rule_fails_every_check_that_runs_the_exercise() -> None:
    backend = SourceOnly({"sgd": "import torch.optim as o\n\n\nclass SGD(o.Optimizer):\n    pass\n"})
    pipeline = next(c for c in CHECKS if c.exercise == "5e")
    nll = next(c for c in CHECKS if c.exercise == "5a")
    assert "torch.optim.Optimizer" in static_violations(pipeline, backend)
    assert static_violations(nll, backend) == ""


class FlakyStudent:
    """Fails its first call only: the property's replay of the failing case passes."""

    def __init__(self) -> None:
        self.calls = 0

    def call(self, name, y, p):
        self.calls += 1
        return -1.0 if self.calls == 1 else __import__("solutions.losses", fromlist=["x"]).binary_loss_if(y, p)


def test_a_property_names_its_case_and_a_flaky_function_gets_a_message() -> None:
    from logreg_kit.checks.properties import FLAKY_MESSAGE, binary_property
    with pytest.raises(CheckFailure) as info:
        binary_property(FlakyStudent())
    assert str(info.value) == FLAKY_MESSAGE


class WrongStudent:
    def call(self, name, y, p):
        return 0.0


def test_a_property_failure_prints_the_case_to_rebuild() -> None:
    from logreg_kit.checks.properties import binary_property
    with pytest.raises(CheckFailure, match=r"hypothesis case: seed=\d+, shape=\(\d+, 1\).*binary_inputs"):
        binary_property(WrongStudent())


class BatchedStudent:
    """Offers call_many (one round trip for all cases, as the sandboxed route does); `wrong` picks
    which batched answers are off; a single call afterwards gives `replay`."""

    def __init__(self, wrong: set[int], replay_right: bool) -> None:
        self.wrong, self.replay_right, self.batches = wrong, replay_right, 0

    def call_many(self, name, cases):
        self.batches += 1
        losses = __import__("solutions.losses", fromlist=["x"])
        return [("ok", -1.0 if i in self.wrong else losses.binary_loss_if(*args)) for i, args in enumerate(cases)]

    def call(self, name, y, p):
        return __import__("solutions.losses", fromlist=["x"]).binary_loss_if(y, p) if self.replay_right else -1.0


def test_a_batched_property_checks_every_case_in_one_round_trip() -> None:
    from logreg_kit.checks.properties import FLAKY_MESSAGE, binary_property
    right = BatchedStudent(set(), replay_right=True)
    binary_property(right)
    assert right.batches == 1
    with pytest.raises(CheckFailure, match=r"hypothesis case: seed=\d+, shape=\(\d+, 1\).*binary_inputs"):
        binary_property(BatchedStudent({3}, replay_right=False))  # wrong on a case, and again on replay
    with pytest.raises(CheckFailure) as info:
        binary_property(BatchedStudent({3}, replay_right=True))  # wrong in the batch, right on replay
    assert str(info.value) == FLAKY_MESSAGE


def test_static_rule_sees_every_binding_and_helper_of_an_exercise() -> None:
    from logreg_kit.scratch import tampering

    partial = "import functools\nimport torch\n\n\ndef softmax(x):\n    return x\n\n\nsoftmax = functools.partial(torch.softmax, dim=1)\n"
    assert violations(partial, "3") == ("softmax.py line 9 uses torch.softmax, which exercise 3 asks you to write yourself",)
    helper = "import torch.nn.functional as F\n\n\ndef _sm(x):\n    return F.softmax(x, 1)\n\n\ndef softmax(x):\n    return _sm(x)\n"
    assert "line 5 uses torch.nn.functional.softmax" in violations(helper, "3")[0]
    imported = "from torch import softmax\n"
    assert "line 1 uses torch.softmax" in violations(imported, "3")[0]
    private = "import torch\n\n\ndef softmax(x):\n    return torch._C.TensorBase.softmax(x, 1)\n"
    assert "line 5 uses torch.softmax" in violations(private, "3")[0]
    hidden = "import torch\n\nexec('def softmax(x): return x')\n"
    assert "line 3 calls exec" in violations(hidden, "3")[0]
    assert "line 1 imports the grader's own package" in tampering("import logreg_kit\n", "__init__")


def test_static_rule_leaves_the_students_own_code_alone() -> None:
    own = ("from . import softmax as sm\n\n\nclass LogReg:\n    def forward(self, x):\n"
           "        return sm.log_softmax(x @ self.l1_w + self.l1_b)\n")
    assert violations(own, "4") == ()
    annotated = ("import torch\n\n\nclass SGD(torch.optim.SGD):\n    pass\n\n\n"
                 "def fit(model, train_dl, loss_fn, opt: SGD, epochs: int) -> list[float]:\n    return []\n")
    assert violations(annotated, "5c") == ()  # an annotation naming SGD does not run it
    assert violations(annotated, "5b")  # SGD itself subclasses torch.optim.SGD


def test_not_implemented_yet_only_for_a_stub(tmp_path) -> None:
    from logreg_kit.backend import LocalBackend
    from logreg_kit.harness import grade
    from logreg_kit.probes import Foreign

    from .conftest import make_submission

    stub = grade(LocalBackend("assignments"), [c for c in CHECKS if c.fn.__name__ == "softmax_matches"])
    assert "not implemented yet (Exercise 3: softmax)" in stub.outcomes[0].message
    folder = make_submission(tmp_path / "sub", {"softmax": [("    e = torch.exp(x)\n", "    raise NotImplementedError('no meta kernel')\n    e = torch.exp(x)\n")]})
    raised = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.fn.__name__ == "softmax_matches"])
    text = raised.outcomes[0].message
    assert "your code raised NotImplementedError at softmax.py line" in text and "not implemented yet" not in text, text
    with pytest.raises(CheckFailure) as info:
        expect_float(Foreign("set"), 0.5, rtol=0, atol=0)
    assert "got set" in str(info.value) and "Foreign" not in str(info.value)


# --- issue 16: feedback that diagnoses, hints tied to their causes, stubs, notebook cells ---------
def _diagnosis_words() -> list[str]:
    """The words of every known mistake (logreg_kit.diagnosis), gathered on small inputs."""
    from logreg_kit import diagnosis as d

    y, p = np.array([1, 0]), np.array([0.7, 0.2])
    x = torch.randn(3, 4)
    w, b = torch.randn(784, 10), torch.randn(10)
    groups = [d.binary_loss_mistakes(y, p), d.categorical_loss_mistakes(y, np.array([[0.3, 0.7], [0.6, 0.4]])),
              d.softmax_mistakes(x), d.log_softmax_mistakes(x), d.logreg_mistakes(w, b, torch.randn(2, 784)),
              d.weights_mistakes(0, (3, 4)), d.nll_mistakes(x, torch.tensor([0, 1, 2])),
              d.sgd_mistakes([torch.zeros(2)], [[torch.ones(2)]], 0.1, 1)]
    return [words for group in groups for words, _ in group] + [d.NO_UPDATE, d.ONE_ORDER, d.DATASET_ORDER]


def test_no_hint_or_diagnosis_hands_over_the_fix() -> None:
    from logreg_kit.harness import KIND_HINTS, STUB_HINT

    from .diagnoses import dictates

    texts = [c.hint for c in CHECKS] + list(KIND_HINTS.values()) + [STUB_HINT] + _diagnosis_words()
    found = {t: dictates(t) for t in texts if dictates(t)}
    assert not found, found
    assert dictates("normalise along dim=1 (the classes), not dim=0 (the batch)")  # the patterns can fail


def test_a_recognised_mistake_stands_in_for_the_hint() -> None:
    from logreg_kit.diagnosis import softmax_mistakes

    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    by_columns = x.exp() / x.exp().sum(dim=0, keepdim=True)
    with pytest.raises(CheckFailure) as info:
        expect_tensor(by_columns, x.exp() / x.exp().sum(dim=1, keepdim=True), rtol=1e-5, atol=1e-6, mistakes=softmax_mistakes(x))
    assert info.value.kind == "values" and "normalises down the batch (dim 0)" in info.value.diagnosis
    text = failure_message(CHECKS[0], str(info.value), info.value.kind, info.value.diagnosis)
    assert text.splitlines()[-1] == f"  hint: {info.value.diagnosis}"
    with pytest.raises(CheckFailure) as other:  # a difference no known mistake makes: no diagnosis
        expect_tensor(by_columns + 1, by_columns, rtol=1e-5, atol=1e-6, mistakes=softmax_mistakes(x))
    assert other.value.diagnosis == ""


def test_a_check_hint_is_shown_only_for_the_kind_of_failure_it_is_about() -> None:
    from logreg_kit.harness import KIND_HINTS

    dtype_check = next(c for c in CHECKS if c.fn.__name__ == "softmax_keeps_dtype")
    on_values = failure_message(dtype_check, "values differ at 3 of 24 elements", "values")
    assert dtype_check.hint not in on_values and KIND_HINTS["values"] in on_values
    assert dtype_check.hint in failure_message(dtype_check, "dtype: expected torch.float64, got torch.float32", "dtype")


def test_an_untouched_stub_reads_not_implemented_yet_on_every_check_and_nothing_else() -> None:
    from logreg_kit.backend import LocalBackend
    from logreg_kit.harness import STATUS_STUBS, STUB_HINT, grade

    report = grade(LocalBackend("assignments"))
    ran = [o for o in report.outcomes if o.status != "skipped"]
    details = {o.check.name: o.message.splitlines()[1].strip() for o in ran}
    assert all(d.startswith("not implemented yet") for d in details.values()), details
    assert all(o.message.splitlines()[-1] == f"  hint: {STUB_HINT}" for o in ran)
    assert report.all_stubs and STATUS_STUBS in "\n".join(report.summary_lines())
    one_done = grade(LocalBackend("solutions"), [c for c in CHECKS if c.exercise == "1"])
    assert not one_done.all_stubs


def test_batch_status_of_a_submission_that_is_all_stubs() -> None:
    from logreg_kit.batch.pool import NOT_STARTED, graded_status

    stub = {"status": "failed", "output": "Exercise 1, binary_loss_if: x\n  not implemented yet (Exercise 1: binary_loss_if)\n  hint: h"}
    other = {"status": "failed", "output": "Exercise 1, binary_loss_if: x\n  expected 1, got 2\n  hint: h"}
    assert graded_status([stub, stub, {"status": "skipped", "output": "skipped: no CUDA"}])[0] == NOT_STARTED
    assert graded_status([stub, other]) == ("graded", "")
    assert graded_status([stub, {"status": "passed", "output": ""}]) == ("graded", "")


def test_if_check_names_what_each_exercise_branches_on(tmp_path) -> None:
    from logreg_kit.backend import LocalBackend
    from logreg_kit.harness import grade

    from .conftest import make_submission

    from .mutants import MUTANTS

    vectorised = next(m for m in MUTANTS if m.name == "categorical if: vectorised, no if")
    folder = make_submission(tmp_path / "sub", vectorised.edits)
    (outcome,) = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.fn.__name__ == "categorical_if_uses_if"]).outcomes
    assert "branches on the classes of each row" in outcome.message and "label" not in outcome.message.splitlines()[1]


def test_notebook_messages_name_the_solution_cell_and_its_line(tmp_path) -> None:
    import json

    from logreg_kit.backend import LocalBackend
    from logreg_kit.harness import grade
    from logreg_kit.notebook_build import render_notebook
    from logreg_kit.notebooks import notebook_package

    notebook = json.loads(render_notebook())
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id == "ex5a":
            cell["source"] = ["from __future__ import annotations\n", "def nll_loss(log_probs, y):\n",
                              "    raise ValueError('boom')\n"]
        if grade_id == "ex4":
            cell["source"] = ["from __future__ import annotations\n", "def get_weights(*dims):\n", "    return (\n"]
    path = tmp_path / "logreg.ipynb"
    path.write_text(json.dumps(notebook))
    backend = LocalBackend(str(notebook_package(path, tmp_path / "converted")))
    report = grade(backend, [c for c in CHECKS if c.exercise in ("4", "5a")])
    texts = "\n".join(o.message for o in report.outcomes if o.status == "failed")
    assert "at solution cell ex5a, line 3: boom" in texts, texts
    assert "solution cell ex4 has a syntax error at line" in texts, texts
    assert "sgd.py" not in texts and "logreg.py" not in texts, texts


def test_future_imports_move_to_the_top_and_lines_keep_their_numbers() -> None:
    from logreg_kit.notebooks import future_imports

    cell = '"""My cell."""\nfrom __future__ import (\n    annotations,\n)\n\nx: int = 1\n'
    found, code = future_imports(cell)
    assert found == ["from __future__ import ( annotations, )"]
    assert code.splitlines()[5] == "x: int = 1" and code.splitlines()[1].startswith("# ")
    compile("\n".join(found) + "\n" + code, "cell", "exec")


def _outcome(folder, fn_name: str):
    """The outcome of the check named `fn_name` on the submission in `folder` (run in this process)."""
    from logreg_kit.backend import LocalBackend
    from logreg_kit.harness import run_check

    return run_check(next(c for c in CHECKS if c.fn.__name__ == fn_name), LocalBackend(str(folder)))


def test_the_gradient_check_blames_item_only_when_the_graph_is_lost(submission) -> None:
    nll_check = next(c for c in CHECKS if c.fn.__name__ == "nll_gradients")
    halved = _outcome(submission({"sgd": [("return -log_probs[torch.arange(len(y)), y].mean()",
                                            "return -log_probs[torch.arange(len(y)), y].mean() / 2")]}), "nll_gradients")
    assert halved.status == "failed" and nll_check.hint not in halved.message
    plain = _outcome(submission({"sgd": [("return -log_probs[torch.arange(len(y)), y].mean()",
                                           "return torch.tensor(-log_probs[torch.arange(len(y)), y].mean().item())")]}),
                     "nll_gradients")
    assert plain.status == "failed" and nll_check.hint in plain.message


def test_a_global_item_shift_runs_on_any_device(submission) -> None:
    from logreg_kit.harness import KIND_HINTS

    shifted = submission({"softmax": [("e = torch.exp(x)", "e = torch.exp(x - x.max().item())")]})
    assert _outcome(shifted, "softmax_any_device").status == "passed"
    pinned = _outcome(submission({"softmax": [("e = torch.exp(x)", "e = torch.exp(x.cpu())")]}), "softmax_any_device")
    assert pinned.status == "failed"
    assert KIND_HINTS["device"] not in _outcome(shifted, "softmax_any_device").message


def test_a_mistake_is_claimed_only_where_the_cases_tell_it_apart(submission) -> None:
    """Review B, w2: dividing by N * K equals "sum over axis 0, then mean over K" when N = 1."""
    pairs = submission({"losses": [("    total = 0.0\n    for label, row in zip(y, p):\n        for k, prob in enumerate(row):\n",
                                    "    total = 0.0\n    count = 0\n    for label, row in zip(y, p):\n"
                                    "        for k, prob in enumerate(row):\n            count += 1\n"),
                                   ("total -= np.log(prob)\n    return float(total / len(y))",
                                    "total -= np.log(prob)\n    return float(total / count)")]})
    message = _outcome(pairs, "categorical_if_random").message
    assert "axis 0" not in message and "(example, class) pairs" in message


BINARY_LOOP = "    total = 0.0\n    for label, prob in zip(y, p):\n        if label == 1:"


def test_the_if_check_wants_an_if_on_the_label_without_the_given_loss(submission) -> None:
    """Review B: `[binary_loss][0](y, p)` behind an `if len(y) == 0` is no branch on the label."""
    wrapped = submission({"losses": [(BINARY_LOOP, "    if len(y) == 0:\n        raise ValueError('empty')\n"
                                                   "    return [binary_loss][0](y, p)\n" + BINARY_LOOP)]})
    assert "calls binary_loss" in _outcome(wrapped, "binary_uses_if").message
    guard = submission({"losses": [(BINARY_LOOP, "    if len(y) == 0:\n        raise ValueError('empty')\n"
                                                 "    return float(np.mean(-np.log(np.where(y == 1, p, 1 - p))))\n"
                                                 + BINARY_LOOP.replace("label == 1", "True"))]})
    assert "has no `if` whose test depends on `y`" in _outcome(guard, "binary_uses_if").message


def test_the_if_check_follows_helpers_in_the_students_other_files(submission) -> None:
    """Review B, w3: the `if` over the classes lives in lossutil.py, reached by a relative import."""
    helper = "def row_term(label, row):\n    for k, prob in enumerate(row):\n        if k == label:\n            return -np.log(prob)\n"
    for imported, call in (("from .lossutil import row_term", "row_term"), ("from . import lossutil", "lossutil.row_term")):
        folder = submission({"losses": [("import numpy as np\n", f"import numpy as np\n\n{imported}\n"),
                                        ("    total = 0.0\n    for label, row in zip(y, p):",
                                         f"    return float(sum({call}(label, row) for label, row in zip(y, p)) / len(y))\n"
                                         "    total = 0.0\n    for label, row in zip(y, p):"),
                                        ("            if k == label:\n                total -= np.log(prob)",
                                         "            total -= np.log(prob) * (k == label)")]})
        (folder / "lossutil.py").write_text("import numpy as np\n\n\n" + helper)
        assert _outcome(folder, "categorical_if_uses_if").status == "passed", call
