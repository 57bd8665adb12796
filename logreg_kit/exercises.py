"""The exercises of the lesson, each declared once: id, title, where its functions live, its points,
what it replaces and what it may use (the from-scratch allowlist, read by logreg_kit/scratch.py),
its notebook text, its README line, whether it is an extension, and its hint.

Everything else reads these declarations: the grader's test list (`grader/test_*.py` selects the
checks by module), the stubs (logreg_kit/build.py), the notebook (logreg_kit/notebook_build.py), the
student bundle and its totals (logreg_kit/release.py) and the README's tables (logreg_kit/readme_build.py);
tests/test_declared.py fails when an exercise is missing from any of them. To add an exercise, see
docs/adding-an-exercise.md.

Exercise ids are the thread through stubs, checks, messages and reports
("Exercise 3: softmax" in a stub is exercise "3" here and "3 softmax: ..." in a report).
This module is the bottom layer: it imports nothing of the kit but the message layer, and no torch.
"""
from dataclasses import dataclass

from .i18n import N_, _

# Time limits are CPU time (user + system, all threads) of the process running the student's code, so
# a busy machine (a grading server at a deadline: load 8-14 on 2 cores) never costs an honest answer.
PROBE_TIMEOUT_S = 60.0  # CPU seconds for one call into student code
IMPORT_TIMEOUT_S = 10.0  # CPU seconds to import a submission's modules (torch is already imported): a loop fails fast
WALL_FACTOR = 10.0  # the far wall-clock backstop, as a multiple of the CPU limit: a call that sleeps or blocks ...
MIN_CPU_SHARE = 0.02  # ... is one that got less than this share of a core since it started (a working call on a
# machine with load 14 on 2 cores still gets about 0.14); a call above it runs on until its CPU limit


@dataclass(frozen=True)
class Exercise:
    """One gradable unit, declared once.

    id: "5b"; title: said in stubs, reports and the notebook; module: the file its names live in;
    names: the functions and classes it defines (() for an exercise that only grades others' code, 5e);
    points: its total, which its checks' points must add up to (tests/test_declared.py);
    markdown: the notebook's text above its cell; readme: what the README's table says you write;
    replaces: library functions it must not call; may_use: the from-scratch allowlist (None: none);
    extension: graded on its own points after the exercise that owns its names (no cell of its own);
    hint: a hint about the whole exercise ("" for none; each check has its own hint too).
    """

    id: str
    title: str
    module: str
    names: tuple[str, ...]
    points: float
    markdown: str
    readme: str
    replaces: tuple[str, ...] = ()
    may_use: frozenset[str] | None = None
    extension: bool = False
    hint: str = ""


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

# --- The from-scratch allowlists -----------------------------------------------------------------
# What the code of a from-scratch exercise may reach in a library, declared once here, beside the
# exercises. Entries are dotted library names (`torch.exp`, `math.log`) and, after a dot, names of
# attributes and methods that torch.Tensor, nn.Module or numpy.ndarray define (`.exp` allows
# `x.exp()` on any value the reader cannot type). Anything else a from-scratch exercise's code
# reaches in a library loses its points (logreg_kit/scratch.py says how each reference is read).
# The lesson's primitives, plus what the correct-variants catalogue (tests/variants.py) shows:
_TORCH_FUNCTIONS = tuple(f"torch.{name}" for name in (
    "exp", "log", "log1p", "sum", "mean", "max", "amax", "min", "amin", "argmax", "matmul", "mm", "einsum", "rand",
    "logsumexp", "zeros", "zeros_like", "ones", "ones_like", "empty", "full", "full_like", "randn", "normal",
    "tensor", "as_tensor", "from_numpy", "arange", "eye", "stack", "cat", "gather", "where", "clamp",
    "flatten", "reshape", "unsqueeze", "squeeze", "add", "sub", "mul", "div", "neg", "abs", "sqrt", "pow",
    "no_grad", "inference_mode", "enable_grad", "set_grad_enabled", "is_tensor", "Tensor", "Size",
    "reciprocal", "empty_like", "true_divide", "broadcast_to", "take_along_dim", "diag", "nanmean", "square",
    "maximum", "minimum", "sign", "exp2", "log2", "log10", "rand_like", "randn_like", "manual_seed", "e", "pi",
    "inf", "nan",
    "float32", "float64", "float", "double", "int64", "long", "bool",
))
_TORCH_NN = ("torch.nn.Parameter", "torch.nn.Module", "torch.nn.init.normal_", "torch.nn.init.uniform_",
             "torch.nn.init.zeros_", "torch.nn.init.xavier_uniform_", "torch.nn.init.xavier_normal_",
             "torch.nn.functional.one_hot",
             "torch.utils.data.DataLoader",
             "torch.utils.data.TensorDataset")
