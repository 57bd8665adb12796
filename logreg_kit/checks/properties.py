"""Property-based checks (hypothesis) for the pure functions: random shapes and values.

Hypothesis chooses small case descriptions (a seed, a shape, a scale), derandomised so
every run grades the same cases; the inputs are built from the description with seeded
generators, and a failure names it so the student can rebuild the exact input:
`torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale` (numpy cases:
`np.random.default_rng(seed)`, as in `case_inputs` below).

Start-up: the drawn cases are the same in every run, so they are kept in the kit's cache folder
(keyed by this file, hypothesis's version and what is drawn) and a later run needs no hypothesis
(about 1.5 s of CPU time at every self-check); the cache is read only where student code cannot
write it (under bwrap, in a process where no student code ran unsandboxed: paths.caches_trusted), and
a file that does not hold exactly EXAMPLES distinct valid cases of the spec is drawn afresh. Limit: a
run whose student code has this user's rights (--in-process, the weak sandbox) could still write a
well-formed file of weak cases, and nothing kept on disk is beyond its reach (a digest's key neither);
such runs therefore remove the cache when they start and when they end (paths.student_code_unsandboxed).
"""
from __future__ import annotations  # hypothesis's types in signatures stay names: hypothesis loads on first use

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import astuple, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from hypothesis import settings
    from hypothesis import strategies as st

from ..backend import StudentError
from ..i18n import N_, _
from ..paths import cache_folder, caches_trusted, write_text_atomic
from ..feedback import (
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    LOSS_ATOL,
    LOSS_RTOL,
    CheckFailure,
    expect_float,
    expect_tensor,
)
from .registry import Student, check, random_tensor, reference

EXAMPLES = 25  # per property: every example calls the student's code once (maybe across a process boundary)
MAX_ROWS = 64
MAX_CLASSES = 20
SCALES = (0.0, 0.1, 1.0, 3.0, 5.0)  # logits within about +-25: no float32 overflow or underflow of
# exp, so the plain formulas are right here (large logits are the extension's check)
MIN_PROB = 1e-4  # binary probabilities stay in [MIN_PROB, 1 - MIN_PROB]
LOG_ATOL = 1e-5  # log of float32 probabilities (as in checks/softmax.py)
FLAKY_MESSAGE = N_("your function failed on a case and then passed on the same case when it was run again: "
                 "it must give the same result for the same input (no global random state, no state kept between calls)")


@lru_cache(maxsize=1)
def property_settings() -> settings:
    """Hypothesis's settings for every property. hypothesis is imported here, when the first property
    check runs, not when the checks are registered: it costs about a second of every start-up."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(
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
        return _("hypothesis case: seed={seed}, shape=({rows}, {classes}), scale={scale:g}; rebuild it with {recipe}",
                 seed=self.seed, rows=self.rows, classes=self.classes, scale=self.scale, recipe=kind)


TORCH_RECIPE = "x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale"
NUMPY_RECIPE = "logreg_kit.checks.properties.case_inputs(Case(seed, rows, classes, scale))"


@dataclass(frozen=True)
class Cases:
    """What a property draws: Cases with at least `min_classes` classes (the strategy is built when drawn)."""

    min_classes: int = 1

    def strategy(self) -> st.SearchStrategy[Case]:
        from hypothesis import strategies as st  # on first use (see property_settings)

        return st.builds(
            Case,
            seed=st.integers(0, 2**31 - 1),
            rows=st.integers(1, MAX_ROWS),
            classes=st.integers(self.min_classes, MAX_CLASSES),
            scale=st.sampled_from(SCALES),
        )


def cases(min_classes: int = 1) -> Cases:
    return Cases(min_classes)


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


def drawn(spec: Cases) -> list[Case]:
    """The cases hypothesis draws for `spec` under property_settings() (derandomised: the same list in
    every run), drawn once per process, and once per machine where the disk cache may be read."""
    if spec not in _DRAWN:
        _DRAWN[spec] = _read_drawn(spec) or _draw(spec)
    return _DRAWN[spec]


def _draw(spec: Cases) -> list[Case]:
    from hypothesis import given  # on first use (see property_settings)

    found: list[Case] = []

    @property_settings()
    @given(spec.strategy())
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    _write_drawn(spec, found)
    return found


def _drawn_file(spec: Cases) -> Path | None:
    """The cache file of `spec`'s cases; None when the kit's cache is off."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        from importlib.metadata import version

        hypothesis_version = version("hypothesis")
    except Exception:  # noqa: BLE001 - no metadata: no cache
        return None
    key = hashlib.sha256(Path(__file__).read_bytes() + f"{hypothesis_version} {sys.version} {spec!r}".encode())
    return folder / f"hypothesis-cases-{key.hexdigest()[:24]}.json"


