"""The mutant catalogue: the reference with one realistic student mistake each.

A mutant is a set of text edits to solutions/ (module -> [(old, new)], applied by
`tests.conftest.make_submission`, which asserts that each `old` is still there), the
exercises that must lose points, and a piece of the message the student must see.
`tests/test_mutants.py` grades every mutant and asserts that exactly the declared
exercises lose points and that the message is shown. See README, "Adding a mutant".
"""
from dataclasses import dataclass

Edits = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: Edits
    loses: frozenset[str]  # exercise ids that must lose points; every other one keeps full marks
    message: str  # a substring of the failed checks' feedback
    points: tuple[tuple[str, int], ...] = ()  # (exercise id, points it must lose), sorted; empty: not pinned


MUTANTS: list[Mutant] = []


def mutant(name: str, edits: Edits, loses: set[str], message: str, points: dict[str, int] | None = None) -> None:
    """`points`, when given, pins how many points each exercise in `loses` must lose."""
    assert points is None or set(points) == loses, f"{name}: points must name exactly the exercises in loses"
    MUTANTS.append(Mutant(name, edits, frozenset(loses), message, tuple(sorted((points or {}).items()))))


# --- losses.py: exercises 1, 2a, 2b -------------------------------------------------------------
BINARY_LABEL_1 = "total -= np.log(prob)\n        else"
CAT_IF_END = "total -= np.log(prob)\n    return float(total / len(y))"
BINARY_END = "total -= np.log(1 - prob)\n    return float(total / len(y))"

mutant("binary: wrong sign for label 1", {"losses": [(BINARY_LABEL_1, "total += np.log(prob)\n        else")]},
       {"1"}, "expected 0.164252033486")
mutant("binary: log(p) and log(1-p) swapped", {"losses": [("if label == 1:", "if label == 0:")]},
       {"1"}, "y=[1,0,0,1], p=[0.9,0.1,0.2,0.8]")
mutant("binary: sum instead of mean", {"losses": [(BINARY_END, "total -= np.log(1 - prob)\n    return float(total)")]},
       {"1"}, "seed 0, N=7")
mutant("binary: calls the given binary_loss",
       {"losses": [("    total = 0.0\n    for label, prob in zip(y, p):\n        if label == 1:",
                    "    return binary_loss(y, p)\n    total = 0.0\n    for label, prob in zip(y, p):\n        if label == 1:")]},
       {"1"}, "calls binary_loss")
mutant("binary: returns a 0-d array, not a float",
       {"losses": [(BINARY_END, "total -= np.log(1 - prob)\n    return np.array(total / len(y))")]},
       {"1"}, "expected a Python float")
mutant("categorical if: off-by-one class index", {"losses": [("if k == label:", "if k == label + 1:")]},
       {"2a"}, "categorical_loss_if")
mutant("categorical if: sum instead of mean", {"losses": [(CAT_IF_END, "total -= np.log(prob)\n    return float(total)")]},
       {"2a"}, "seed 0, p: (5, 3)")
mutant("categorical if: vectorised, no if",
       {"losses": [("    total = 0.0\n    for label, row in zip(y, p):",
                    "    return float(np.mean(-np.log(np.asarray(p)[np.arange(len(y)), y])))\n"
                    "    total = 0.0\n    for label, row in zip(y, p):"),
                   ("            if k == label:\n                total -= np.log(prob)",
                    "            total -= np.log(prob) * (k == label)")]},
       {"2a"}, "has no `if`")
mutant("categorical: sum instead of mean", {"losses": [("np.mean(-(targets", "np.sum(-(targets")]},
       {"2b"}, "categorical_loss")
mutant("categorical: one-hot summed on the wrong axis", {"losses": [(".sum(axis=1)))", ".sum(axis=0)))")]},
       {"2b"}, "categorical_loss: matches the reference")
mutant("categorical: missing minus", {"losses": [("np.mean(-(targets", "np.mean((targets")]},
       {"2b"}, "expected")
mutant("categorical: one-hot off by one class",
       {"losses": [("targets = one_hot(y, p.shape[1])", "targets = np.roll(one_hot(y, p.shape[1]), 1, axis=1)")]},
       {"2b"}, "agrees with binary_loss")
mutant("categorical: int labels as float",
       {"losses": [("targets = one_hot(y, p.shape[1])", "targets = np.eye(p.shape[1])[np.asarray(y, dtype=float)]")]},
       {"2b"}, "IndexError")

