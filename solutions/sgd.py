"""Exercise 5: the loss, a hand-written SGD optimiser, the training loop, evaluation."""
from collections.abc import Callable, Iterable

import torch
from torch import nn


def nll_loss(log_probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Exercise 5a: mean negative log-likelihood.

    log_probs: (N, K) float log-probabilities; y: (N,) int64 labels in [0, K)
    -> 0-d tensor (keeps the autograd graph). Math: -mean_i log_probs[i, y[i]].
    Hint: pick each row's entry at its label with one index tensor per dimension; no F.nll_loss.
    """
    ### BEGIN SOLUTION
    return -log_probs[torch.arange(len(y)), y].mean()
    ### END SOLUTION


class SGD:
    """Exercise 5b: plain stochastic gradient descent, without torch.optim.

    SGD(params, lr): params is an iterable of tensors with requires_grad.
    step(): p <- p - lr * p.grad for every param with a gradient (no autograd).
    zero_grad(): clears every param's gradient.

    Extension 5f: weight decay (the L2 penalty wd/2 * ||p||^2 added to the loss). Given a
    weight decay wd as the third argument, step() is p <- p - lr * (p.grad + wd * p), with the p of
    before the step; a decay of 0 (the default) is plain SGD.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        ### BEGIN SOLUTION
        self.params = list(params)
        self.lr = lr
        self.weight_decay = weight_decay
        ### END SOLUTION

    def step(self) -> None:
        """Update each parameter in place against its gradient (plus the decay wd * p), scaled by lr, with autograd off."""
        ### BEGIN SOLUTION
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    if self.weight_decay:
                        p -= self.lr * self.weight_decay * p
                    p -= self.lr * p.grad
        ### END SOLUTION

    def zero_grad(self) -> None:
        """Reset every parameter's gradient (set it to None, as torch.optim does)."""
        ### BEGIN SOLUTION
        for p in self.params:
            p.grad = None
        ### END SOLUTION


def fit(
    model: nn.Module,
    train_dl: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    opt: SGD,
    epochs: int,
) -> list[float]:
    """Exercise 5c: the training loop.

    train_dl yields (xb: (B, 784) float32, yb: (B,) int64) minibatches.
    For each epoch and minibatch, in this order: the loss of the model's outputs, backpropagation,
    an optimiser step, clearing the gradients. Returns the loss of every minibatch, as Python
    floats, in order.
    """
    ### BEGIN SOLUTION
    losses = []
    model.train()
    for _ in range(epochs):
        for xb, yb in train_dl:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
    return losses
    ### END SOLUTION


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Exercise 5d: the model's outputs for x, in eval mode and without autograd.

    x: (N, 784) float32 -> (N, 10) float32 log-probabilities (no grad_fn).
    Hint: evaluation mode, and no gradient tracking (see nn.Module.eval and torch.no_grad).
    """
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return model(x)
    ### END SOLUTION


def accuracy(preds: torch.Tensor, y: torch.Tensor) -> float:
    """Exercise 5d: fraction of rows whose argmax is the label.

    preds: (N, K) scores; y: (N,) int64 labels -> a Python float in [0, 1].
    Math: the share of rows i whose largest score preds[i, k] is at k = y[i].
    """
    ### BEGIN SOLUTION
    return (preds.argmax(dim=1) == y).float().mean().item()
    ### END SOLUTION
