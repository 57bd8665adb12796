"""The correct-variants catalogue: the reference with one correct but unusual rewrite each.

The mutants (tests/mutants.py) show that wrong answers lose points; these show that right answers
written another way do not: numpy scalars instead of Python floats, other loop shapes, `if` inside a
comprehension, `match`, a helper from the student's own module, `iter`/`next` over the loader, ...
`tests/test_variants.py` grades every variant in every route (in-process, sandboxed, the notebook
converted and sandboxed as nbgrader's KitGrade does, and the notebook kernel's self-check) and asserts
full marks, with the same verdict for every check in every route.

A variant is a set of text edits to solutions/ (as for mutants), the exercises it rewrites (the checks
of those, and of 5e when the pipeline uses them, are graded), and whether it can be written in the
notebook (a rewrite that needs the package, a relative import or an extra file, cannot).
"""
import ast
from dataclasses import dataclass

from logreg_kit.build import BEGIN, END
from logreg_kit.paths import SOLUTIONS

Edits = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class Variant:
    name: str
    edits: Edits
    rewrites: frozenset[str]
    notebook: bool = True
    files: tuple[tuple[str, str], ...] = ()  # extra files of the submission folder: (name, text)
    cell_head: str = ""  # text that opens the rewritten exercise's solution cell in the notebook routes

    @property
    def graded(self) -> frozenset[str]:
        """The exercises whose checks are graded: the rewritten ones, and 5e when the pipeline runs them."""
        return self.rewrites | ({"5e"} if self.rewrites & {"4", "5a", "5b", "5c", "5d"} else set())


VARIANTS: list[Variant] = []


def variant(name: str, module: str, old: str, new: str, rewrites: set[str], notebook: bool = True,
            top: str = "", files: dict[str, str] | None = None) -> None:
    """A rewrite of one solution region (`old` -> `new`, both without their indentation's first level
    of the function body), with `top` added after the module's imports."""
    edits = [(old, new)]
    if top:
        head = IMPORT_LINES[module]
        edits.append((head, head + top))
    VARIANTS.append(Variant(name, {module: edits}, frozenset(rewrites), notebook, tuple((files or {}).items())))


IMPORT_LINES = {
    "losses": "import numpy as np\n",
    "softmax": "import torch\n",
    "logreg": "from .softmax import log_softmax\n",
    "sgd": "from torch import nn\n",
}

# --- the reference's regions, read from solutions/ -----------------------------------------------
def region(module: str, qualname: str) -> str:
    """The text between the solution markers of `qualname` ("SGD.step") in solutions/<module>.py."""
    source = (SOLUTIONS / f"{module}.py").read_text()
    scope: list[ast.stmt] = ast.parse(source).body
    for name in qualname.split("."):
        node = next(n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name)
        scope = node.body
    lines = source.splitlines(keepends=True)[node.lineno - 1 : node.end_lineno + 1]
    text = "".join(lines)
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].split("\n", 1)[1].rsplit("\n", 1)[0] + "\n"


BINARY = region("losses", "binary_loss_if")
CATEGORICAL_IF = region("losses", "categorical_loss_if")
CATEGORICAL = region("losses", "categorical_loss")
SOFTMAX = region("softmax", "softmax")
LOG_SOFTMAX = region("softmax", "log_softmax")
GET_WEIGHTS = region("logreg", "get_weights")
INIT = region("logreg", "LogReg.__init__")
FORWARD = region("logreg", "LogReg.forward")
NLL = region("sgd", "nll_loss")
STEP = region("sgd", "SGD.step")
ZERO_GRAD = region("sgd", "SGD.zero_grad")
FIT = region("sgd", "fit")
PREDICT = region("sgd", "predict")
ACCURACY = region("sgd", "accuracy")

