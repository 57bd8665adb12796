"""Property-based checks (hypothesis) for the pure functions: random shapes and values.

Hypothesis chooses small case descriptions (a seed, a shape, a scale), derandomised so
every run grades the same cases; the inputs are built from the description with seeded
generators, and a failure names it so the student can rebuild the exact input:
`torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale` (numpy cases:
`np.random.default_rng(seed)`, as in `case_inputs` below).
"""
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from ..backend import StudentError
from ..feedback import FLOAT32_ATOL, FLOAT32_RTOL, FLOAT64_ATOL, FLOAT64_RTOL, CheckFailure, expect_float, expect_tensor
from .registry import Student, check, random_tensor, reference

EXAMPLES = 25  # per property: every example calls the student's code once (maybe across a process boundary)
MAX_ROWS = 64
MAX_CLASSES = 20
SCALES = (0.0, 0.1, 1.0, 3.0, 5.0)  # logits within about +-25: no float32 overflow or underflow of
# exp, so the plain formulas are right here (large logits are the extension's check)
MIN_PROB = 1e-4  # binary probabilities stay in [MIN_PROB, 1 - MIN_PROB]
LOG_ATOL = 1e-5  # log of float32 probabilities (as in checks/softmax.py)
FLAKY_MESSAGE = ("your function failed on a case and then passed on the same case when it was run again: "
                 "it must give the same result for the same input (no global random state, no state kept between calls)")
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: each shrink step would run the student's code again
    suppress_health_check=tuple(HealthCheck),
    report_multiple_bugs=False,  # one failure, raised as itself (never an ExceptionGroup)
)


@dataclass(frozen=True)
class Case:
    """One random case, small enough to print and rebuild."""

    seed: int
    rows: int
    classes: int
    scale: float

    def describe(self, kind: str) -> str:
        return (f"hypothesis case: seed={self.seed}, shape=({self.rows}, {self.classes}), scale={self.scale:g}; "
                f"rebuild it with {kind}")


TORCH_RECIPE = "x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale"
NUMPY_RECIPE = "logreg_kit.checks.properties.case_inputs(Case(seed, rows, classes, scale))"


def cases(min_classes: int = 1) -> st.SearchStrategy[Case]:
    return st.builds(
        Case,
        seed=st.integers(0, 2**31 - 1),
        rows=st.integers(1, MAX_ROWS),
        classes=st.integers(min_classes, MAX_CLASSES),
        scale=st.sampled_from(SCALES),
    )


def case_inputs(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """numpy labels (rows,) and probabilities (rows, classes) whose rows sum to 1."""
    rng = np.random.default_rng(case.seed)
    logits = rng.normal(size=(case.rows, case.classes)) * case.scale
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return rng.integers(0, case.classes, case.rows), p / p.sum(axis=1, keepdims=True)


def binary_inputs(case: Case) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(case.seed)
    return rng.integers(0, 2, case.rows), rng.uniform(MIN_PROB, 1 - MIN_PROB, case.rows)


def torch_inputs(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits (rows, classes) and int64 labels (rows,)."""
    x = random_tensor(case.seed, (case.rows, case.classes), case.scale)
    y = torch.randint(0, case.classes, (case.rows,), generator=torch.Generator().manual_seed(case.seed))
    return x, y


def for_all(strategy: st.SearchStrategy[Case], prop: Callable[[Case], None]) -> None:
    """Run `prop` on every drawn case; the first failure propagates with its case in the message."""

    @PROPERTY_SETTINGS
    @given(strategy)
    def run(case: Case) -> None:
        prop(case)

    try:
        run()
    except Flaky:
        raise CheckFailure(FLAKY_MESSAGE) from None


def _with_case(message: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except (CheckFailure, StudentError) as err:
        raise type(err)(f"{err} ({message})") from None


@check("1", "binary_loss_if", "property: matches the reference for any N and probabilities", 1,
       "average -log(p) (label 1) or -log(1 - p) (label 0) over all N examples", visibility="hidden")
def binary_property(student: Student) -> None:
    def prop(case: Case) -> None:
        y, p = binary_inputs(case)
        expected = reference().call("binary_loss_if", y, p)
        what = Case(case.seed, case.rows, 1, 1.0).describe("y, p = logreg_kit.checks.properties.binary_inputs(case)")
        _with_case(what, lambda: expect_float(student.call("binary_loss_if", y, p), expected,
                                              rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL))

    for_all(cases(), prop)


def _categorical_property(student: Student, name: str) -> None:
    def prop(case: Case) -> None:
        y, p = case_inputs(case)
        expected = reference().call(name, y, p)
        _with_case(case.describe(NUMPY_RECIPE), lambda: expect_float(student.call(name, y, p), expected,
                                                                     rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL))

    for_all(cases(), prop)


@check("2a", "categorical_loss_if", "property: matches the reference for any N, K and probabilities", 1,
       "only the label's class contributes; K can be 1 and N can be 1", visibility="hidden")
def categorical_if_property(student: Student) -> None:
    _categorical_property(student, "categorical_loss_if")


@check("2b", "categorical_loss", "property: matches the reference for any N, K and probabilities", 1,
       "one_hot(y, p.shape[1]) has the shape of p for any K; sum over classes, mean over rows", visibility="hidden")
def categorical_property(student: Student) -> None:
    _categorical_property(student, "categorical_loss")


def _tensor_property(student: Student, name: str, atol: float, labels: bool = False) -> None:
    def prop(case: Case) -> None:
        x, y = torch_inputs(case)
        args = (x, y) if labels else (x,)
        expected = reference().call(name, *args)
        recipe = TORCH_RECIPE + ("; y = torch.randint(0, classes, (rows,), generator=...manual_seed(seed))" if labels else "")
        _with_case(case.describe(recipe), lambda: expect_tensor(student.call(name, *args), expected,
                                                                rtol=FLOAT32_RTOL, atol=atol))

    for_all(cases(), prop)


@check("3", "softmax", "property: matches the reference for any shape and scale", 1,
       "normalise each row (dim=1); K = 1 gives all ones, scale 0 gives 1/K everywhere", visibility="hidden")
def softmax_property(student: Student) -> None:
    _tensor_property(student, "softmax", FLOAT32_ATOL)


@check("3", "log_softmax", "property: matches the reference for any shape and scale", 1,
       "x - log(sum(exp(x))) per row; subtract the row max first for large logits", visibility="hidden")
def log_softmax_property(student: Student) -> None:
    _tensor_property(student, "log_softmax", LOG_ATOL)


@check("5a", "nll_loss", "property: matches the reference for any N and K", 1,
       "pick log_probs[i, y[i]] for every row i, average, negate: a 0-d tensor", visibility="hidden")
def nll_property(student: Student) -> None:
    _tensor_property(student, "nll_loss", FLOAT32_ATOL, labels=True)


@check("5d", "accuracy", "property: matches argmax accuracy for any N and K", 1,
       "argmax over the classes (dim=1), compare with y, mean, .item()", visibility="hidden")
def accuracy_property(student: Student) -> None:
    def prop(case: Case) -> None:
        x, y = torch_inputs(case)
        expected = reference().call("accuracy", x, y)
        _with_case(case.describe(TORCH_RECIPE), lambda: expect_float(student.call("accuracy", x, y), expected,
                                                                     rtol=0, atol=FLOAT32_ATOL))

    for_all(cases(min_classes=2), prop)
