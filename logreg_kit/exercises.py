"""The exercises of the lesson: ids, titles, where each function lives, what each replaces.

Exercise ids are the thread through stubs, checks, messages and reports
("Exercise 3: softmax" in a stub is exercise "3" here and "3 softmax: ..." in a report).
"""
from dataclasses import dataclass

# Time limits are CPU time (user + system, all threads) of the process running the student's code, so
# a busy machine (a grading server at a deadline: load 8-14 on 2 cores) never costs an honest answer.
PROBE_TIMEOUT_S = 60.0  # CPU seconds for one call into student code
IMPORT_TIMEOUT_S = 10.0  # CPU seconds to import a submission's modules (torch is already imported): a loop fails fast
WALL_FACTOR = 10.0  # the far wall-clock backstop, as a multiple of the CPU limit: a call that sleeps or blocks ...
MIN_CPU_SHARE = 0.02  # ... is one that got less than this share of a core since it started (a working call on a
# machine with load 14 on 2 cores still gets about 0.14); a call above it runs on until its CPU limit


@dataclass(frozen=True)
class Exercise:
    """One gradable unit: its id, title, the names it defines and the module they live in."""

    id: str
    title: str
    module: str
    names: tuple[str, ...]
    replaces: tuple[str, ...] = ()  # library functions this exercise must not call
    extension: bool = False


_SOFTMAXES = (
    "torch.softmax",
    "torch.log_softmax",
    "torch.Tensor.softmax",
    "torch.Tensor.log_softmax",
    "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax",
    "torch.special.softmax",
    "torch.special.log_softmax",
    "torch.nn.Softmax",
    "torch.nn.LogSoftmax",
)
_LOSSES = (
    "torch.nn.functional.nll_loss",
    "torch.nn.functional.cross_entropy",
    "torch.nn.NLLLoss",
    "torch.nn.CrossEntropyLoss",
)
_OPTIM = ("torch.optim.Optimizer", "torch.optim.SGD")
# The functional update behind torch.optim.SGD.step: banned where the student's SGD steps (5b), not
# in fit (5c), whose loop steps the kit's own torch.optim.SGD.
_OPTIM_STEP = ("torch.optim.sgd.sgd", "torch.optim._functional.sgd")

# Kernels (aten op names, overload stripped) behind the replaced library functions, by their public name
# (the runtime tripwire and the static rule both read it).
KERNELS: dict[str, str] = {
    "_softmax": "torch.softmax",
    "softmax": "torch.softmax",
    "_log_softmax": "torch.log_softmax",
    "log_softmax": "torch.log_softmax",
    "_softmax_backward_data": "torch.softmax",
    "_log_softmax_backward_data": "torch.log_softmax",
    "linear": "torch.nn.functional.linear",
    "nll_loss": "torch.nn.functional.nll_loss",
    "nll_loss_forward": "torch.nn.functional.nll_loss",
    "nll_loss2d_forward": "torch.nn.functional.nll_loss",
    "nll_loss_nd": "torch.nn.functional.nll_loss",
    "cross_entropy_loss": "torch.nn.functional.cross_entropy",
}

EXERCISES: tuple[Exercise, ...] = (
    Exercise("1", "binary cross-entropy with an if", "losses", ("binary_loss_if",)),
    Exercise("2a", "categorical cross-entropy with an if", "losses", ("categorical_loss_if",)),
    Exercise("2b", "categorical cross-entropy with one-hot", "losses", ("categorical_loss",)),
    Exercise("3", "softmax and log_softmax", "softmax", ("softmax", "log_softmax"), _SOFTMAXES),
    Exercise(
        "3x",
        "stable log_softmax (extension)",
        "softmax",
        ("log_softmax",),
        _SOFTMAXES,
        extension=True,
    ),
    Exercise(
        "4",
        "get_weights and LogReg",
        "logreg",
        ("get_weights", "LogReg"),
        _SOFTMAXES + ("torch.nn.Linear", "torch.nn.functional.linear"),
    ),
    Exercise("5a", "negative log-likelihood", "sgd", ("nll_loss",), _LOSSES),
    Exercise("5b", "SGD optimiser", "sgd", ("SGD",), _OPTIM + _OPTIM_STEP),
    Exercise("5c", "training loop", "sgd", ("fit",), _OPTIM),
    Exercise("5d", "predict and accuracy", "sgd", ("predict", "accuracy")),
    Exercise("5e", "the pipeline trains past the threshold", "sgd", ()),
)

BY_ID: dict[str, Exercise] = {ex.id: ex for ex in EXERCISES}

# Every public name of the exercise modules, given or exercise, and its module.
MODULE_OF: dict[str, str] = {
    "binary_loss": "losses",
    "one_hot": "losses",
    **{name: ex.module for ex in EXERCISES for name in ex.names},
}
MODULES: tuple[str, ...] = ("losses", "softmax", "logreg", "sgd")


def exercise_of(qualname: str) -> Exercise:
    """The exercise that a function or method belongs to ("LogReg.forward" -> "4")."""
    top = qualname.split(".")[0]
    for ex in EXERCISES:
        if top in ex.names and not ex.extension:
            return ex
    raise KeyError(f"{qualname} belongs to no exercise")


def label(ex_id: str) -> str:
    """Human label of an exercise id: "3x" -> "3 (extension)"."""
    ex = BY_ID[ex_id]
    return f"{ex.id.rstrip('x')} (extension)" if ex.extension else ex.id
