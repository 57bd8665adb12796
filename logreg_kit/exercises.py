"""The exercises of the lesson: ids, titles, where each function lives, what each replaces and
what each may use (the from-scratch allowlist, read by logreg_kit/scratch.py).

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
    may_use: frozenset[str] | None = None  # the from-scratch allowlist (None: no call allowlist)


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

EXERCISES: tuple[Exercise, ...] = (
    Exercise("1", "binary cross-entropy with an if", "losses", ("binary_loss_if",)),
    Exercise("2a", "categorical cross-entropy with an if", "losses", ("categorical_loss_if",)),
    Exercise("2b", "categorical cross-entropy with one-hot", "losses", ("categorical_loss",)),
    Exercise("3", "softmax and log_softmax", "softmax", ("softmax", "log_softmax"), _SOFTMAXES, may_use=LESSON),
    Exercise(
        "3x",
        "stable log_softmax (extension)",
        "softmax",
        ("log_softmax",),
        _SOFTMAXES,
        extension=True,
        may_use=LESSON,
    ),
    Exercise(
        "4",
        "get_weights and LogReg",
        "logreg",
        ("get_weights", "LogReg"),
        _SOFTMAXES + ("torch.nn.Linear", "torch.nn.functional.linear"),
        may_use=LESSON,
    ),
    Exercise("5a", "negative log-likelihood", "sgd", ("nll_loss",), _LOSSES, may_use=LESSON),
    Exercise("5b", "SGD optimiser", "sgd", ("SGD",), _OPTIM + _OPTIM_STEP, may_use=LESSON | frozenset(FOREACH)),
    Exercise("5c", "training loop", "sgd", ("fit",), _OPTIM, may_use=LESSON),
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
