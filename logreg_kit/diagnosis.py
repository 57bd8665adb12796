"""Known mistakes, recognised by their output: for each exercise function, what the common wrong
versions of it (the mistakes tests/mutants.py catalogues) would return on a check's input, and
what that says about the student's code, in words.

Everything here runs in the grading process on the check's own inputs (never in the worker, never
sent to it). A mistake's words describe what the code does ("your rows sum to one down the batch"),
never the line to type; the words are declared with N_() and said (translated) where the hint is shown.
`feedback.expect_tensor(..., mistakes=...)` and `expect_float` compare a
differing result with each mistake's output and, on a match, show the words as the hint.
"""
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .feedback import Mistakes, recognised
from .i18n import N_

SUM_NOT_MEAN = N_("your loss grows with the number of examples: it is their sum where the lesson takes the mean")
SIGN_FLIPPED = N_("your loss has the opposite sign: it adds up the log-probabilities themselves, where the loss is their negative")
NO_LOG = N_("your code subtracts each row's sum of exp, where log_softmax subtracts the log of that sum")
NEXT_CLASS = N_("your code takes the probability of the class after each label (label + 1), not the label's own")
NEXT_CLASS_LOG = N_("your code takes the log-probability of the class after each label (label + 1), not the label's own")


def _binary_terms(y: np.ndarray, p: np.ndarray, one: Callable[[np.ndarray], np.ndarray],
                  zero: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    return np.where(y == 1, one(p), zero(p))


def binary_loss_mistakes(y: np.ndarray, p: np.ndarray) -> Mistakes:
    """Binary cross-entropy, y: (N,) in {0, 1}, p: (N,) P(label 1): the known wrong versions."""
    right = lambda: _binary_terms(y, p, lambda q: -np.log(q), lambda q: -np.log(1 - q))  # noqa: E731
    return (
        (SUM_NOT_MEAN, lambda: float(right().sum())),
        (SIGN_FLIPPED, lambda: float(-right().mean())),
        (N_("your term for the examples with label 1 has its sign flipped (it adds log(p) to the loss)"),
         lambda: float(_binary_terms(y, p, np.log, lambda q: -np.log(1 - q)).mean())),
        (N_("your code swaps the two cases: it uses log(1 - p) for label 1 and log(p) for label 0"),
         lambda: float(_binary_terms(y, p, lambda q: -np.log(1 - q), lambda q: -np.log(q)).mean())),
    )


def _picked(y: np.ndarray, p: np.ndarray, shift: int = 0) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return p[np.arange(len(y)), (np.asarray(y) + shift) % p.shape[1]]


def categorical_loss_mistakes(y: np.ndarray, p: np.ndarray) -> Mistakes:
    """Categorical cross-entropy, y: (N,) labels, p: (N, K) probabilities: the known wrong versions."""
    right = lambda: -np.log(_picked(y, p))  # noqa: E731
    return (
        (SUM_NOT_MEAN, lambda: float(right().sum())),
        (SIGN_FLIPPED, lambda: float(-right().mean())),
        (NEXT_CLASS, lambda: float(-np.log(_picked(y, p, 1)).mean())),
        (N_("your code adds up over the examples (axis 0) and then averages over the classes"),
         lambda: float(right().sum() / np.shape(p)[1])),
        (N_("your loss is divided by the number of (example, class) pairs, N * K: the lesson averages over the examples only"),
         lambda: float(right().sum() / np.size(p))),
    )


def _log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Row-wise log-softmax of (N, K) from logsumexp (the grader's own, outside any tripwire)."""
    return x - torch.logsumexp(x, dim=1, keepdim=True)


def _shifted(x: torch.Tensor) -> torch.Tensor:
    return x - x.max(dim=1, keepdim=True).values


def softmax_mistakes(x: torch.Tensor) -> Mistakes:
    """softmax, x: (N, K): the known wrong versions."""
    e = lambda: torch.exp(x)  # noqa: E731
    return (
        (N_("your columns sum to one: your code normalises down the batch (dim 0), across the examples, "
         "where each row's classes should sum to one"), lambda: e() / e().sum(dim=0, keepdim=True)),
        (N_("all the entries of your output together sum to one: your code divides by the sum of the whole tensor, "
         "where each row's classes should sum to one"), lambda: e() / e().sum()),
    )


def log_softmax_mistakes(x: torch.Tensor) -> Mistakes:
    """log_softmax, x: (N, K): the known wrong versions."""
    return (
        (NO_LOG, lambda: x - x.exp().sum(dim=1, keepdim=True)),
        (NO_LOG, lambda: _shifted(x) - _shifted(x).exp().sum(dim=1, keepdim=True)),
        (N_("your output is the softmax itself (probabilities), not its log"), lambda: _log_softmax(x).exp()),
        (N_("your output is normalised down the batch (dim 0): the exp of each column sums to one, not of each row"),
         lambda: x - x.exp().sum(dim=0, keepdim=True).log()),
    )


def logreg_mistakes(w: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> Mistakes:
    """LogReg's forward with weights w (784, 10), bias b (10,), images x (N, ...): the known wrong versions."""
    z = lambda: x.reshape(len(x), -1) @ w  # noqa: E731
    return (
        (N_("your outputs are those of the model without its bias: l1_b does not reach the output"),
         lambda: z().log_softmax(dim=1)),
        (N_("your outputs are probabilities (a softmax), not log-probabilities"), lambda: _log_softmax(z() + b).exp()),
        (N_("your outputs are the raw scores x W + b, without the log_softmax"), lambda: z() + b),
        (N_("each row of your output mixes several images: a reshape or transpose spreads the batch across the rows"),
         lambda: _log_softmax(x.reshape(-1, len(x)).T @ w + b)),
    )


def weights_mistakes(seed: int, dims: tuple[int, ...]) -> Mistakes:
    """get_weights(*dims) after torch.manual_seed(seed): the known wrong versions (the same stream of
    numbers, from a generator of the grader's own seeded alike)."""
    draw = lambda how: how(dims, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    return (
        (N_("your weights are uniform draws in [0, 1) (torch.rand), where the lesson draws from a normal distribution"),
         lambda: draw(torch.rand) / dims[0]),
        (N_("your weights are not scaled: the draws are not divided by dims[0]"), lambda: draw(torch.randn)),
        (N_("your weights are divided by the last dim, where the lesson divides by the first"),
         lambda: draw(torch.randn) / dims[-1]),
    )


def nll_mistakes(log_probs: torch.Tensor, y: torch.Tensor) -> Mistakes:
    """nll_loss, log_probs: (N, K), y: (N,): the known wrong versions."""
    picked = lambda shift=0: log_probs[torch.arange(len(y)), (y + shift) % log_probs.shape[1]]  # noqa: E731
    return (
        (SUM_NOT_MEAN, lambda: -picked().sum()),
        (SIGN_FLIPPED, lambda: picked().mean()),
        (NEXT_CLASS_LOG, lambda: -picked(1).mean()),
    )


def sgd_mistakes(init: list[torch.Tensor], grads: list[list[torch.Tensor]], lr: float, step: int) -> Mistakes:
    """SGD after `step` steps (1-based) from `init` with gradients `grads`: the known wrong versions
    (each mistake gives a list of parameters)."""
    def after(rate: float, steps: int) -> list[torch.Tensor]:
        params = [p.clone() for p in init]
        for k in range(steps):
            params = [p.add(g, alpha=-rate) for p, g in zip(params, grads[k])]
        return params

    return (
        (N_("your step moves each parameter along its gradient, so the loss goes up"), lambda: after(-lr, step)),
        (N_("your step ignores lr: each parameter moves by its whole gradient"), lambda: after(1.0, step)),
        (N_("after the first step your SGD no longer updates: the params it keeps can be gone through only once "
         "(a generator is used up by the first loop)"), lambda: after(lr, 1)),
    )


def match_parameters(got: Any, mistakes: Mistakes, rtol: float, atol: float) -> str:
    """For lists of tensors (SGD's parameters): the words of the first mistake every tensor matches."""
    if not isinstance(got, (list, tuple)):
        return ""
    for words, would_give in mistakes:
        want = would_give()
        if len(want) == len(got) and all(recognised(g, ((words, lambda w=w: w),), rtol, atol) for g, w in zip(got, want)):
            return words
    return ""


NO_UPDATE = N_("your model's weights never change during training: every loss is the starting model's on that "
               "minibatch (the step finds no gradient, or the gradients are cleared before it)")
ONE_ORDER = N_("every epoch goes over the minibatches in the first epoch's order: your loop does not go over train_dl afresh each epoch")
DATASET_ORDER = N_("every epoch goes over the examples in the dataset's own order, not in the order train_dl gives")