# --- exercise 1 ----------------------------------------------------------------------------------
variant("binary: np.mean of a list built with a conditional expression (returns np.float64)", "losses", BINARY,
        "    return np.mean([-np.log(q) if t == 1 else -np.log(1 - q) for t, q in zip(y, p)])\n", {"1"})
variant("binary: `if` filters in two generator expressions (returns np.float64)", "losses", BINARY,
        """    ones = sum(-np.log(q) for t, q in zip(y, p) if t == 1)
    zeros = sum(-np.log(1 - q) for t, q in zip(y, p) if t != 1)
    return (ones + zeros) / len(y)
""", {"1"})
variant("binary: index while-loop with math.log on Python floats, imported in the function", "losses", BINARY,
        """    import math

    i, total = 0, 0.0
    while i < len(y):
        if int(y[i]) == 1:
            total += -math.log(float(p[i]))
        else:
            total += -math.log(1.0 - float(p[i]))
        i += 1
    return total / len(y)
""", {"1"})
variant("binary: match on the label", "losses", BINARY,
        """    total = 0.0
    for label, prob in zip(y, p):
        match int(label):
            case 1:
                total -= np.log(prob)
            case _:
                total -= np.log(1 - prob)
    return float(total / len(y))
""", {"1"})
variant("binary: returns np.float64 from np.sum / N", "losses", BINARY,
        """    losses = np.empty(len(y))
    for i, (label, prob) in enumerate(zip(y, p)):
        if label:
            losses[i] = -np.log(prob)
        else:
            losses[i] = -np.log1p(-prob)
    return losses.sum() / len(y)
""", {"1"})

# --- exercise 2a ---------------------------------------------------------------------------------
variant("categorical if: `if` inside a comprehension over the classes (returns np.float64)", "losses", CATEGORICAL_IF,
        "    return sum(-np.log(p[i][k]) for i in range(len(y)) for k in range(len(p[i])) if k == y[i]) / len(y)\n", {"2a"})
variant("categorical if: index loops over p.shape, np.float64 total", "losses", CATEGORICAL_IF,
        """    total = np.float64(0)
    for i in range(p.shape[0]):
        for k in range(p.shape[1]):
            if y[i] == k:
                total += -np.log(p[i, k])
    return total / p.shape[0]
""", {"2a"})
variant("categorical if: np.mean of per-row losses picked with an if", "losses", CATEGORICAL_IF,
        """    rows = []
    for label, row in zip(y, p):
        for k in range(len(row)):
            if k != label:
                continue
            rows.append(-np.log(row[k]))
    return np.mean(rows)
""", {"2a"})

# --- exercise 2b ---------------------------------------------------------------------------------
variant("categorical: einsum of one-hot and log(p) (returns np.float64)", "losses", CATEGORICAL,
        "    return -np.einsum('ik,ik->i', one_hot(y, np.shape(p)[1]), np.log(p)).mean()\n", {"2b"})
variant("categorical: one sum over everything divided by N (returns np.float64)", "losses", CATEGORICAL,
        "    return -np.sum(one_hot(y, len(p[0])) * np.log(p)) / len(y)\n", {"2b"})

# --- exercise 3 ----------------------------------------------------------------------------------
variant("softmax: torch.sum with keepdim, max subtracted first", "softmax", SOFTMAX,
        """    e = torch.exp(x - torch.amax(x, dim=1, keepdim=True))
    return e / torch.sum(e, dim=1, keepdim=True)
""", {"3"})
variant("softmax: dim=-1 and unsqueeze", "softmax", SOFTMAX,
        "    return x.exp() / x.exp().sum(-1).unsqueeze(-1)\n", {"3"})
variant("log_softmax: x - torch.logsumexp(x)", "softmax", LOG_SOFTMAX,
        "    return x - torch.logsumexp(x, dim=1, keepdim=True)\n", {"3", "3x"})
