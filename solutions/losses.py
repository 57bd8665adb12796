"""Exercises 1 and 2: binary and categorical cross-entropy in numpy."""
import numpy as np


def binary_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Binary cross-entropy, the lesson's formula (given, not an exercise).

    y: (N,) labels in {0, 1}; p: (N,) predicted P(label = 1), in (0, 1).
    Math: mean(-(y * log(p) + (1 - y) * log(1 - p))).
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def binary_loss_if(y: np.ndarray, p: np.ndarray) -> float:
    """Exercise 1: binary cross-entropy written with an `if` on each label.

    y: (N,) labels in {0, 1}; p: (N,) predicted P(label = 1), in (0, 1).
    Math: the loss of one example is -log(p) if its label is 1, else -log(1 - p);
    return the mean over the N examples as a Python float.
    Example: y=[1, 0, 0, 1], p=[0.9, 0.1, 0.2, 0.8] gives 0.164252033486018.
    Hint: loop over zip(y, p) and branch on the label.
    """
    ### BEGIN SOLUTION
    total = 0.0
    for label, prob in zip(y, p):
        if label == 1:
            total -= np.log(prob)
        else:
            total -= np.log(1 - prob)
    return float(total / len(y))
    ### END SOLUTION


def categorical_loss_if(y: np.ndarray, p: np.ndarray) -> float:
    """Exercise 2a: categorical cross-entropy written with an `if` over the classes.

    y: (N,) int labels in [0, K); p: (N, K) probabilities, rows sum to 1.
    Math: mean over rows i of -log(p[i, y[i]]); return a Python float.
    Hint: for each row, loop over the K classes and use `if k == label`.
    """
    ### BEGIN SOLUTION
    total = 0.0
    for label, row in zip(y, p):
        for k, prob in enumerate(row):
            if k == label:
                total -= np.log(prob)
    return float(total / len(y))
    ### END SOLUTION


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot encoding (given): y: (N,) int labels -> (N, K) float64 of 0s and 1s."""
    return np.eye(n_classes)[np.asarray(y, dtype=np.int64)]


def categorical_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Exercise 2b: categorical cross-entropy with one-hot encoding, sums and products.

    y: (N,) int labels in [0, K); p: (N, K) probabilities, rows sum to 1.
    Math: mean over rows of -sum_k onehot(y)[i, k] * log(p[i, k]); a Python float.
    For K = 2 it equals binary_loss(y, p[:, 1]).
    Hint: `one_hot(y, p.shape[1])` has the same shape as p; multiply, sum rows.
    """
    ### BEGIN SOLUTION
    p = np.asarray(p, dtype=np.float64)
    targets = one_hot(y, p.shape[1])
    return float(np.mean(-(targets * np.log(p)).sum(axis=1)))
    ### END SOLUTION
