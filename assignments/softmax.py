# Exercise file: replace each `raise NotImplementedError(...)` with your code.
# (Generated from solutions/softmax.py by `python -m logreg_kit build`.)
"""Exercise 3: softmax and log-softmax from scratch in torch."""
import torch


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Exercise 3: row-wise softmax.

    x: (N, K) float logits -> (N, K) probabilities, same dtype and device, rows sum to 1.
    Math: softmax(x)[i, j] = exp(x[i, j]) / sum_k exp(x[i, k]).
    Hint: sum over dim=1 and keep the shape so the division broadcasts; no torch.softmax or F.softmax.
    """
    raise NotImplementedError("Exercise 3: softmax")


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Exercise 3: row-wise log of the softmax.

    x: (N, K) float logits -> (N, K) log-probabilities, same dtype and device.
    Math: log_softmax(x)[i, j] = x[i, j] - log(sum_k exp(x[i, k])).
    Hint: the log of your softmax earns the exercise's points. Extension: log_softmax(x - c)
    equals log_softmax(x) for a constant c per row; choose c so that exp stays finite for logits up to 1e4.
    """
    raise NotImplementedError("Exercise 3: log_softmax")