# --- softmax.py: exercises 3 and 3x -------------------------------------------------------------
SOFTMAX_BODY = "    e = torch.exp(x)\n    return e / e.sum(dim=1)[:, None]"
LOG_SOFTMAX_RETURN = "return shifted - shifted.exp().sum(dim=1, keepdim=True).log()"

mutant("softmax: over dim 0", {"softmax": [("e.sum(dim=1)[:, None]", "e.sum(dim=0)[None, :]")]},
       {"3"}, "rows sum to one")
mutant("softmax: sums the whole tensor", {"softmax": [("e.sum(dim=1)[:, None]", "e.sum()")]},
       {"3"}, "row sums")
mutant("softmax: in-place division breaks autograd",
       {"softmax": [(SOFTMAX_BODY, "    e = torch.exp(x)\n    e /= e.sum(dim=1)[:, None]\n    return e")]},
       {"3"}, "modified by an inplace operation")
mutant("softmax: forces float32", {"softmax": [("e = torch.exp(x)", "e = torch.exp(x.float())")]},
       {"3"}, "dtype: expected torch.float64, got torch.float32")
mutant("softmax: hard-wired to the CPU", {"softmax": [("e = torch.exp(x)", "e = torch.exp(x.cpu())")]},
       {"3"}, "meta")
mutant("softmax: calls F.softmax",
       {"softmax": [(SOFTMAX_BODY, "    return torch.nn.functional.softmax(x, dim=1)")]},
       {"3"}, "torch.nn.functional.softmax")
mutant("softmax: F.softmax through an alias",
       {"softmax": [("import torch\n", "import torch\nfrom torch.nn import functional as G\n"),
                    (SOFTMAX_BODY, "    return G.softmax(x, dim=1)")]},
       {"3"}, "torch.nn.functional.softmax")
mutant("softmax: F.softmax through getattr",
       {"softmax": [(SOFTMAX_BODY, "    return getattr(torch.nn.functional, 'soft' + 'max')(x, dim=1)")]},
       {"3"}, "uses getattr(): reflection")
mutant("softmax: Tensor.softmax method", {"softmax": [(SOFTMAX_BODY, "    return x.softmax(1)")]},
       {"3"}, "softmax")
mutant("log_softmax: no log", {"softmax": [(LOG_SOFTMAX_RETURN, "return shifted - shifted.exp().sum(dim=1, keepdim=True)")]},
       {"3", "3x"}, "log_softmax")
mutant("log_softmax: naive, overflows for large logits",
       {"softmax": [("shifted = x - x.max(dim=1, keepdim=True).values", "shifted = x")]},
       {"3x"}, "inf at index")
mutant("log_softmax: softmax(x).log() (no extension)",
       {"softmax": [(LOG_SOFTMAX_RETURN, "return softmax(x).log()")]},
       {"3x"}, "logits in [-1e4, 1e4]")
mutant("log_softmax: calls torch.log_softmax",
       {"softmax": [(LOG_SOFTMAX_RETURN, "return torch.log_softmax(x, dim=1)")]},
       {"3", "3x"}, "torch.log_softmax")

# Holes of the from-scratch rule that issue 11 found: module-level bindings, exec with a foreign file
# name, private spellings. Each must be caught (statically where the text shows it, else at run time).
LOG_SOFTMAX_END = LOG_SOFTMAX_RETURN + "\n    ### END SOLUTION\n"
mutant("softmax: functools.partial(torch.softmax) bound over the def",
       {"softmax": [("import torch\n", "import functools\n\nimport torch\n"),
                    (LOG_SOFTMAX_END, LOG_SOFTMAX_END + "\n\nsoftmax = functools.partial(torch.softmax, dim=1)\n")]},
       {"3"}, "uses torch.softmax")
mutant("softmax: exec of torch.softmax compiled with a foreign file name",
       {"softmax": [(LOG_SOFTMAX_END, LOG_SOFTMAX_END + "\n\nexec(compile('def softmax(x):\\n    return torch.softmax(x, 1)\\n', "
                                                         "'/usr/lib/python3/dist-packages/numpy/core/fake.py', 'exec'))\n")]},
       {"3", "3x", "4", "5e"}, "uses exec(): reflection")  # module-level code: logreg.py imports softmax.py