def _cache_trusted() -> bool:
    """Whether no student code can have written the cache folder: only bwrap's workers cannot, and
    only where no student code ran unsandboxed in this process (--in-process)."""
    if not caches_trusted():
        return False
    from ..sandbox.availability import bwrap_status  # lazy: a start-up deferral, only a property check needs it

    return bwrap_status().usable


def _read_drawn(spec: Cases) -> list[Case] | None:
    path = _drawn_file(spec)
    if path is None or not _cache_trusted():
        return None
    try:
        found = [Case(*row) for row in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        return None
    return found if _complete(found, spec) else None


def _complete(found: list[Case], spec: Cases) -> bool:
    """What hypothesis draws under property_settings(): exactly EXAMPLES distinct valid cases (a file of
    fewer, or of one case repeated, would grade on less than a property check promises)."""
    return len(found) == EXAMPLES and all(_valid(c, spec) for c in found) and len(set(found)) == EXAMPLES


def _valid(case: Case, spec: Cases) -> bool:
    return (isinstance(case.seed, int) and 0 <= case.seed < 2**31 and isinstance(case.rows, int) and 1 <= case.rows <= MAX_ROWS
            and isinstance(case.classes, int) and spec.min_classes <= case.classes <= MAX_CLASSES and case.scale in SCALES)


def _write_drawn(spec: Cases, found: list[Case]) -> None:
    path = _drawn_file(spec)
    if path is None or not caches_trusted() or not _complete(found, spec):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps([astuple(c) for c in found]))
    except OSError:  # a read-only home: drawn again next time
        pass


_DRAWN: dict[Cases, list[Case]] = {}


def for_all(student: Student, spec: Cases, name: str,
            inputs: Callable[[Case], tuple[Any, ...]], compare: Callable[[Any, Any], None],
            describe: Callable[[Case], str]) -> None:
    """Check `name` on every drawn case against the reference; the first failing case is named.

    The student's answers for all cases come back in one round trip (`call_many`) where the
    implementation offers it, otherwise one call per case. A failing case is run once more on
    its own: passing then means the function is not deterministic (FLAKY_MESSAGE)."""
    cases = drawn(spec)
    args = [inputs(case) for case in cases]
    answers = _answers(student, name, args)
    for case, case_args, answer in zip(cases, args, answers):
        expected = reference().call(name, *case_args)
        if _passes(compare, answer, expected):
            continue
        if _passes(compare, lambda: student.call(name, *case_args), expected):  # noqa: B023 - called at once
            raise CheckFailure(_(FLAKY_MESSAGE))
        _with_case(describe(case), lambda: compare(answer(), expected))  # noqa: B023 - called at once


def _answers(student: Student, name: str, args: list[tuple[Any, ...]]) -> list[Callable[[], Any]]:
    """Per case, a function that returns the student's result or raises StudentError."""
    batch = getattr(student, "call_many", None)
    replies = None
    if batch is not None:
        try:
            replies = batch(name, args)
        except StudentError:
            replies = None  # the process died or timed out: one call per case names the case
    if replies is None or len(replies) != len(args):
        return [(lambda a=a: student.call(name, *a)) for a in args]
    return [(lambda r=r: _unwrap(r)) for r in replies]


def _unwrap(reply: Any) -> Any:
    if isinstance(reply, tuple) and len(reply) == 2 and reply[0] == "ok":
        return reply[1]
    raise StudentError(str(reply[1]) if isinstance(reply, tuple) and len(reply) == 2 else _("malformed answer"))


