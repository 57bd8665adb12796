"""Exercise 4: logistic regression as an nn.Module, without nn.Linear."""
import torch
from torch import nn

from .softmax import log_softmax


def get_weights(*dims: int) -> nn.Parameter:
    """Exercise 4: a trainable tensor of normal noise scaled by the first dim.

    dims: the shape, e.g. get_weights(784, 10) -> (784, 10) float32 nn.Parameter.
    Math: w ~ N(0, 1) in the shape dims (one draw from torch's generator), divided by dims[0].
    Hint: a plain tensor is not registered by a Module: see torch.nn.Parameter.
    """
    ### BEGIN SOLUTION
    return nn.Parameter(torch.randn(dims) / dims[0])
    ### END SOLUTION


class LogReg(nn.Module):
    """Exercise 4: multinomial logistic regression for 28x28 digits.

    Parameters: l1_w (784, 10) and l1_b (10,), both from get_weights: 7,850 in all.
    forward(x): x: (N, 784), (N, 28, 28) or (N, 1, 28, 28) float32
    -> (N, 10) float32 log-probabilities. Math: log_softmax(x W + b), x flattened to (N, 784), W = l1_w, b = l1_b.
    """

    def __init__(self) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.l1_w = get_weights(28 * 28, 10)
        self.l1_b = get_weights(10)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 784) or (N, [1,] 28, 28) float32 -> (N, 10) log-probabilities.

        Hint: flatten each image to one row, batch dimension first (see Tensor.view); use
        this lesson's own log_softmax (no nn.Linear, nn.LogSoftmax or F.log_softmax).
        """
        ### BEGIN SOLUTION
        x = x.view(x.size(0), -1)
        return log_softmax(x @ self.l1_w + self.l1_b)
        ### END SOLUTION