mutant("softmax: torch._C.TensorBase.softmax", {"softmax": [(SOFTMAX_BODY, "    return torch._C.TensorBase.softmax(x, 1)")]},
       {"3"}, "uses torch.softmax")
mutant("softmax: getattr(torch._C.TensorBase, 'soft' + 'max') hides it from the text",
       {"softmax": [(SOFTMAX_BODY, "    return getattr(torch._C.TensorBase, 'soft' + 'max')(x, 1)")]},
       {"3"}, "uses getattr(): reflection")
mutant("log_softmax: the private torch._log_softmax",
       {"softmax": [("    " + LOG_SOFTMAX_RETURN, "    return torch._log_softmax(x, 1, False)")]},
       {"3", "3x"}, "uses torch.log_softmax")
mutant("log_softmax: torch.ops.aten through a variable (a computed name: refused as reflection)",
       {"softmax": [("    " + LOG_SOFTMAX_RETURN, "    ops = torch.ops\n    return getattr(ops.aten, '_log_' + 'softmax')(x, 1, False)")]},
       {"3", "3x"}, "uses getattr(): reflection")

# --- logreg.py: exercise 4 ------------------------------------------------------------------------
FORWARD = "return log_softmax(x @ self.l1_w + self.l1_b)"
GET_WEIGHTS = "return nn.Parameter(torch.randn(dims) / dims[0])"

mutant("get_weights: not wrapped in nn.Parameter",
       {"logreg": [(GET_WEIGHTS, "return (torch.randn(dims) / dims[0]).requires_grad_()")]},
       {"4", "5e"}, "is not an nn.Parameter")
mutant("get_weights: float64 weights",
       {"logreg": [(GET_WEIGHTS, "return nn.Parameter(torch.randn(dims, dtype=torch.float64) / dims[0])")]},
       {"4", "5e"}, "float64")
mutant("get_weights: uniform rand instead of randn",  # (dividing by dims[-1] instead trains to 0.826: too close to call)
       {"logreg": [(GET_WEIGHTS, "return nn.Parameter(torch.rand(dims) / dims[0])")]},
       {"4"}, "torch.manual_seed(0), dims (784, 10)")
mutant("LogReg: weights (10, 784) transposed",
       {"logreg": [("get_weights(28 * 28, 10)", "get_weights(10, 28 * 28)"), (FORWARD, "return log_softmax(x @ self.l1_w.T + self.l1_b)")]},
       {"4", "5e"}, "l1_w")
mutant("LogReg: missing bias", {"logreg": [(FORWARD, "return log_softmax(x @ self.l1_w)")]},
       {"4"}, "forward matches the reference")
mutant("LogReg: bias not a parameter", {"logreg": [("self.l1_b = get_weights(10)", "self.l1_b = torch.zeros(10)")]},
       {"4"}, "registered parameters")
mutant("LogReg: view that mixes the batch",
       {"logreg": [("x = x.view(x.size(0), -1)", "x = x.reshape(-1, x.size(0)).T")]},
       {"4", "5e"}, "model(x[:5])")
mutant("LogReg: returns softmax, not log_softmax",
       {"logreg": [("from .softmax import log_softmax", "from .softmax import log_softmax, softmax"),
                   (FORWARD, "return softmax(x @ self.l1_w + self.l1_b)")]},
       {"4", "5e"}, "log-probabilities")
mutant("LogReg: detached weights (.data)", {"logreg": [(FORWARD, "return log_softmax(x @ self.l1_w.data + self.l1_b)")]},
       {"4", "5e"}, "l1_w got no gradient")
mutant("LogReg: in-place edit of a parameter",
       {"logreg": [("x = x.view(x.size(0), -1)\n", "x = x.view(x.size(0), -1)\n        self.l1_b.mul_(1.0)\n")]},
       {"4", "5e"}, "in-place operation")
mutant("LogReg: calls nn.functional.linear",
       {"logreg": [(FORWARD, "return log_softmax(torch.nn.functional.linear(x, self.l1_w.T, self.l1_b))")]},
       {"4", "5e"}, "torch.nn.functional.linear")
mutant("LogReg: an nn.Linear layer",
       {"logreg": [("self.l1_b = get_weights(10)\n", "self.l1_b = get_weights(10)\n        self.linear = nn.Linear(784, 10)\n"),
                   (FORWARD, "return log_softmax(self.linear(x))")]},
       {"4", "5e"}, "torch.nn.Linear")
