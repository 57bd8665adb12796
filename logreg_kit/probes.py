"""Probes: small trusted functions that run next to the student's code and return plain data.

A check never touches student objects directly. It asks for a probe by name with
plain inputs (tensors, numbers); the probe builds the student's objects, exercises
them and returns tensors, numbers, strings, lists and dicts. The same probes run on
the reference to get expected values, so "compare with the reference" is always
"compare two probe results". In the hardened route a probe runs in the worker and
only its plain result crosses back.
"""
import copy
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from . import tripwire
from .exercises import is_stub_message
from .feedback import NOT_IMPLEMENTED
from .i18n import N_, _
from .impl import ImplementationError
from .plain import Foreign, plain  # noqa: F401 - re-exported: the plain data every probe returns


PROBES: dict[str, Callable[..., Any]] = {}
# The student function each probe exercises, declared with the probe (@probe(subject=...)), for
# messages such as "timed out after 10 s in fit"; NAMED: the function named by the probe's first argument.
PROBE_SUBJECTS: dict[str, str] = {}
NAMED = ""


def probe(subject: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a probe under its function's name, with the student function it exercises."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        PROBES[fn.__name__] = fn
        PROBE_SUBJECTS[fn.__name__] = subject
        return fn

    return register


def probe_subject(name: str, args: tuple[Any, ...]) -> str:
    """What the probe `name` called with `args` exercises: "fit", "softmax" (call("softmax", x)), ..."""
    subject = PROBE_SUBJECTS.get(name, name)
    if subject == NAMED:
        return str(args[0]) if args else name
    return _(subject)  # declared text (a function's name is left as it is by every catalogue)


class StudentError(Exception):
    """The student's code raised, hung or broke a rule while a probe ran it; the message says how."""


def explain(err: BaseException, owns: Any) -> str:
    """What went wrong in the student's code, pointing at its last line in their files."""
    if isinstance(err, (StudentError, ImplementationError, tripwire.FromScratchViolation)):
        return str(err)
    if is_untouched_stub(err):
        return f"{_(NOT_IMPLEMENTED)} ({err})" if str(err) else _(NOT_IMPLEMENTED)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if owns(f.filename)]
    # "FILE line N" stays as written in every language: cells.in_cells names the notebook's cell from it
    location = f"{frames[-1].filename.rsplit('/', 1)[-1]} line {frames[-1].lineno}" if frames else ""
    where = _(" at {location}", location=location) if frames else ""
    text = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
    raised = _("your code raised {error}{where}", error=type(err).__name__, where=where)
    return f"{raised}: {text}" if text else raised


def is_untouched_stub(err: BaseException) -> bool:
    """What an untouched stub raises: NotImplementedError("Exercise 3: softmax") in any language there
    is a catalogue for ("练习 3：softmax" from a Chinese bundle), or nbgrader's bare
    NotImplementedError() in a released notebook."""
    return isinstance(err, NotImplementedError) and (not str(err) or is_stub_message(str(err)))


# Trusted stand-ins, built from library functions, used to test one exercise apart from the others.
def trusted_log_softmax(x: torch.Tensor) -> torch.Tensor:
    return x - torch.logsumexp(x, dim=1, keepdim=True)