variant("log_softmax: max shift through a helper of the module", "softmax", LOG_SOFTMAX,
        "    return _shifted(x) - _shifted(x).exp().sum(dim=1, keepdim=True).log()\n", {"3", "3x"}, notebook=False,
        top="\n\ndef _shifted(x: torch.Tensor) -> torch.Tensor:\n    return x - x.max(dim=1, keepdim=True)[0]\n")

# --- exercise 4 ----------------------------------------------------------------------------------
variant("get_weights: randn(*dims).div(dims[0]) in nn.Parameter(requires_grad=True)", "logreg", GET_WEIGHTS,
        "    w = torch.randn(*dims).div(dims[0])\n    return nn.Parameter(w, requires_grad=True)\n", {"4"})
variant("LogReg: register_parameter instead of attributes", "logreg", INIT,
        """        self.register_parameter("l1_w", get_weights(784, 10))
        self.register_parameter("l1_b", get_weights(10))
""", {"4"})
variant("LogReg: flatten(1) and torch.matmul(...).add(...)", "logreg", FORWARD,
        "        return log_softmax(torch.matmul(x.flatten(1), self.l1_w).add(self.l1_b))\n", {"4"})
variant("LogReg: calls log_softmax through its own module (from . import softmax as sm)", "logreg", FORWARD,
        "        return sm.log_softmax(x.reshape(len(x), -1) @ self.l1_w + self.l1_b)\n", {"4"}, notebook=False,
        top="from . import softmax as sm\n")
variant("LogReg: flattens with a helper from an extra module of the submission", "logreg", FORWARD,
        "        return log_softmax(rows(x) @ self.l1_w + self.l1_b)\n", {"4"}, notebook=False,
        top="from .helpers import rows\n",
        files={"helpers.py": '"""My helpers."""\nimport torch\n\n\ndef rows(x: torch.Tensor) -> torch.Tensor:\n'
                             '    return x.reshape(x.shape[0], -1)\n'})

# --- exercise 5a ---------------------------------------------------------------------------------
variant("nll_loss: gather the label column", "sgd", NLL,
        "    return -log_probs.gather(1, y.unsqueeze(1)).mean()\n", {"5a"})
variant("nll_loss: one-hot mask from torch.eye", "sgd", NLL,
        "    mask = torch.eye(log_probs.shape[1], dtype=log_probs.dtype)[y]\n"
        "    return -(mask * log_probs).sum(dim=1).mean()\n", {"5a"})
variant("nll_loss: a Python loop stacked", "sgd", NLL,
        "    return torch.stack([-log_probs[i, int(t)] for i, t in enumerate(y)]).mean()\n", {"5a"})

# --- exercise 5b ---------------------------------------------------------------------------------
variant("SGD: p.data.sub_ outside no_grad, skipping gradless params with continue", "sgd", STEP,
        """        for p in self.params:
            if p.grad is None:
                continue
            p.data.sub_(self.lr * p.grad)
""", {"5b"})
variant("SGD: p.add_(grad, alpha=-lr) under no_grad", "sgd", STEP,
        """        with torch.no_grad():
            for p in filter(lambda t: t.grad is not None, self.params):
                p.add_(p.grad, alpha=-self.lr)
""", {"5b"})
variant("SGD: zero_grad with grad.zero_()", "sgd", ZERO_GRAD,
        """        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()
""", {"5b"})
variant("SGD: torch._foreach_add_ over all parameters", "sgd", STEP,
        """        with torch.no_grad():
            live = [p for p in self.params if p.grad is not None]
            torch._foreach_add_(live, [p.grad for p in live], alpha=-self.lr)
""", {"5b"})

# --- exercise 5c ---------------------------------------------------------------------------------
variant("fit: iter() and next() for len(train_dl) minibatches", "sgd", FIT,
        """    losses = []
    for epoch in range(epochs):
        it = iter(train_dl)
        for i in range(len(train_dl)):
            xb, yb = next(it)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
    return losses
""", {"5c"})
variant("fit: zero_grad first, enumerate, float(loss)", "sgd", FIT,
        """    history: list[float] = []
    epoch = 0
    while epoch < epochs:
        for _, (xb, yb) in enumerate(train_dl):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            history += [float(loss)]
        epoch += 1
    return history
""", {"5c"})