mutant("LogReg: calls F.log_softmax",
       {"logreg": [(FORWARD, "return torch.nn.functional.log_softmax(x @ self.l1_w + self.l1_b, dim=1)")]},
       {"4", "5e"}, "torch.nn.functional.log_softmax")

mutant("LogReg: the private torch._C._nn.linear",
       {"logreg": [(FORWARD, "return log_softmax(torch._C._nn.linear(x, self.l1_w.T, self.l1_b))")]},
       {"4", "5e"}, "uses torch.nn.functional.linear")
mutant("LogReg: torch._C._nn.linear through a variable (a computed name: refused as reflection)",
       {"logreg": [(FORWARD, "nn_ops = getattr(torch._C, '_' + 'nn')\n        return log_softmax(nn_ops.linear(x, self.l1_w.T, self.l1_b))")]},
       {"4", "5e"}, "uses getattr(): reflection")

# --- sgd.py: exercises 5a-5e ------------------------------------------------------------------------
NLL = "return -log_probs[torch.arange(len(y)), y].mean()"
STEP = "p -= self.lr * p.grad"
DECAY = "p -= self.lr * self.weight_decay * p"  # exercise 5f, in SGD.step before the gradient step
DECAY_THEN_STEP = "if self.weight_decay:\n                        " + DECAY + "\n                    " + STEP
LOOP = "            loss.backward()\n            opt.step()\n            opt.zero_grad()\n"
ACCURACY_END = "return (preds.argmax(dim=1) == y).float().mean().item()\n    ### END SOLUTION\n"

mutant("nll_loss: torch.ops.aten.nll_loss_forward",
       {"sgd": [(NLL, "return torch.ops.aten.nll_loss_forward(log_probs, y, None, 1, -100)[0]")]},
       {"5a", "5e"}, "uses torch.nn.functional.nll_loss")
mutant("SGD: functools.partial(torch.optim.SGD) bound over the class",
       {"sgd": [("from torch import nn\n", "from torch import nn\nimport functools\n"),
                (ACCURACY_END, ACCURACY_END + "\n\nSGD = functools.partial(torch.optim.SGD)\n")]},
       {"5b", "5e", "5f"}, "uses torch.optim.SGD")
mutant("SGD: step calls torch.optim's functional sgd",
       {"sgd": [("                    " + STEP, "                    torch.optim._functional.sgd([p], [p.grad], [None], weight_decay=0, momentum=0, "
                 "lr=self.lr, dampening=0, nesterov=False, maximize=False)")]},
       {"5b", "5e", "5f"}, "torch.optim._functional.sgd")
mutant("nll_loss: sum instead of mean", {"sgd": [(NLL, "return -log_probs[torch.arange(len(y)), y].sum()")]},
       {"5a"}, "log_probs: (8, 10)")
mutant("nll_loss: missing minus", {"sgd": [(NLL, "return log_probs[torch.arange(len(y)), y].mean()")]},
       {"5a", "5e"}, "nll_loss")
mutant("nll_loss: off-by-one label", {"sgd": [(NLL, "return -log_probs[torch.arange(len(y)), (y + 1) % log_probs.shape[1]].mean()")]},
       {"5a", "5e"}, "nll_loss")
mutant("nll_loss: returns a float", {"sgd": [(NLL, "return -log_probs[torch.arange(len(y)), y].mean().item()")]},
       {"5a", "5e"}, "expected a torch.Tensor, got float")
mutant("nll_loss: int labels as float", {"sgd": [(NLL, "return -log_probs[torch.arange(len(y)), y.float()].mean()")]},
       {"5a", "5e"}, "IndexError")
mutant("nll_loss: calls F.nll_loss", {"sgd": [(NLL, "return torch.nn.functional.nll_loss(log_probs, y)")]},
       {"5a", "5e"}, "torch.nn.functional.nll_loss")
mutant("SGD: += instead of -=", {"sgd": [(STEP, "p += self.lr * p.grad")]},
       {"5b", "5e"}, "after step 1")
mutant("SGD: lr ignored", {"sgd": [(STEP, "p -= p.grad")]},
       {"5b", "5e"}, "lr=0.1")