def _passes(compare: Callable[[Any, Any], None], answer: Callable[[], Any], expected: Any) -> bool:
    try:
        compare(answer(), expected)
    except (CheckFailure, StudentError):
        return False
    return True


def _with_case(message: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except CheckFailure as err:
        raise CheckFailure(f"{err} ({message})", err.kind, err.diagnosis) from None
    except StudentError as err:
        raise StudentError(f"{err} ({message})") from None


def _floats(rtol: float, atol: float) -> Callable[[Any, Any], None]:
    return lambda got, expected: expect_float(got, expected, rtol=rtol, atol=atol)


def _tensors(atol: float) -> Callable[[Any, Any], None]:
    return lambda got, expected: expect_tensor(got, expected, rtol=FLOAT32_RTOL, atol=atol)


@check("1", "binary_loss_if", N_("property: matches the reference for any N and probabilities"), 1,
       N_("each example's term follows the lesson's formula for its label; the loss averages them over all N examples"), visibility="hidden")
def binary_property(student: Student) -> None:
    recipe = "y, p = logreg_kit.checks.properties.binary_inputs(case)"
    for_all(student, cases(), "binary_loss_if", binary_inputs, _floats(LOSS_RTOL, LOSS_ATOL),
            lambda case: Case(case.seed, case.rows, 1, 1.0).describe(recipe))


def _categorical_property(student: Student, name: str) -> None:
    for_all(student, cases(), name, case_inputs, _floats(LOSS_RTOL, LOSS_ATOL),
            lambda case: case.describe(NUMPY_RECIPE))


@check("2a", "categorical_loss_if", N_("property: matches the reference for any N, K and probabilities"), 1,
       N_("only the label's class contributes; K can be 1 and N can be 1"), visibility="hidden")
def categorical_if_property(student: Student) -> None:
    _categorical_property(student, "categorical_loss_if")


@check("2b", "categorical_loss", N_("property: matches the reference for any N, K and probabilities"), 1,
       N_("the one-hot matrix has p's shape for any K, K = 1 included"), visibility="hidden")
def categorical_property(student: Student) -> None:
    _categorical_property(student, "categorical_loss")


def _tensor_property(student: Student, name: str, atol: float, labels: bool = False) -> None:
    recipe = TORCH_RECIPE + ("; y = torch.randint(0, classes, (rows,), generator=...manual_seed(seed))" if labels else "")
    for_all(student, cases(), name, torch_inputs if labels else (lambda case: torch_inputs(case)[:1]),
            _tensors(atol), lambda case: case.describe(recipe))


@check("3", "softmax", N_("property: matches the reference for any shape and scale"), 1,
       N_("each row is normalised over its own classes; K = 1 gives all ones, scale 0 gives 1/K everywhere"), visibility="hidden")
def softmax_property(student: Student) -> None:
    _tensor_property(student, "softmax", FLOAT32_ATOL)


@check("3", "log_softmax", N_("property: matches the reference for any shape and scale"), 1,
       N_("check the formula row by row; for large logits see the extension (a stable log_softmax)"), visibility="hidden")
def log_softmax_property(student: Student) -> None:
    _tensor_property(student, "log_softmax", LOG_ATOL)


@check("5a", "nll_loss", N_("property: matches the reference for any N and K"), 1,
       N_("only each row's label entry counts; check the average and the sign"), visibility="hidden", hint_for=("values",))
def nll_property(student: Student) -> None:
    _tensor_property(student, "nll_loss", FLOAT32_ATOL, labels=True)


@check("5d", "accuracy", N_("property: matches argmax accuracy for any N and K"), 1,
       N_("a row's predicted class is its largest score over the classes, for any K; the result is a Python float"), visibility="hidden")
def accuracy_property(student: Student) -> None:
    for_all(student, cases(min_classes=2), "accuracy", torch_inputs, _floats(0, FLOAT32_ATOL),
            lambda case: case.describe(TORCH_RECIPE))