# --- exercise 5d ---------------------------------------------------------------------------------
variant("predict: train(False) and torch.inference_mode()", "sgd", PREDICT,
        "    model.train(False)\n    with torch.inference_mode():\n        return model(x)\n", {"5d"})
variant("predict: eval() and .detach()", "sgd", PREDICT,
        "    model.eval()\n    return model(x).detach()\n", {"5d"})
variant("accuracy: numpy mean of the matches (returns np.float64)", "sgd", ACCURACY,
        "    return np.mean(preds.argmax(dim=1).numpy() == y.numpy())\n", {"5d"}, top="import numpy as np\n")
variant("accuracy: count / N with torch.max", "sgd", ACCURACY,
        "    _, best = torch.max(preds, 1)\n    return (best == y).sum().item() / y.shape[0]\n", {"5d"})


# --- cells as students paste them (issue 16): `from __future__` first, a docstring first, decorators,
# annotated classes, a dataclass, helpers in the cell. In the .py route the same lines open the module
# (after its docstring); in the notebook they open the exercise's solution cell.
FUTURE = "from __future__ import annotations\n"
MODULE_DOCSTRINGS = {module: '"""' + (SOLUTIONS / f"{module}.py").read_text().split('"""')[1] + '"""\n'
                     for module in IMPORT_LINES}


def definition(module: str, qualname: str) -> str:
    """The whole text of a top-level def or class in solutions/<module>.py, decorators and the
    `### END SOLUTION` lines that close it included."""
    source = (SOLUTIONS / f"{module}.py").read_text()
    node = next(n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == qualname)
    lines = source.splitlines(keepends=True)
    end = node.end_lineno
    while end < len(lines) and lines[end].strip() == END:
        end += 1
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return "".join(lines[first - 1 : end])


def pasted(name: str, module: str, old: str, new: str, rewrites: set[str], head: str, cell_head: str = "",
           top: str = "") -> None:
    """A variant whose module opens with `head` (after its docstring: `from __future__ ...` lines) and
    whose notebook cell opens with `cell_head` (default: `head`, then `top`), `old` -> `new` as in variant()."""
    docstring = MODULE_DOCSTRINGS[module]
    edits = [(docstring, docstring + head), (old, new)]
    if top:
        edits.append((IMPORT_LINES[module], IMPORT_LINES[module] + top))
    VARIANTS.append(Variant(name, {module: edits}, frozenset(rewrites), True, (), cell_head or head + top))


SGD_CLASS = definition("sgd", "SGD")
pasted("LogReg: from __future__ import annotations above a class with annotated attributes", "logreg",
       "class LogReg(nn.Module):\n", "class LogReg(nn.Module):\n    l1_w: nn.Parameter\n    l1_b: nn.Parameter\n\n",
       {"4"}, FUTURE)
pasted("SGD: a dataclass under from __future__ import annotations", "sgd", SGD_CLASS,
       """@dataclass
class SGD:
    \"\"\"Plain SGD as a dataclass.\"\"\"

    params: Iterable[nn.Parameter]
    lr: float
    history: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params = list(self.params)

    def step(self) -> None:
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None
""", {"5b"}, FUTURE, top="from dataclasses import dataclass, field\n")
pasted("predict: decorated with @torch.no_grad(), a docstring first in the cell", "sgd", definition("sgd", "predict"),
       """@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return model(x)
""", {"5d"}, "", cell_head='"""Exercise 5d: my predict."""\n\n')
pasted("softmax: a docstring, then from __future__ import annotations, opening the cell", "softmax", SOFTMAX,
       "    e = torch.exp(x - x.amax(dim=1, keepdim=True))\n    return e / e.sum(dim=1, keepdim=True)\n", {"3"},
       FUTURE, cell_head='"""Exercise 3, my way."""\n' + FUTURE)