mutant("SGD: gradients never zeroed", {"sgd": [("            p.grad = None\n", "            pass\n")]},
       {"5b"}, "gradients left after zero_grad")
mutant("SGD: step outside no_grad",
       {"sgd": [("        with torch.no_grad():\n            for p in self.params:\n                if p.grad is not None:\n                    " + DECAY_THEN_STEP,
                 "        for p in self.params:\n            if p.grad is not None:\n                if self.weight_decay:\n"
                 "                    " + DECAY + "\n                " + STEP)]},
       {"5b", "5e", "5f"}, "leaf Variable")
mutant("SGD: keeps the params generator", {"sgd": [("self.params = list(params)", "self.params = params")]},
       {"5b", "5e", "5f"}, "after step 2")
mutant("SGD: wraps torch.optim.SGD",
       {"sgd": [("        self.params = list(params)\n        self.lr = lr\n",
                 "        self.params = list(params)\n        self.lr = lr\n        self.inner = torch.optim.SGD(self.params, lr=lr)\n"),
                ("                if p.grad is not None:\n                    " + DECAY_THEN_STEP,
                 "                pass\n        self.inner.step()")]},
       {"5b", "5e", "5f"}, "torch.optim.SGD")
mutant("SGD: torch.optim.SGD through an alias",
       {"sgd": [("from torch import nn\n", "from torch import nn\nfrom torch.optim import SGD as Stepper\n"),
                ("        self.params = list(params)\n        self.lr = lr\n",
                 "        self.params = list(params)\n        self.lr = lr\n        self.inner = Stepper(self.params, lr)\n"),
                ("                if p.grad is not None:\n                    " + DECAY_THEN_STEP,
                 "                pass\n        self.inner.step()")]},
       {"5b", "5e", "5f"}, "torch.optim.SGD")
mutant("fit: forgets backward", {"sgd": [(LOOP, "            opt.step()\n            opt.zero_grad()\n")]},
       {"5c", "5e"}, "loss of every minibatch")
mutant("fit: zeroes before step", {"sgd": [(LOOP, "            loss.backward()\n            opt.zero_grad()\n            opt.step()\n")]},
       {"5c", "5e"}, "loss of every minibatch")
mutant("fit: never shuffles (one fixed order for every epoch)",
       {"sgd": [("    for _ in range(epochs):\n        for xb, yb in train_dl:",
                 "    batches = list(train_dl)\n    for _ in range(epochs):\n        for xb, yb in batches:")]},
       {"5c"}, "cannot shuffle")
mutant("fit: builds its own unshuffled loader",
       {"sgd": [("        for xb, yb in train_dl:",
                 "        for xb, yb in torch.utils.data.DataLoader(train_dl.dataset, batch_size=64):")]},
       {"5c"}, "cannot shuffle")
mutant("fit: one epoch only", {"sgd": [("for _ in range(epochs):", "for _ in range(1):")]},
       {"5c"}, "epochs x minibatches")
mutant("fit: appends tensors, not floats", {"sgd": [("losses.append(loss.item())", "losses.append(loss)")]},
       {"5c"}, "Python floats")
mutant("fit: own torch.optim.SGD",
       {"sgd": [("    losses = []\n    model.train()\n", "    losses = []\n    model.train()\n    opt = torch.optim.SGD(model.parameters(), lr=0.01)\n")]},
       {"5c", "5e"}, "torch.optim.SGD")
mutant("predict: left in train mode", {"sgd": [("    model.eval()\n    with torch.no_grad():", "    with torch.no_grad():")]},
       {"5d"}, "training mode")
mutant("predict: builds a graph", {"sgd": [("    model.eval()\n    with torch.no_grad():\n        return model(x)", "    model.eval()\n    return model(x)")]},
       {"5d"}, "grad_fn")
mutant("accuracy: argmax over dim 0", {"sgd": [("preds.argmax(dim=1) == y", "preds.argmax(dim=0)[: len(y)] == y")]},
       {"5d"}, "accuracy")
mutant("accuracy: returns a tensor", {"sgd": [("(preds.argmax(dim=1) == y).float().mean().item()", "(preds.argmax(dim=1) == y).float().mean()")]},
       {"5d"}, "expected a Python float, got Tensor")