_TENSOR_METHODS = tuple(f".{name}" for name in (
    "exp", "exp_", "log", "log_", "log1p", "sum", "mean", "max", "amax", "min", "amin", "argmax", "values",
    "indices", "logsumexp", "matmul", "mm", "add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_", "neg",
    "abs", "pow", "sqrt", "clamp", "clamp_min", "gather", "index_select", "view", "view_as", "reshape",
    "flatten", "unsqueeze", "squeeze", "expand", "expand_as", "t", "T", "transpose", "contiguous", "size",
    "shape", "dim", "ndim", "numel", "dtype", "device", "to", "type", "float", "double", "long", "int", "bool",
    "item", "tolist", "numpy", "cpu", "detach", "clone", "data", "grad", "requires_grad", "requires_grad_",
    "zero_", "fill_", "copy_", "backward", "new_zeros", "new_ones", "new_tensor", "eq", "ne", "lt", "gt", "le",
    "ge", "all", "any", "normal_", "uniform_", "nansum",
))
_MODULE_METHODS = tuple(f".{name}" for name in (
    "train", "eval", "training", "parameters", "named_parameters", "register_parameter", "register_buffer",
    "zero_grad", "forward",
))
_PLAIN_PYTHON = (
    "math.log", "math.exp", "math.sqrt", "math.inf", "math.prod", "math.isfinite", "math.e", "math.pi",
    "typing.cast", "functools.wraps",
    "functools.reduce", "functools.partial", "itertools.chain", "itertools.chain.from_iterable", "itertools.islice", "itertools.count",
    "itertools.repeat", "itertools.product", "operator.add", "operator.sub", "operator.mul",
    "operator.truediv", "operator.neg", "operator.itemgetter", "dataclasses.dataclass", "dataclasses.field",
    "collections.namedtuple", "collections.deque", "collections.defaultdict",
)
# Modules of types and annotations: every name in them is allowed (`typing.cast`, `collections.abc.Iterable`).
TYPING_MODULES = ("typing.", "collections.abc.")
# A torch function's name is also allowed as a method (`x.where(...)`; `torch.where` where the reader
# cannot resolve `torch`, as in a notebook kernel's self-check, which reads functions without imports).
_AS_METHODS = tuple("." + name.split(".")[-1] for name in _TORCH_FUNCTIONS)
LESSON: frozenset[str] = frozenset(_TORCH_FUNCTIONS + _AS_METHODS + _TORCH_NN + _TENSOR_METHODS + _MODULE_METHODS + _PLAIN_PYTHON)
# The in-place multi-tensor updates are plain arithmetic on a list: the SGD step may use them.
FOREACH = ("torch._foreach_add_", "torch._foreach_sub_", "torch._foreach_mul_")

# Modules a submission may import (any file, anywhere in it), besides its own (relative imports).
ALLOWED_IMPORTS: frozenset[str] = frozenset((
    "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.utils.data", "numpy", "math",
    "functools", "itertools", "operator", "typing", "dataclasses", "collections", "collections.abc",
    "numbers", "abc", "__future__", "warnings", "random",
))