def trusted_nll(log_probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -log_probs.gather(1, y[:, None]).mean()


class TrustedLogReg(nn.Module):
    """The lesson's model written by the kit: l1_w (784, 10), l1_b (10,)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.l1_w = nn.Parameter(w.clone())
        self.l1_b = nn.Parameter(b.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return trusted_log_softmax(x.reshape(len(x), -1) @ self.l1_w + self.l1_b)


class TrustedSGD:
    """The kit's SGD for testing fit apart from the student's SGD: torch.optim.SGD's update without
    momentum or weight decay (p.add_(grad, alpha=-lr)), gradients set to None by zero_grad."""

    def __init__(self, params: Iterator[torch.Tensor], lr: float) -> None:
        self.params, self.lr = list(params), lr

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-self.lr)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None


class _Minibatch:
    """One minibatch taken whole ([x, y], one indexing per tensor), for the pipeline's own collate."""

    def __init__(self, stacked: list[torch.Tensor]) -> None:
        self.stacked = stacked


class BatchedTensorDataset(torch.utils.data.TensorDataset):
    """A TensorDataset that hands the pipeline's own loader (_loader, collating with _stacked) a minibatch
    taken whole: the same minibatches, bit for bit, in a fifth of the torch calls a training run makes
    under the tripwire's function mode (5e: 40,000 of its 50,000 were per-example __getitem__). Any other
    caller (a loader the student builds over the dataset, a Subset) gets what a TensorDataset gives: one
    `self[i]` per example, views of the dataset's own tensors."""

    def __getitems__(self, indices: list[int]) -> Any:
        fetcher = sys._getframe(1).f_locals.get("self")  # DataLoader's fetcher, when one is calling
        if getattr(fetcher, "collate_fn", None) is _stacked and getattr(fetcher, "dataset", None) is self:
            return _Minibatch([t[indices] for t in self.tensors])
        return [self[i] for i in indices]


def _stacked(samples: Any) -> Any:
    """The minibatch [x, y] as default_collate stacks it: taken whole from a _Minibatch."""
    return samples.stacked if isinstance(samples, _Minibatch) else torch.utils.data.default_collate(samples)


def _loader(x: torch.Tensor, y: torch.Tensor, batch: int, seed: int) -> torch.utils.data.DataLoader:
    """The lesson's shuffling loader: minibatches of `batch` examples, in an order drawn from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    data = BatchedTensorDataset(x, y)
    return torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, generator=generator, collate_fn=_stacked)


class OrderedLoader:
    """A shuffling loader whose orders the grader chooses: pass k over it (each `iter()`) yields the
    minibatches of `orders[k]` (cycling), however the loop walks it (`for`, `iter`/`next`, stopping
    at `len()` or running into StopIteration). The passes are counted for messages only."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch: int, orders: list[torch.Tensor]) -> None:
        self.dataset = torch.utils.data.TensorDataset(x, y)
        self.batch_size = batch
        self.orders = orders
        self.passes = 0

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = self.orders[self.passes % len(self.orders)]
        self.passes += 1
        x, y = self.dataset.tensors
        return iter([(x[idx], y[idx]) for idx in order.split(self.batch_size)])

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)


def _parameters(model: nn.Module, names: tuple[str, ...]) -> list[torch.Tensor]:
    found = dict(model.named_parameters())
    missing = [n for n in names if n not in found]
    if missing:
        raise ImplementationError(
            _("LogReg has no registered parameter {missing} (registered: {found}); wrap tensors in nn.Parameter",
              missing=", ".join(missing), found=", ".join(found) or _("none"))
        )
    return [found[n] for n in names]


@probe(subject=NAMED)
def call(impl: Any, name: str, *args: Any) -> Any:
    """impl.name(*args), on copies of the arguments."""
    return impl.get(name)(*copy.deepcopy(args))