# --- i15-allow: holes of the denylist that the from-scratch allowlist closes ------------------------
# Names starting "allowlist:" earned full or nearly full marks on the main branch before the allowlist
# (another library function, a kernel whose C++ computes the replaced one, a class that does the same
# update): Categorical(...).logits.exp() 11/11, scipy 9/11 and scaled_dot_product_attention 10/11 on exercise 3, addmm 11/11 and
# Categorical(...).logits 10/11 on 4, kl_div 4/4 on 5a, ASGD 4/5 on 5b, __dict__ 11/11 on 3.
# The two "named statically" ones were already caught at run time (softmin and Categorical.probs call
# Tensor.softmax inside); the allowlist now names the call itself.
mutant("from scratch, named statically: softmax as F.softmin(-x)",
       {"softmax": [(SOFTMAX_BODY, "    return torch.nn.functional.softmin(-x, dim=1)")]},
       {"3"}, "uses torch.nn.functional.softmin")
mutant("from scratch, named statically: softmax as torch.distributions.Categorical(logits=x).probs",
       {"softmax": [(SOFTMAX_BODY, "    return torch.distributions.Categorical(logits=x).probs")]},
       {"3"}, "uses torch.distributions.Categorical")
mutant("allowlist: softmax as Categorical(logits=x).logits.exp() (normalised by logsumexp)",
       {"softmax": [(SOFTMAX_BODY, "    return torch.distributions.Categorical(logits=x, validate_args=False).logits.exp()")]},
       {"3"}, "uses torch.distributions.Categorical")
mutant("allowlist: softmax inside F.scaled_dot_product_attention",
       {"softmax": [(SOFTMAX_BODY, "    n, k = x.shape\n    keys = x.unsqueeze(-1)\n"
                                   "    values = torch.eye(k, dtype=x.dtype, device=x.device).expand(n, k, k)\n"
                                   "    query = torch.ones(n, 1, 1, dtype=x.dtype, device=x.device)\n"
                                   "    return torch.nn.functional.scaled_dot_product_attention(query, keys, values).squeeze(1)")]},
       {"3"}, "uses torch.nn.functional.scaled_dot_product_attention")
mutant("allowlist: softmax from scipy.special on a numpy copy",
       {"softmax": [(SOFTMAX_BODY, "    import scipy.special\n"
                                   "    return torch.from_numpy(scipy.special.softmax(x.detach().numpy(), axis=1)).requires_grad_(x.requires_grad)")]},
       {"3"}, "imports scipy.special")
mutant("allowlist: softmax through torch.Tensor.__dict__",
       {"softmax": [(SOFTMAX_BODY, "    return (torch.exp(x) / torch.exp(x).sum(dim=1, keepdim=True)) if torch.Tensor.__dict__ else x")]},
       {"3"}, "uses .__dict__: reflection")
mutant("allowlist: LogReg with the fused torch.addmm",
       {"logreg": [(FORWARD, "return log_softmax(torch.addmm(self.l1_b, x, self.l1_w))")]},
       {"4", "5e"}, "uses torch.addmm")
mutant("allowlist: LogReg normalises through Categorical(logits=...).logits",
       {"logreg": [(FORWARD, "return torch.distributions.Categorical(logits=x @ self.l1_w + self.l1_b).logits")]},
       {"4", "5e"}, "uses torch.distributions.Categorical")
mutant("allowlist: nll_loss as F.kl_div against a one-hot target",
       {"sgd": [(NLL, "return torch.nn.functional.kl_div(log_probs, torch.nn.functional.one_hot(y, log_probs.shape[1])"
                      ".to(log_probs.dtype), reduction='batchmean')")]},
       {"5a", "5e"}, "uses torch.nn.functional.kl_div")
mutant("allowlist: SGD steps a torch.optim.ASGD made at import (lambd=0: the same update)",
       {"sgd": [("from torch import nn\n", "from torch import nn\n\n_ASGD = torch.optim.ASGD([torch.zeros(1, requires_grad=True)], lr=0.01, lambd=0.0)\n"),
                ("        with torch.no_grad():\n            for p in self.params:\n                if p.grad is not None:\n"
                 "                    " + DECAY_THEN_STEP,
                 "        _ASGD.param_groups[0]['params'] = [p for p in self.params if p.grad is not None]\n"
                 "        _ASGD.param_groups[0]['lr'] = self.lr\n        _ASGD.step()")]},
       {"5b", "5e", "5f"}, "uses torch.optim.ASGD")