pasted("binary: the `if` in a module-level helper the function calls, annotated", "losses", BINARY,
       "    return float(np.mean([_term(int(t), float(q)) for t, q in zip(y, p)]))\n", {"1"}, FUTURE,
       top="\n\ndef _term(label: int, prob: float) -> float:\n    if label == 1:\n        return -np.log(prob)\n"
           "    return -np.log(1 - prob)\n")
pasted("categorical if: the `if` two helpers deep", "losses", CATEGORICAL_IF,
       "    return float(np.mean([_row_loss(int(t), row) for t, row in zip(y, p)]))\n", {"2a"}, "",
       top="\n\ndef _pick(row: np.ndarray, label: int) -> float:\n    for k, prob in enumerate(row):\n"
           "        if k == label:\n            return prob\n    raise IndexError(label)\n\n\n"
           "def _row_loss(label: int, row: np.ndarray) -> float:\n    return -np.log(_pick(row, label))\n")
variant("get_weights: torch.normal(0, 1, size=dims) * (1 / dims[0]) (the same draws as randn)", "logreg", GET_WEIGHTS,
        "    return nn.Parameter(torch.normal(0, 1, size=dims) * (1 / dims[0]))\n", {"4"})
variant("binary: computed in float32 (np.float32 arrays)", "losses", BINARY,
        """    y32, p32 = np.asarray(y, dtype=np.float32), np.asarray(p, dtype=np.float32)
    total = np.float32(0)
    for label, prob in zip(y32, p32):
        if label == 1:
            total -= np.log(prob)
        else:
            total -= np.log(np.float32(1) - prob)
    return float(total / np.float32(len(y32)))
""", {"1"})

# --- i15-allow: more styles of correct answer, graded before the from-scratch allowlist was tightened
SGD_INIT = region("sgd", "SGD.__init__")

variant("softmax: x.exp() and .sum(1, keepdim=True)", "softmax", SOFTMAX,
        "    e = x.exp()\n    return e / e.sum(1, keepdim=True)\n", {"3"})
variant("softmax: max(dim=1).values stabilisation, unsqueeze", "softmax", SOFTMAX,
        "    m = x.max(dim=1).values.unsqueeze(1)\n    e = (x - m).exp()\n    return e / e.sum(dim=1, keepdim=True)\n", {"3"})
variant("softmax: row sums by torch.einsum", "softmax", SOFTMAX,
        "    e = torch.exp(x)\n    return e / torch.einsum('ij->i', e)[:, None]\n", {"3"})
variant("softmax: row sums as a matmul with a column of ones", "softmax", SOFTMAX,
        "    e = torch.exp(x)\n    return e / (e @ torch.ones(x.shape[1], 1, dtype=x.dtype, device=x.device))\n", {"3"})
variant("log_softmax: amax keepdim, torch.log(torch.sum(torch.exp(...)))", "softmax", LOG_SOFTMAX,
        "    m = torch.amax(x, dim=1, keepdim=True)\n"
        "    return x - m - torch.log(torch.sum(torch.exp(x - m), dim=1, keepdim=True))\n", {"3", "3x"})
variant("get_weights: in-place /= on a randn(*dims) before wrapping", "logreg", GET_WEIGHTS,
        "    w = torch.randn(*dims)\n    w /= dims[0]\n    return nn.Parameter(w)\n", {"4"})
variant("LogReg: torch.mm on x.reshape(len(x), -1)", "logreg", FORWARD,
        "        return log_softmax(torch.mm(x.reshape(len(x), -1), self.l1_w) + self.l1_b)\n", {"4"})
