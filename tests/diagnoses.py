"""What the first failure message of each mutant (tests/mutants.py) must say about its mistake, in
words (issue 16: feedback that diagnoses). A mutant not listed here must show its own declared
message in its first failure. `tests/test_mutants.py` checks both, and that no message hands over
the fix as code or as "do X, not Y" (FIX_PATTERNS).
"""
import re

FIRST_MESSAGE_NAMES: dict[str, str] = {
    "SGD weight decay: the start's parameters decayed when the gradient is non-zero, on a step of 1.5 lr "
    "(5f graded against the student's own step)": "[lr=0.1, weights after step 1]",
    "binary: wrong sign for label 1": "label 1 has its sign flipped",
    "binary: log(p) and log(1-p) swapped": "swaps the two cases",
    "binary: sum instead of mean": "their sum where the lesson takes the mean",
    "binary: returns a 0-d array, not a float": "expected a Python float, got ndarray",
    "categorical if: off-by-one class index": "the class after each label",
    "categorical if: sum instead of mean": "their sum where the lesson takes the mean",
    "categorical: sum instead of mean": "their sum where the lesson takes the mean",
    "categorical: one-hot summed on the wrong axis": "adds up over the examples (axis 0)",
    "categorical: missing minus": "opposite sign",
    "categorical: one-hot off by one class": "the class after each label",
    "categorical: int labels as float": "arrays used as indices must be of integer",
    "softmax: over dim 0": "normalises down the batch (dim 0)",
    "softmax: sums the whole tensor": "divides by the sum of the whole tensor",
    "softmax: hard-wired to the CPU": "on one fixed device",
    "log_softmax: no log": "subtracts each row's sum of exp",
    "log_softmax: naive, overflows for large logits": "overflows",
    "log_softmax: softmax(x).log() (no extension)": "overflows",
    "get_weights: uniform rand instead of randn": "uniform draws",
    "LogReg: weights (10, 784) transposed": "'l1_w': ((10, 784)",
    "LogReg: missing bias": "without its bias",
    "LogReg: view that mixes the batch": "mixes several images",
    "LogReg: returns softmax, not log_softmax": "probabilities (a softmax), not log-probabilities",
    "nll_loss: sum instead of mean": "their sum where the lesson takes the mean",
    "nll_loss: missing minus": "opposite sign",
    "nll_loss: off-by-one label": "the class after each label",
    "SGD: += instead of -=": "along its gradient",
    "SGD: lr ignored": "ignores lr",
    "SGD: keeps the params generator": "gone through only once",
    "fit: forgets backward": "weights never change",
    "fit: zeroes before step": "weights never change",
    "fit: never shuffles (one fixed order for every epoch)": "the first epoch's order",
    "fit: builds its own unshuffled loader": "the dataset's own order",
    "accuracy: argmax over dim 0": "must match the size of tensor",
}

# Hints of causes a mutant does not have: words that must not appear in any of its hints (issue 16: a
# dtype hint on a softmax that fails on values; "got no gradient" on every check of a missing bias).
UNRELATED_HINTS: dict[str, tuple[str, ...]] = {
    "softmax: over dim 0": ("dtype", "device"),
    "softmax: sums the whole tensor": ("dtype", "device"),
    "LogReg: missing bias": ("gradient", "flatten", "view"),
    "nll_loss: returns a float": ("index", "sign"),
    "get_weights: float64 weights": ("distribution", "scaling"),
}

# Feedback that dictates: an imperative "do X, not Y", "do not ...", an assignment or a dim= argument.
FIX_PATTERNS = (
    re.compile(r"\b(normalise|use|return|take|call|keep|iterate|divide|create|switch|run|store|flatten|move|"
               r"branch|average|sum)\b[^;:]*, not\b", re.IGNORECASE),
    re.compile(r"\bdo not\b|\bdon't\b", re.IGNORECASE),
    re.compile(r"\w\s*=\s*[\w.]+\("),
    re.compile(r"\bdim\s*=\s*-?\d"),
)


def first_message(feedback: str) -> str:
    """The first failed check's message in a report's joined failure messages."""
    return feedback.split("\nExercise ", 1)[0]


def dictates(text: str) -> list[str]:
    """The patterns of FIX_PATTERNS found in `text`."""
    return [p.pattern for p in FIX_PATTERNS if p.search(text)]