# --- exercise 5f (extension): weight decay in the hand-written SGD ---------------------------------
mutant("SGD weight decay: applied after the gradient step",
       {"sgd": [(DECAY_THEN_STEP, STEP + "\n                    if self.weight_decay:\n                        " + DECAY)]},
       {"5f"}, "minus the same step with weight_decay=0")
mutant("SGD weight decay: sign flipped", {"sgd": [(DECAY, "p += self.lr * self.weight_decay * p")]},
       {"5f"}, "zero gradients")
mutant("SGD weight decay: added to the gradient as well, so twice",
       {"sgd": [(DECAY, "p.grad += self.weight_decay * p\n                        " + DECAY)]},
       {"5f"}, "zero gradients")
mutant("SGD weight decay: the argument is ignored",
       {"sgd": [("        self.weight_decay = weight_decay\n", "        self.weight_decay = 0.0\n")]},
       {"5f"}, "zero gradients")
mutant("SGD weight decay: decays without the learning rate", {"sgd": [(DECAY, "p -= self.weight_decay * p")]},
       {"5f"}, "zero gradients")
mutant("SGD weight decay: torch.optim.SGD takes the decay step",
       {"sgd": [(DECAY, "torch.optim.SGD([p], lr=self.lr * self.weight_decay).step()")]},
       {"5b", "5e", "5f"}, "torch.optim.SGD")
KEEP_START = ("        self.weight_decay = weight_decay\n",
              "        self.weight_decay = weight_decay\n        self._p0 = {id(p): p.detach().clone() for p in self.params}\n")
mutant("SGD weight decay: always decays the parameters saved at the start (wrong from step 2)",
       {"sgd": [KEEP_START, (DECAY, "p -= self.lr * self.weight_decay * self._p0[id(p)]")]},
       {"5f"}, "zero gradients: weights after step 2", points={"5f": 4})
mutant("SGD weight decay: decays the start's parameters whenever the gradient is non-zero (wrong from step 2)",
       {"sgd": [KEEP_START, (DECAY, "if p.grad.any():\n                            p.sub_(self.lr * self.weight_decay * self._p0[id(p)])\n"
                                    "                        else:\n                            p.mul_(1 - self.lr * self.weight_decay)")]},
       {"5f"}, "steps with gradients: weights after step 2", points={"5f": 2})
STALE_WHEN_GRAD = ("if p.grad.any():\n                            p.sub_(self.lr * self.weight_decay * self._p0[id(p)])\n"
                   "                        else:\n                            p.mul_(1 - self.lr * self.weight_decay)")
mutant("SGD weight decay: the start's parameters decayed when the gradient is non-zero, on a step of 1.5 lr "
       "(5f graded against the student's own step)",
       {"sgd": [KEEP_START, (DECAY, STALE_WHEN_GRAD), (STEP, "p -= 1.5 * self.lr * p.grad")]},
       {"5b", "5f"}, "steps with gradients: weights after step 2", points={"5b": 4, "5f": 2})
# review (not a mistake of 5f): a plain step that accumulates every gradient so far (momentum 1, wrong for 5b)
# with a correct decay term; 5b loses its points, 5f must keep its 5 (it did before 7a10aec/d253028)
KEEP_SUM = ("        self.weight_decay = weight_decay\n", "        self.weight_decay = weight_decay\n        self._sum = {}\n")
mutant("SGD: plain step accumulates every gradient so far, the decay term right (5f keeps its points)",
       {"sgd": [KEEP_SUM, (STEP, "self._sum[id(p)] = self._sum.get(id(p), 0) + p.grad\n"
                                 "                    p -= self.lr * self._sum[id(p)]")]},
       {"5b"}, "matches torch.optim.SGD step for step", points={"5b": 4})


# --- appended last, so that the class of tests/insight_class.py (chosen in this order) keeps its members ---
# review F2: a device fixed by the first call passed the device check when that check got a fresh worker
mutant("softmax: a ones tensor made once, on the device of the first call",
       {"softmax": [("import torch\n", "import torch\n\n_ONE: list = []\n"),
                    (SOFTMAX_BODY, "    if not _ONE:\n        _ONE.append(torch.ones(1, device=x.device))\n"
                                   "    e = torch.exp(x)\n    return e / e.sum(dim=1)[:, None] * _ONE[0]")]},
       {"3"}, "on the meta device", points={"3": 1})
