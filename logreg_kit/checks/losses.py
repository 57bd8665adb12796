"""Checks for exercises 1, 2a and 2b: cross-entropy in numpy."""
import ast
from typing import Any

import numpy as np

from .. import scratch
from ..backend import StudentError
from ..exercises import MODULE_OF
from ..diagnosis import binary_loss_mistakes, categorical_loss_mistakes
from ..feedback import LOSS_ATOL, LOSS_RTOL, NOT_IMPLEMENTED, CheckFailure, Mistakes, expect, expect_float, matching
from ..i18n import N_, _
from . import label_if
from .registry import Student, check, reference

LESSON_Y = np.array([1, 0, 0, 1])
LESSON_P = np.array([0.9, 0.1, 0.2, 0.8])
LESSON_VALUE = 0.164252033486018  # the lesson's worked example
SEEDS = (0, 1, 2)
SIZES = (1, 7, 100)
CATEGORICAL_SHAPES = ((1, 2), (5, 3), (64, 10))
Case = tuple[str, np.ndarray, np.ndarray]  # (what the message calls it, y, p)


def binary_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.uniform(0.01, 0.99, n)


def categorical_case(seed: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return rng.integers(0, shape[1], shape[0]), p


def _categorical_cases() -> list[Case]:
    return [(_("seed {seed}, p: {shape}", seed=seed, shape=shape), *categorical_case(seed, shape)) for seed in SEEDS for shape in CATEGORICAL_SHAPES]


def _mistakes(name: str, y: np.ndarray, p: np.ndarray) -> Mistakes:
    return binary_loss_mistakes(y, p) if name == "binary_loss_if" else categorical_loss_mistakes(y, p)


def _consistent_mistake(student: Student, name: str, cases: list[Case], got: Any) -> str:
    """The one known mistake that gives the student's output on the failing case (cases[0], `got`)
    and on every later case the student's code answers: several mistakes can coincide on one case
    (N=1), and a claim is made only when the cases tell them apart; "" otherwise."""
    found = matching(got, _mistakes(name, *cases[0][1:]), LOSS_RTOL, LOSS_ATOL)
    for _case, y, p in cases[1:]:
        if len(found) <= 1:
            break
        try:
            later = student.call(name, y, p)
        except StudentError:
            break
        found &= matching(later, _mistakes(name, y, p), LOSS_RTOL, LOSS_ATOL)
    return found.pop() if len(found) == 1 else ""


def _close_all(student: Student, name: str, cases: list[Case]) -> None:
    """The student's `name` matches the reference on each case, in order; the first that differs fails."""
    for k, (case, y, p) in enumerate(cases):
        got = student.call(name, y, p)
        try:
            expect_float(got, reference().call(name, y, p), rtol=LOSS_RTOL, atol=LOSS_ATOL, case=case)
        except CheckFailure as err:
            words = _consistent_mistake(student, name, cases[k:], got) if err.kind == "values" else ""
            raise CheckFailure(str(err), err.kind, words) from None


def _is_stub(node: ast.AST) -> bool:
    """A function whose body (after its docstring) is only `raise NotImplementedError(...)`."""
    body = list(getattr(node, "body", []))
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    raised = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(raised, ast.Name) and raised.id == "NotImplementedError"


GIVEN = frozenset({"binary_loss", "categorical_loss"})  # what exercises 1 and 2a are written without


def _reads_given(tree: ast.Module, reader: label_if.Reader, node: ast.FunctionDef, name: str) -> str:
    """A given loss that `name` refers to (called or not), in its body, its module-level helpers and
    aliases (scratch.exercise_code) or the student's helpers in other files; "" when none."""
    code = [n for n in scratch.exercise_code(tree, (name,)) if not (isinstance(n, ast.FunctionDef) and n.name in GIVEN)]
    for n in (sub for stmt in code for sub in ast.walk(stmt)):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in GIVEN:
            return n.id
    return label_if.reads_names(reader, MODULE_OF[name], node, set(GIVEN))


def _has_if(student: Student, name: str, over: str) -> None:
    """`name` branches with an `if` (elif, conditional expression, match, comprehension if) whose test
    depends on the label (its `y` argument or a name derived from it), in its own body or in a helper
    of the student's it calls (label_if); it does not use a given loss. `over`: for the message."""
    node, tree = student.function_node(name), student.module_tree(name)
    expect(isinstance(node, ast.FunctionDef) and tree is not None, _("could not find `def {name}` in losses.py", name=name))
    expect(not _is_stub(node), _("{not_implemented} ({name} is still the stub)", not_implemented=_(NOT_IMPLEMENTED), name=name))
    reader = label_if.Reader(student.backend.source)
    given = _reads_given(tree, reader, node, name)
    expect(not given, _("{name} calls {given} (or refers to it), another exercise's loss: its terms must come from its own "
                        "branch", name=name, given=given))
    label = node.args.args[0].arg if node.args.args else ""
    expect(bool(label) and label_if.branches_on(reader, MODULE_OF[name], node, {label}),
           _("{name} has no `if` whose test depends on `{label}`, nor do the helpers it calls: this exercise branches on {over}",
             name=name, label=label or "y", over=_(over)))


@check("1", "binary_loss_if", N_("lesson's example gives 0.164252033486018"), 1,
       N_("compare each example's term with the lesson's formula for label 1 and for label 0; the result is their mean"),
       hint_for=("values",))
def binary_lesson_example(student: Student) -> None:
    got = student.call("binary_loss_if", LESSON_Y, LESSON_P)
    expect_float(got, LESSON_VALUE, rtol=LOSS_RTOL, atol=LOSS_ATOL, case="y=[1,0,0,1], p=[0.9,0.1,0.2,0.8]",
                 mistakes=binary_loss_mistakes(LESSON_Y, LESSON_P))


@check("1", "binary_loss_if", N_("matches the reference on random labels and probabilities"), 2,
       N_("compare each example's term with the lesson's formula for its label, and how the terms are combined"), visibility="hidden",
       hint_for=("values",))
def binary_random(student: Student) -> None:
    _close_all(student, "binary_loss_if", [(_("seed {seed}, N={n}", seed=seed, n=n), *binary_case(seed, n))
                                           for seed in SEEDS for n in SIZES])


@check("1", "binary_loss_if", N_("is written with an if on the label"), 1,
       N_("the lesson writes each example's term with an `if` on its label, without the given binary_loss"))
def binary_uses_if(student: Student) -> None:
    _has_if(student, "binary_loss_if", N_("each example's label"))


@check("2a", "categorical_loss_if", N_("matches the reference on random inputs"), 2,
       N_("check which class of each row contributes to the loss, the sign, and the average over rows"), hint_for=("values",))
def categorical_if_random(student: Student) -> None:
    _close_all(student, "categorical_loss_if", _categorical_cases())


@check("2a", "categorical_loss_if", N_("is written with an if over the classes"), 1,
       N_("the lesson picks each row's term with an `if` that compares each class with the row's label"))
def categorical_if_uses_if(student: Student) -> None:
    _has_if(student, "categorical_loss_if", N_("the classes of each row"))


@check("2b", "categorical_loss", N_("matches the reference on random inputs"), 2,
       N_("compare each row's term with the formula in the docstring: which classes contribute, the sign, how rows are combined"), visibility="hidden")
def categorical_random(student: Student) -> None:
    _close_all(student, "categorical_loss", _categorical_cases())


@check("2b", "categorical_loss", N_("agrees with binary_loss for two classes"), 1,
       N_("with K=2 and p2 = [1 - p, p] the two losses are the same number"))
def categorical_two_classes(student: Student) -> None:
    for seed in SEEDS:
        y, p = binary_case(seed, 50)
        p2 = np.stack([1 - p, p], axis=1)
        expected = reference().call("binary_loss", y, p)
        got = student.call("categorical_loss", y, p2)
        expect_float(got, expected, rtol=LOSS_RTOL, atol=LOSS_ATOL, case=_("seed {seed}, N={n}, K={k}", seed=seed, n=50, k=2),
                     mistakes=categorical_loss_mistakes(y, p2))