# The notebook's heading text of each module (its part of the lesson), in lesson order.
MODULE_MARKDOWN: dict[str, str] = {
    "losses": N_("## Part 1: cross-entropy in numpy\n\n"
                 "A classifier outputs probabilities; cross-entropy measures how much probability it gave the right "
                 "answer. `binary_loss` below is the lesson's formula, given to you."),
    "softmax": N_("## Part 2: softmax\n\nThe model produces one score (logit) per class; softmax turns the "
                  "scores of each row into probabilities."),
    "logreg": N_("## Part 3: the model"),
    "sgd": N_("## Part 4: training"),
}

EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "1", N_("binary cross-entropy with an if"), "losses", ("binary_loss_if",), 5,
        markdown=N_("Write the binary cross-entropy again, this time with an `if` on each label: an example with "
                    "label 1 costs $-\\log p$, one with label 0 costs $-\\log(1-p)$; return the mean. "
                    "For `y=[1, 0, 0, 1]`, `p=[0.9, 0.1, 0.2, 0.8]` you should get 0.16425."),
        readme=N_("`binary_loss_if(y, p)`: binary cross-entropy with an `if` on the label "
                  "(`[1,0,0,1]`, `[0.9,0.1,0.2,0.8]` give `0.164252033486018`)"),
    ),
    Exercise(
        "2a", N_("categorical cross-entropy with an if"), "losses", ("categorical_loss_if",), 4,
        markdown=N_("With $K$ classes, `p` has one row of $K$ probabilities per example and the loss of row $i$ is "
                    "$-\\log p_{i, y_i}$. Write it with an `if` over the classes of each row."),
        readme=N_("`categorical_loss_if(y, p)`: categorical cross-entropy with an `if` over the classes"),
    ),
    Exercise(
        "2b", N_("categorical cross-entropy with one-hot"), "losses", ("categorical_loss",), 4,
        markdown=N_("The same loss without a loop: with the one-hot matrix $t$ of the labels, the loss is the mean "
                    "over rows of $-\\sum_k t_{i k} \\log p_{i k}$. For two classes it must agree with `binary_loss`."),
        readme=N_("`categorical_loss(y, p)`: the same with one-hot sums and products (equals `binary_loss` for K=2)"),
    ),
    Exercise(
        "3", N_("softmax and log_softmax"), "softmax", ("softmax", "log_softmax"), 12,
        markdown=N_("$\\mathrm{ softmax }(x)_{i j} = e^{x_{i j}} / \\sum_k e^{x_{i k}}$, row by row, and "
                    "`log_softmax(x)` its logarithm. Check that each row of your softmax sums to one. "
                    "Extension (its own points): logits as large as 1e4 overflow `exp`; subtract each row's maximum "
                    "first and `log_softmax` stays finite."),
        readme=N_("`softmax(x)` and `log_softmax(x)` from `exp` and `sum`"),
        replaces=_SOFTMAXES, may_use=LESSON,
    ),
    Exercise(
        "3x", N_("stable log_softmax"), "softmax", ("log_softmax",), 2,
        markdown=N_("This cell grades the extension of Exercise 3."),
        readme=N_("extension: your `log_softmax(x)` stays finite and right for logits up to 1e4"),
        replaces=_SOFTMAXES, may_use=LESSON, extension=True,
    ),
    Exercise(
        "4", N_("get_weights and LogReg"), "logreg", ("get_weights", "LogReg"), 12,
        markdown=N_("Logistic regression is one matrix product and a log-softmax: "
                    "$\\log\\mathrm{ softmax }(x W + b)$ with $W$ of shape (784, 10) and $b$ of shape (10,). "
                    "`get_weights` makes a trainable parameter; `LogReg` registers two of them and flattens each image."),
        readme=N_("`get_weights(*dims)` and `LogReg(nn.Module)`: `view`, `x @ w + b`, your `log_softmax`; no `nn.Linear`"),
        replaces=_SOFTMAXES + ("torch.nn.Linear", "torch.nn.functional.linear"), may_use=LESSON,
    ),
    Exercise(
        "5a", N_("negative log-likelihood"), "sgd", ("nll_loss",), 4,
        markdown=N_("The negative log-likelihood of log-probabilities $L$ and labels $y$ is $-\\frac1N\\sum_i L_{i,y_i}$."),
        readme=N_("`nll_loss(log_probs, y)`"),
        replaces=_LOSSES, may_use=LESSON,
    ),
    Exercise(
        "5b", N_("SGD optimiser"), "sgd", ("SGD",), 6,
        markdown=N_("Stochastic gradient descent: after `backward()`, each parameter moves against its gradient, "
                    "$p \\leftarrow p - \\eta\\, \\nabla p$; `zero_grad` clears the gradients before the next minibatch."),
        readme=N_("`SGD(params, lr)` with `step()` and `zero_grad()`, without `torch.optim`"),
        replaces=_OPTIM + _OPTIM_STEP, may_use=LESSON | frozenset(FOREACH),
    ),
    Exercise(
        "5c", N_("training loop"), "sgd", ("fit",), 4,
        markdown=N_("The training loop: for every epoch and minibatch, compute the loss, backpropagate, step, clear "
                    "the gradients, and remember the loss."),
        readme=N_("`fit(model, train_dl, loss_fn, opt, epochs)`, returning every minibatch loss"),
        replaces=_OPTIM, may_use=LESSON,
    ),
    Exercise(
        "5d", N_("predict and accuracy"), "sgd", ("predict", "accuracy"), 3,
        markdown=N_("`predict` runs the model without building a graph; `accuracy` is the fraction of rows whose "
                    "largest score is at the true label."),
        readme=N_("`predict(model, x)` and `accuracy(preds, y)` via `argmax`"),
    ),
    Exercise(
        "5e", N_("the pipeline trains past the threshold"), "sgd", (), 3,
        markdown=N_("Graded: your pipeline, trained as above, must reach at least 83% validation accuracy."),
        readme=N_("your LogReg, SGD and fit together reach 83% validation accuracy (lr 0.01, 5 epochs, batch 64)"),
    ),
    Exercise(
        "5f", N_("weight decay in SGD"), "sgd", ("SGD",), 5,
        markdown=N_("This cell grades the extension of Exercise 5b: weight decay, the L2 penalty "
                    "$\\frac{\\lambda}{2}\\lVert p \\rVert^2$ added to the loss. With `SGD(params, lr, weight_decay=wd)`, "
                    "each step is $p \\leftarrow p - \\eta\\,(\\nabla p + \\lambda p)$, with the $p$ of before the step; "
                    "`weight_decay=0` is plain SGD."),
        readme=N_("extension: `SGD(params, lr, weight_decay)`, each step `p - lr * (grad + weight_decay * p)`, "
                  "without `torch.optim`"),
        replaces=_OPTIM + _OPTIM_STEP, may_use=LESSON | frozenset(FOREACH), extension=True,
    ),
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
    """The exercise's label as an identifier, always English: "3x" -> "3 (extension)". The stubs'
    `NotImplementedError("Exercise 3 (extension): ...")` (which the grader recognises), the
    notebook's cell marks and every check's `name` (test ids, gradebook columns) are written with it."""
    ex = BY_ID[ex_id]
    return f"{ex.id.rstrip('x')} (extension)" if ex.extension else ex.id


EXTENSION_LABEL = N_("{number} (extension)")


def said_label(ex_id: str) -> str:
    """The exercise's label for a reader, in the language spoken now: "3x" -> "3 (extension)", "3（扩展）"."""
    ex = BY_ID[ex_id]
    return _(EXTENSION_LABEL, number=ex.id.rstrip("x")) if ex.extension else ex.id