variant("LogReg: view(-1, 784) and torch.einsum", "logreg", FORWARD,
        "        x = x.view(-1, 784)\n        return log_softmax(torch.einsum('nd,dk->nk', x, self.l1_w) + self.l1_b)\n", {"4"})
variant("nll_loss: picked entries, .sum() / len(y)", "sgd", NLL,
        "    picked = log_probs[torch.arange(y.shape[0]), y]\n    return -picked.sum() / len(y)\n", {"5a"})
variant("nll_loss: torch.where over a label mask", "sgd", NLL,
        "    mask = torch.arange(log_probs.shape[1]).unsqueeze(0) == y.unsqueeze(1)\n"
        "    return -torch.where(mask, log_probs, torch.zeros_like(log_probs)).sum() / y.shape[0]\n", {"5a"})
variant("nll_loss: functools.reduce over the rows, imported in the function", "sgd", NLL,
        "    import functools\n\n"
        "    total = functools.reduce(lambda acc, i: acc + log_probs[i, y[i]], range(len(y)), 0.0)\n"
        "    return -total / len(y)\n", {"5a"})
variant("SGD: p.sub_(p.grad * lr) under no_grad", "sgd", STEP,
        """        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p.sub_(p.grad * self.lr)
""", {"5b"})
variant("SGD: p.data -= lr * p.grad.data, no no_grad", "sgd", STEP,
        """        for p in self.params:
            if p.grad is not None:
                p.data -= self.lr * p.grad.data
""", {"5b"})
variant("SGD: params as an annotated tuple, lr as float(lr)", "sgd", SGD_INIT,
        "        self.params: tuple[torch.Tensor, ...] = tuple(params)\n        self.lr = float(lr)\n"
        "        self.weight_decay = weight_decay\n", {"5b"})
variant("fit: itertools.chain.from_iterable over the epochs' loaders", "sgd", FIT,
        """    import itertools

    losses = []
    model.train()
    for xb, yb in itertools.chain.from_iterable(train_dl for _ in range(epochs)):
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses
""", {"5c"})
variant("fit: losses kept in a dataclass of the module", "sgd", FIT,
        """    history = _History()
    for _ in range(epochs):
        for batch in train_dl:
            xb, yb = batch
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            history.losses.append(float(loss.detach()))
    return history.losses
""", {"5c"}, notebook=False,
        top="from dataclasses import dataclass, field\n\n\n@dataclass\nclass _History:\n"
            "    losses: list[float] = field(default_factory=list)\n")
variant("accuracy: max(1)[1] instead of argmax", "sgd", ACCURACY,
        "    return (preds.max(1)[1] == y).float().mean().item()\n", {"5d"})
variant("accuracy: float(count) / len(y)", "sgd", ACCURACY,
        "    return float((preds.argmax(1) == y).sum()) / len(y)\n", {"5d"})
variant("binary: sum() builtin over a generator with math.log", "losses", BINARY,
        "    from math import log\n\n"
        "    return sum(-log(q) if t == 1 else -log(1 - q) for t, q in zip(y, p)) / len(y)\n", {"1"})
variant("binary: functools.reduce with an if in the lambda", "losses", BINARY,
        "    from functools import reduce\n\n"
        "    total = reduce(lambda acc, tp: acc - (np.log(tp[1]) if tp[0] == 1 else np.log(1 - tp[1])), zip(y, p), 0.0)\n"
        "    return float(total) / len(y)\n", {"1"})

# --- review B's refused correct answers (ordinary math, and names that denote an allowed object) -------
STEP_LOOP = "            for p in self.params:\n                if p.grad is not None:\n                    p -= self.lr * p.grad\n"
variant("softmax: multiply by the reciprocal of the row sums", "softmax", SOFTMAX,
        "    e = torch.exp(x)\n    return e * e.sum(1, keepdim=True).reciprocal()\n", {"3"})
variant("softmax: torch.Tensor.exp(x), the unbound method", "softmax", SOFTMAX,
        "    e = torch.Tensor.exp(x)\n    return e / e.sum(dim=1, keepdim=True)\n", {"3"})
