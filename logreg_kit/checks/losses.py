"""Checks for exercises 1, 2a and 2b: cross-entropy in numpy."""
import ast

import numpy as np

from ..feedback import FLOAT64_ATOL, FLOAT64_RTOL, expect, expect_float
from .registry import Student, check, reference

LESSON_Y = np.array([1, 0, 0, 1])
LESSON_P = np.array([0.9, 0.1, 0.2, 0.8])
LESSON_VALUE = 0.164252033486018  # the lesson's worked example
SEEDS = (0, 1, 2)
SIZES = (1, 7, 100)
CATEGORICAL_SHAPES = ((1, 2), (5, 3), (64, 10))


def binary_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.uniform(0.01, 0.99, n)


def categorical_case(seed: int, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return rng.integers(0, shape[1], shape[0]), p


def _close(student: Student, name: str, y: np.ndarray, p: np.ndarray, case: str) -> None:
    expected = reference().call(name, y, p)
    expect_float(student.call(name, y, p), expected, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL, case=case)


def _has_if(student: Student, name: str) -> None:
    node = student.function_node(name)
    expect(node is not None, f"could not find `def {name}` in losses.py")
    branches = [n for n in ast.walk(node) if isinstance(n, (ast.If, ast.IfExp, ast.match_case))
                or (isinstance(n, ast.comprehension) and n.ifs)]
    expect(bool(branches), f"{name} has no `if`: this exercise asks you to branch on the label")
    calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    expect("binary_loss" not in calls, f"{name} calls binary_loss: write the loss yourself")


@check("1", "binary_loss_if", "lesson's example gives 0.164252033486018", 1,
       "compare each example's term with the lesson's formula for label 1 and for label 0; the result is their mean")
def binary_lesson_example(student: Student) -> None:
    got = student.call("binary_loss_if", LESSON_Y, LESSON_P)
    expect_float(got, LESSON_VALUE, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL, case="y=[1,0,0,1], p=[0.9,0.1,0.2,0.8]")


@check("1", "binary_loss_if", "matches the reference on random labels and probabilities", 2,
       "average over the examples (divide by N), and mind the minus sign", visibility="hidden")
def binary_random(student: Student) -> None:
    for seed in SEEDS:
        for n in SIZES:
            _close(student, "binary_loss_if", *binary_case(seed, n), case=f"seed {seed}, N={n}")


@check("1", "binary_loss_if", "is written with an if on the label", 1,
       "branch on each example's label with an `if` in binary_loss_if itself; do not call binary_loss")
def binary_uses_if(student: Student) -> None:
    _has_if(student, "binary_loss_if")


@check("2a", "categorical_loss_if", "matches the reference on random inputs", 2,
       "check which class of each row contributes to the loss, the sign, and the average over rows")
def categorical_if_random(student: Student) -> None:
    for seed in SEEDS:
        for shape in CATEGORICAL_SHAPES:
            _close(student, "categorical_loss_if", *categorical_case(seed, shape), case=f"seed {seed}, p: {shape}")


@check("2a", "categorical_loss_if", "is written with an if over the classes", 1,
       "this exercise asks for an `if` over the classes of each row")
def categorical_if_uses_if(student: Student) -> None:
    _has_if(student, "categorical_loss_if")


@check("2b", "categorical_loss", "matches the reference on random inputs", 2,
       "check the axis you sum over (the classes), the average over rows and the sign", visibility="hidden")
def categorical_random(student: Student) -> None:
    for seed in SEEDS:
        for shape in CATEGORICAL_SHAPES:
            _close(student, "categorical_loss", *categorical_case(seed, shape), case=f"seed {seed}, p: {shape}")


@check("2b", "categorical_loss", "agrees with binary_loss for two classes", 1,
       "with K=2 and p2 = [1 - p, p] the two losses are the same number")
def categorical_two_classes(student: Student) -> None:
    for seed in SEEDS:
        y, p = binary_case(seed, 50)
        p2 = np.stack([1 - p, p], axis=1)
        expected = reference().call("binary_loss", y, p)
        got = student.call("categorical_loss", y, p2)
        expect_float(got, expected, rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL, case=f"seed {seed}, N=50, K=2")