@probe(subject=NAMED)
def call_many(impl: Any, name: str, cases: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """impl.name(*args) for every args in `cases`, in order, in one round trip: ("ok", result) or
    ("error", what went wrong) per case (an error in one case does not stop the others)."""
    answers: list[tuple[str, Any]] = []
    for args in cases:
        try:
            answers.append(("ok", plain(impl.get(name)(*copy.deepcopy(args)))))
        except Exception as err:  # noqa: BLE001 - anything the student's code raises, per case
            answers.append(("error", explain(err, impl.owns)))
    return answers


@probe(subject=NAMED)
def call_on(impl: Any, name: str, device: str, *args: Any) -> Any:
    """impl.name(*args) with tensor arguments moved to `device` (results come back as they are)."""
    moved = [a.to(device) if isinstance(a, torch.Tensor) else a for a in copy.deepcopy(args)]
    return impl.get(name)(*moved)


@probe(subject=NAMED)
def gradient(impl: Any, name: str, x: torch.Tensor, weights: torch.Tensor, extra: tuple[Any, ...] = ()) -> torch.Tensor:
    """d/dx sum(impl.name(x, *extra) * weights): checks that the function is differentiable and right."""
    x = x.clone().requires_grad_(True)
    (impl.get(name)(x, *copy.deepcopy(extra)) * weights).sum().backward()
    if x.grad is None:
        raise ImplementationError(_("{name}(x) is not connected to x in the autograd graph", name=name))
    return x.grad


def _on_cpu_first(call: Callable[[], Any]) -> None:
    """Run `call` (the student's code on CPU inputs) and drop its result or error: a device check
    then sees the code after a CPU call in the same worker, as the lesson runs it, whichever worker
    and check order it gets (state kept from a first call shows; the CPU checks grade the result)."""
    try:
        call()
    except Exception:  # noqa: BLE001 -- the CPU checks report it; the meta call below is what is graded
        pass


@probe(subject=NAMED)
def on_meta(impl: Any, name: str, shape: tuple[int, ...]) -> Any:
    """impl.name on a CPU tensor, then on a `meta` tensor (code hard-wired to one device fails there);
    the meta result as it is."""
    _on_cpu_first(lambda: impl.get(name)(torch.zeros(shape)))
    return impl.get(name)(torch.empty(shape, device="meta"))


WEIGHT_STEP = 0.5  # the trusted step the weights probe takes on a registered parameter


@probe(subject="get_weights")
def weights(impl: Any, seed: int, dims: tuple[int, ...]) -> dict[str, Any]:
    """get_weights(*dims) after torch.manual_seed(seed), then set as an attribute of an nn.Module, which
    registers it only if it is an nn.Parameter; every registered trainable parameter then takes one
    step p -= WEIGHT_STEP * d(sum p)/dp. The grader reads the facts from the values."""
    torch.manual_seed(seed)
    w = impl.get("get_weights")(*dims)
    value = w.detach().clone() if isinstance(w, torch.Tensor) else w
    holder = nn.Module()
    holder.w = w
    for p in holder.parameters():
        if p.requires_grad:
            p.sum().backward()
            with torch.no_grad():
                p -= WEIGHT_STEP * p.grad
    return {"value": value, "registered": [n for n, _param in holder.named_parameters()], "stepped": holder.w}


@probe(subject="LogReg")
def logreg_structure(impl: Any, seed: int) -> dict[str, torch.Tensor]:
    """The parameters a fresh LogReg() registers, by name."""
    torch.manual_seed(seed)
    model = impl.get("LogReg")()
    if not isinstance(model, nn.Module):
        raise ImplementationError(_("LogReg() returned {type}, not an nn.Module", type=type(model).__name__))
    return dict(model.named_parameters())


def _student_model(impl: Any, w: torch.Tensor, b: torch.Tensor, device: str) -> nn.Module:
    model = impl.get("LogReg")()
    if not isinstance(model, nn.Module):
        raise ImplementationError(_("LogReg() returned {type}, not an nn.Module", type=type(model).__name__))
    model = model.to(device)
    with torch.no_grad():
        for param, value in zip(_parameters(model, ("l1_w", "l1_b")), (w, b)):
            if param.shape != value.shape:
                raise ImplementationError(_("LogReg parameter has shape {got}, expected {expected}", got=tuple(param.shape),
                                            expected=tuple(value.shape)))
            param.copy_(value)
    return model


@probe(subject="LogReg")
def logreg_forward(impl: Any, w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor, device: str = "cpu") -> dict[str, Any]:
    """Forward and backward of the student's LogReg with given weights, log_softmax swapped for a trusted one."""
    with impl.substituted(log_softmax=trusted_log_softmax):
        model = _student_model(impl, w, b, device)
        out = model(x.to(device))
        trusted_nll(out, y.to(device)).backward()
        first5 = model(x[:5].to(device))
    grad_w, grad_b = (None if p.grad is None else p.grad.cpu() for p in _parameters(model, ("l1_w", "l1_b")))
    return {"out": out.cpu(), "first5": first5.cpu(), "grad_w": grad_w, "grad_b": grad_b}  # None: no gradient


@probe(subject="LogReg")
def logreg_meta(impl: Any) -> Any:
    """The output of a LogReg built as the lesson builds it (on the CPU), then moved to the `meta`
    device as the lesson moves it (`LogReg().cuda()`), and run on a meta input; as it is."""
    with impl.substituted(log_softmax=trusted_log_softmax):
        _on_cpu_first(lambda: impl.get("LogReg")()(torch.zeros(3, 784)))
        model = impl.get("LogReg")().to("meta")
        return model(torch.empty(3, 784, device="meta"))


def _to_host(t: torch.Tensor | None, device: str) -> torch.Tensor | None:
    return None if t is None else t.detach().to("meta" if device == "meta" else "cpu").clone()


@probe(subject="SGD")
def sgd_trace(impl: Any, init: list[torch.Tensor], grads: list[list[torch.Tensor]], lr: float, device: str = "cpu",
              accumulate: bool = False, options: dict[str, float] | None = None) -> dict[str, Any]:
    """Run the student's SGD over given gradients: per step, the parameters after step() and their
    gradients after zero_grad(). `accumulate` adds each gradient to what p.grad holds, as backward()
    does, so a zero_grad that clears nothing shows in the next step's values. `options`: keyword
    arguments of SGD besides params and lr ({"weight_decay": 0.1}, exercise 5f)."""
    if device != "cpu":
        _on_cpu_first(lambda: sgd_trace(impl, init, grads, lr, "cpu", accumulate, options))
    params = [p.to(device).clone().requires_grad_(True) for p in init]
    opt = impl.get("SGD")((p for p in params), lr, **(options or {}))
    values, left = [], []
    for step in grads:
        for p, g in zip(params, step):
            g = g.to(device).clone()
            p.grad = g if not accumulate or p.grad is None else p.grad + g
        opt.step()
        values.append([_to_host(p, device) for p in params])
        opt.zero_grad()
        left.append([_to_host(p.grad, device) for p in params])
    return {"values": values, "grads_after_zero_grad": left}


@probe(subject="fit")
def fit_run(impl: Any, w: torch.Tensor, b: torch.Tensor, x: torch.Tensor, y: torch.Tensor, cfg: dict[str, Any],
            orders: list[torch.Tensor]) -> dict[str, Any]:
    """The student's fit on a trusted model, optimiser and loss, over an OrderedLoader of `orders`."""
    model = TrustedLogReg(w, b)
    opt = TrustedSGD(model.parameters(), cfg["lr"])
    loader = OrderedLoader(x, y, cfg["batch"], orders)
    losses = impl.get("fit")(model, loader, trusted_nll, opt, cfg["epochs"])
    return {"losses": losses, "w": model.l1_w, "b": model.l1_b, "passes": loader.passes}


TRAIN_MARK = 100.0  # the least MarkedLogReg adds to an output while it is in training mode


def train_mark(classes: int) -> torch.Tensor:
    """What MarkedLogReg adds to each row of its outputs in training mode: (classes,) float32, TRAIN_MARK
    + 0, 1, 2, ... Not the same for every class, so renormalising a row (x - logsumexp(x)) keeps it."""
    return TRAIN_MARK + torch.arange(classes, dtype=torch.float32)


class MarkedLogReg(TrustedLogReg):
    """TrustedLogReg whose outputs show the mode it ran in: + train_mark in training mode."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out + train_mark(out.shape[-1]).to(out) if self.training else out


@probe(subject="predict")
def predict_run(impl: Any, w: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> dict[str, Any]:
    """predict on a MarkedLogReg left in training mode: its output, and whether it carries a graph."""
    out = impl.get("predict")(MarkedLogReg(w, b).train(), x)
    return {"out": out, "tracked": bool(getattr(out, "requires_grad", False))}


@probe(subject=N_("the training pipeline (LogReg, SGD, fit, predict)"))
def pipeline(impl: Any, seed: int, x: torch.Tensor, y: torch.Tensor, x_valid: torch.Tensor, cfg: dict[str, Any]) -> dict[str, Any]:
    """The student's LogReg, nll_loss, SGD, fit and predict together; returns validation scores.

    The validation labels never reach this probe: the grader scores the predictions.
    """
    with impl.substituted(log_softmax=trusted_log_softmax):
        torch.manual_seed(seed)
        model = impl.get("LogReg")()
        opt = impl.get("SGD")(model.parameters(), cfg["lr"])
        fit, loss = impl.get("fit"), impl.get("nll_loss")
        losses = fit(model, _loader(x, y, cfg["batch"], seed), loss, opt, cfg["epochs"])
        preds = impl.get("predict")(model, x_valid)
    return {"preds": preds, "losses": losses}