variant("softmax: torch.empty_like filled by copy_", "softmax", SOFTMAX,
        "    e = torch.empty_like(x)\n    e.copy_(x.exp())\n    return e / e.sum(1, keepdim=True)\n", {"3"})
variant("softmax: torch.true_divide by broadcast_to row sums", "softmax", SOFTMAX,
        "    e = torch.exp(x)\n    return torch.true_divide(e, e.sum(1, keepdim=True).broadcast_to(e.shape))\n", {"3"})
variant("softmax: torch.e ** x", "softmax", SOFTMAX,
        "    e = torch.e ** x\n    return e / e.sum(1, keepdim=True)\n", {"3"})
variant("softmax: math.e ** x, imported in the function", "softmax", SOFTMAX,
        "    import math\n\n    e = math.e ** x\n    return e / e.sum(1, keepdim=True)\n", {"3"})
variant("get_weights: torch.empty(dims).normal_(0, 1 / dims[0])", "logreg", GET_WEIGHTS,
        "    return nn.Parameter(torch.empty(dims).normal_(0, 1 / dims[0]))\n", {"4"})
variant("nll_loss: F.one_hot mask", "sgd", NLL,
        "    return -(log_probs * torch.nn.functional.one_hot(y, log_probs.shape[1])).sum(dim=1).mean()\n", {"5a"})
variant("nll_loss: take_along_dim", "sgd", NLL, "    return -log_probs.take_along_dim(y[:, None], 1).mean()\n", {"5a"})
variant("nll_loss: diag of log_probs[:, y], nanmean", "sgd", NLL, "    return -log_probs[:, y].diag().nanmean()\n", {"5a"})
variant("SGD: torch.autograd.no_grad (the same object as torch.no_grad)", "sgd", STEP,
        "        with torch.autograd.no_grad():\n" + STEP_LOOP, {"5b"})
variant("SGD: torch.set_grad_enabled(False)", "sgd", STEP, "        with torch.set_grad_enabled(False):\n" + STEP_LOOP, {"5b"})
variant("SGD: typing.cast on the params, imported in the method", "sgd", SGD_INIT,
        "        import typing\n\n        self.params = list(typing.cast(Iterable[torch.Tensor], params))\n        self.lr = lr\n"
        "        self.weight_decay = weight_decay\n",
        {"5b"})
variant("softmax: a functools.wraps decorator of the module", "softmax", SOFTMAX,
        "    return _rows(x)\n", {"3"}, notebook=False,
        top="import functools\n\n\ndef _checked(f):\n    @functools.wraps(f)\n    def inner(x):\n        return f(x)\n"
            "    return inner\n\n\n@_checked\ndef _rows(x):\n    e = torch.exp(x)\n    return e / e.sum(1, keepdim=True)\n")


# --- exercise 5f (extension): weight decay in the hand-written SGD ---------------------------------
DECAY_LOOP = "        with torch.no_grad():\n            for p in self.params:\n                if p.grad is not None:\n"
variant("SGD weight decay: p - lr * (grad + wd * p) in one expression", "sgd", STEP,
        DECAY_LOOP + "                    p -= self.lr * (p.grad + self.weight_decay * p)\n", {"5b", "5f"})
variant("SGD weight decay: p.mul_(1 - lr * wd), then the gradient step", "sgd", STEP,
        DECAY_LOOP + "                    p.mul_(1 - self.lr * self.weight_decay)\n                    p.sub_(self.lr * p.grad)\n",
        {"5b", "5f"})
variant("SGD weight decay: p.add_(grad.add(p, alpha=wd), alpha=-lr)", "sgd", STEP,
        DECAY_LOOP + "                    p.add_(p.grad.add(p, alpha=self.weight_decay), alpha=-self.lr)\n", {"5b", "5f"})
