"""Checks for exercise 5: nll_loss, SGD, fit, predict, accuracy, and the whole pipeline."""
import math

import torch

from ..data import secret_order
from ..feedback import (
    DEVICE_ATOL,
    DEVICE_RTOL,
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    TRAINING_ATOL,
    TRAINING_RTOL,
    describe,
    expect,
    expect_float,
    expect_on_meta,
    expect_tensor,
    fail,
    CheckFailure,
    Mistakes,
)
from ..diagnosis import DATASET_ORDER, NO_UPDATE, ONE_ORDER, match_parameters, nll_mistakes, sgd_mistakes
from ..i18n import N_, _, ngettext
from ..probes import train_mark
from .logreg import model_case
from .registry import UNDECIDED, Student, check, grader_data, on_meta, random_tensor, reference

ACCURACY_THRESHOLD = 0.83  # reference: about 0.89 on the embedded data
TRAINING = {"lr": 0.01, "epochs": 5, "batch": 64, "seed": 0}
FIT_CASE = {"lr": 0.1, "epochs": 2, "batch": 64, "seed": 3}
FIT_EXAMPLES = 640
LRS = (0.1, 0.5)
SHUFFLE_CASE = {"lr": 0.1, "epochs": 3, "batch": 64, "seed": 4}
SHUFFLE_EXAMPLES = 192
PARAMETER_NAMES = (N_("weights"), N_("bias"))  # LogReg's two parameters, as the messages call them


def log_probs_case(seed: int, shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    logits = random_tensor(seed, shape, 2.0)
    y = torch.randint(0, shape[1], (shape[0],), generator=torch.Generator().manual_seed(seed))
    return logits - torch.logsumexp(logits, dim=1, keepdim=True), y


def sgd_case(seed: int) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    """Two parameters shaped like LogReg's and three steps of gradients."""
    init = [random_tensor(seed, (784, 10), 0.05), random_tensor(seed + 1, (10,), 0.1)]
    grads = [[random_tensor(seed + 10 * k + i, p.shape) for i, p in enumerate(init)] for k in range(1, 4)]
    return init, grads


def plain_sgd_values(init: list[torch.Tensor], grads: list[list[torch.Tensor]], lr: float) -> list[list[torch.Tensor]]:
    """The parameters after each step of torch.optim.SGD's update without momentum or weight decay,
    p <- p - lr * grad (the same `add(alpha=-lr)` it performs; computed here without torch.optim,
    whose first use costs the grader about 1.5 s of imports)."""
    params = [p.clone() for p in init]
    values = []
    for step in grads:
        params = [p.add(g, alpha=-lr) for p, g in zip(params, step)]
        values.append([p.clone() for p in params])
    return values


@check("5a", "nll_loss", N_("matches the reference on random log-probabilities"), 2,
       N_("each row contributes the log-probability at its label (one index tensor per dimension picks them); then the mean and the sign"),
       hint_for=("values", "error"))
def nll_matches(student: Student) -> None:
    for seed, shape in enumerate(((1, 2), (8, 10), (64, 10))):
        lp, y = log_probs_case(seed, shape)
        expected = reference().call("nll_loss", lp, y)
        expect_tensor(student.call("nll_loss", lp, y), expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                      case=_("seed {seed}, log_probs: {shape}", seed=seed, shape=shape), mistakes=nll_mistakes(lp, y))


@check("5a", "nll_loss", N_("keeps the autograd graph (gradients match the reference)"), 1,
       N_("a .item() or float() inside turns the loss into a plain number that autograd cannot follow"), visibility="hidden",
       hint_for=("error",))
def nll_gradients(student: Student) -> None:
    lp, y = log_probs_case(5, (16, 10))
    weight = torch.ones(())
    expected = reference().probe("gradient", "nll_loss", lp, weight, (y,))
    expect_tensor(student.probe("gradient", "nll_loss", lp, weight, (y,)), expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("d loss / d log_probs"))


@check("5b", "SGD", N_("matches torch.optim.SGD step for step"), 3,
       N_("step() moves each parameter against its gradient scaled by lr, with autograd not recording the update; the params must be kept so they can be gone through again"))
def sgd_matches_torch(student: Student) -> None:
    for lr in LRS:
        init, grads = sgd_case(int(lr * 10))
        got = student.probe("sgd_trace", init, grads, lr)["values"]
        for k, (got_step, want_step) in enumerate(zip(got, plain_sgd_values(init, grads, lr)), start=1):
            diagnosis = match_parameters(got_step, sgd_mistakes(init, grads, lr, k), FLOAT32_RTOL, FLOAT32_ATOL)
            for name, g, e in zip(PARAMETER_NAMES, got_step, want_step):
                try:
                    expect_tensor(g, e, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                                  case=_("lr={lr}, {name} after step {step}", lr=lr, name=_(name), step=k))
                except CheckFailure as err:
                    raise CheckFailure(str(err), err.kind, diagnosis) from None


@check("5b", "SGD", N_("zero_grad clears every gradient"), 1,
       N_("after zero_grad no parameter may keep a gradient: see what Parameter.grad holds"))
def sgd_zero_grad(student: Student) -> None:
    init, grads = sgd_case(1)
    got = student.probe("sgd_trace", init, grads, 0.1, "cpu", True)
    left = [k + 1 for k, step in enumerate(got["grads_after_zero_grad"])
            if not all(g is None or (isinstance(g, torch.Tensor) and not bool(g.any())) for g in step)]
    expect(not left, _("gradients left after zero_grad at steps {steps}", steps=left))
    for k, (got_step, want_step) in enumerate(zip(got["values"], plain_sgd_values(init, grads, 0.1)), start=1):
        for name, g, e in zip(PARAMETER_NAMES, got_step, want_step):
            expect_tensor(g, e, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                          case=_("{name} after step {step}, gradients added up by backward as in a training loop",
                                 name=_(name), step=k))


@check("5b", "SGD", N_("runs on any device (checked on `meta`)"), 1,
       N_("a tensor moved or created on one fixed device stops the step from running where the parameters are"),
       hint_for=("device",), needs="meta")
def sgd_any_device(student: Student) -> None:
    init, grads = sgd_case(2)
    trace = on_meta(student, "sgd_trace", init, grads[:1], 0.1, "meta")
    if trace is UNDECIDED:
        return
    for name, value, want in zip(PARAMETER_NAMES, trace["values"][0], init):
        expect_on_meta(value, tuple(want.shape), _("SGD.step on {name} on the meta device", name=_(name)))


@check("5b", "SGD", N_("same steps on CUDA as on the CPU"), 1,
       N_("a tensor moved or created on one fixed device gives different results, or none, on another"), needs="cuda")
def sgd_cuda(student: Student) -> None:
    init, grads = sgd_case(3)
    cpu = student.probe("sgd_trace", init, grads, 0.1, "cpu")["values"]
    cuda = student.probe("sgd_trace", init, grads, 0.1, "cuda")["values"]
    for k, (c, g) in enumerate(zip(cpu, cuda), start=1):
        for a, b in zip(c, g):
            expect_tensor(b, a, rtol=DEVICE_RTOL, atol=DEVICE_ATOL, case=_("step {step}, CUDA vs CPU", step=k))


def _fit_inputs(n: int = FIT_EXAMPLES) -> tuple[torch.Tensor, ...]:
    data = grader_data()
    w, b, _x, _y = model_case(60)
    return w, b, data.x_train[:n], data.y_train[:n]


def batch_orders(seed: int, n: int, passes: int) -> list[torch.Tensor]:
    """One shuffled order of the n examples per pass over the loader (the grader's choice, seeded)."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(n, generator=generator) for _pass in range(passes)]


def _fit(who: Student, inputs: tuple[torch.Tensor, ...], cfg: dict[str, int | float], orders: list[torch.Tensor]) -> dict:
    return who.probe("fit_run", *inputs, cfg, orders)


def _orders(cfg: dict[str, int | float], n: int) -> list[torch.Tensor]:
    return batch_orders(int(cfg["seed"]), n, 2 * int(cfg["epochs"]))


def _expect_float_list(losses: object, n_batches: int) -> None:
    expect(isinstance(losses, list), _("fit returned {got}, expected a list", got=describe(losses)))
    expect(len(losses) == n_batches, ngettext("fit returned {n} loss, expected {expected} (epochs x minibatches)",
                                              "fit returned {n} losses, expected {expected} (epochs x minibatches)",
                                              len(losses), expected=n_batches))
    bad = [describe(v) for v in losses if not isinstance(v, float)]
    expect(not bad, _("losses must be Python floats, got {got}", got=sorted(set(bad))), "type")


@check("5c", "fit", N_("returns one Python float per minibatch"), 1,
       N_("fit returns a list with one Python number per minibatch of every epoch (see Tensor.item)"))
def fit_returns_losses(student: Student) -> None:
    losses = _fit(student, _fit_inputs(), FIT_CASE, _orders(FIT_CASE, FIT_EXAMPLES))["losses"]
    _expect_float_list(losses, FIT_CASE["epochs"] * math.ceil(FIT_EXAMPLES / FIT_CASE["batch"]))


@check("5c", "fit", N_("trains like the reference: same losses and weights"), 2,
       N_("check the order of the steps for each minibatch: loss, backward, optimiser step, clearing the gradients"), visibility="hidden")
def fit_matches(student: Student) -> None:
    inputs, orders = _fit_inputs(), _orders(FIT_CASE, FIT_EXAMPLES)
    expected = _fit(reference(), inputs, FIT_CASE, orders)
    got = _fit(student, inputs, FIT_CASE, orders)
    _expect_float_list(got["losses"], len(expected["losses"]))
    expect_tensor(_losses(got), _losses(expected), rtol=TRAINING_RTOL, atol=TRAINING_ATOL, case=_("loss of every minibatch"),
                  mistakes=_fit_mistakes(inputs, orders))
    expect_tensor(got["w"], expected["w"], rtol=TRAINING_RTOL, atol=TRAINING_ATOL, case=_("l1_w after training"))


@check("5c", "fit", N_("iterates train_dl afresh every epoch (so a shuffling loader reshuffles)"), 1,
       N_("a shuffling loader reshuffles each time it is iterated: a list of its batches, or a loader of your own, keeps one order"))
def fit_reshuffles(student: Student) -> None:
    inputs, epochs = _fit_inputs(SHUFFLE_EXAMPLES), SHUFFLE_CASE["epochs"]
    fresh = _orders(SHUFFLE_CASE, SHUFFLE_EXAMPLES)
    got = _fit(student, inputs, SHUFFLE_CASE, fresh)
    _expect_float_list(got["losses"], epochs * math.ceil(SHUFFLE_EXAMPLES / SHUFFLE_CASE["batch"]))
    if _same_losses(got, _fit(reference(), inputs, SHUFFLE_CASE, fresh)):
        return
    one_order = _same_losses(got, _fit(reference(), inputs, SHUFFLE_CASE, fresh[:1]))
    seen = _("; every epoch saw the first epoch's order of minibatches") if one_order else ""
    expect(got["passes"] == epochs and not one_order,
           ngettext("fit iterated train_dl {n} time in {epochs} epochs{seen}: "
                    "without a fresh pass per epoch a shuffling loader cannot shuffle",
                    "fit iterated train_dl {n} times in {epochs} epochs{seen}: "
                    "without a fresh pass per epoch a shuffling loader cannot shuffle", got["passes"], epochs=epochs,
                    seen=seen))
    fail(_("the losses differ from the reference's on a loader that shuffles every epoch: "
           "check that each epoch runs every minibatch once, in the order train_dl gives it"))


def _losses(run: dict) -> torch.Tensor:
    return torch.tensor(run["losses"], dtype=torch.float64)


def _fit_mistakes(inputs: tuple[torch.Tensor, ...], orders: list[torch.Tensor]) -> Mistakes:
    """The losses the reference's fit gives when it makes a known mistake: no update (lr 0), one
    order for every epoch, the dataset's own order."""
    still = {**FIT_CASE, "lr": 0.0}
    in_order = [torch.arange(len(inputs[2]))]
    return ((NO_UPDATE, lambda: _losses(_fit(reference(), inputs, still, orders))),
            (ONE_ORDER, lambda: _losses(_fit(reference(), inputs, FIT_CASE, orders[:1]))),
            (DATASET_ORDER, lambda: _losses(_fit(reference(), inputs, FIT_CASE, in_order))))


def _same_losses(a: dict, b: dict) -> bool:
    la, lb = a["losses"], b["losses"]
    return len(la) == len(lb) and torch.allclose(torch.tensor(la, dtype=torch.float64), torch.tensor(lb, dtype=torch.float64),
                                                 rtol=TRAINING_RTOL, atol=TRAINING_ATOL)


@check("5d", "predict", N_("returns the model's outputs in eval mode, without autograd"), 1,
       N_("switch the model to evaluation mode and turn gradient tracking off while it runs (see nn.Module.eval, torch.no_grad)"))
def predict_outputs(student: Student) -> None:
    w, b, x, _y = model_case(70, 20)
    got = student.probe("predict_run", w, b, x)
    expected = reference().probe("predict_run", w, b, x)["out"]
    out = got["out"]
    in_training_mode = (isinstance(out, torch.Tensor) and out.shape == expected.shape and out.dtype == expected.dtype
                        and torch.allclose(out - train_mark(out.shape[-1]), expected, rtol=FLOAT32_RTOL, atol=1e-4))
    expect(not in_training_mode, _("the model ran in training mode inside predict: its outputs carry the mark the grader's "
                                   "model adds in training mode"))
    expect_tensor(out, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("predict(model, x), x: {shape}", shape=(20, 784)))
    expect(not got["tracked"], _("predict's output has a grad_fn: autograd recorded the model's run inside predict"))


@check("5d", "accuracy", N_("matches argmax accuracy and returns a Python float"), 1,
       N_("a row's predicted class is its largest score over the classes; the accuracy is the share of rows whose prediction is y"),
       hint_for=("values", "error"))
def accuracy_matches(student: Student) -> None:
    for seed, n in ((0, 1), (1, 10), (2, 1000)):
        preds, y = log_probs_case(seed, (n, 10))
        expected = reference().call("accuracy", preds, y)
        expect_float(student.call("accuracy", preds, y), expected, rtol=0, atol=1e-6, case=_("seed {seed}, preds: {shape}", seed=seed, shape=(n, 10)))


@check("5e", "pipeline", N_("your LogReg, SGD and fit reach {threshold:.0%} validation accuracy"), 3,
       N_("train with the lesson's settings (lr 0.01, 5 epochs, batch 64); check each exercise above first"),
       uses=("4", "5a", "5b", "5c", "5d"), visibility="hidden", title_params={"threshold": ACCURACY_THRESHOLD})
def pipeline_accuracy(student: Student) -> None:
    acc = validation_accuracy(student, TRAINING["seed"])
    expect(acc >= ACCURACY_THRESHOLD, _("validation accuracy {accuracy:.3f}, expected at least {threshold}", accuracy=acc,
                                        threshold=ACCURACY_THRESHOLD))


def validation_accuracy(student: Student, seed: int) -> float:
    """Train the student's pipeline with the lesson's settings and `seed`; score it on the validation split.

    The worker gets the validation images in a secret random order (data.secret_order, drawn
    afresh per call and kept here), so labels recomputed from the seeded split do not line up;
    the predictions are scored against the labels in the same order and stored in the split's order."""
    data = grader_data()
    order = secret_order(len(data.y_valid))
    got = student.probe("pipeline", seed, data.x_train, data.y_train, data.x_valid[order], TRAINING)
    preds = got["preds"]
    want = (len(data.y_valid), 10)
    shaped = isinstance(preds, torch.Tensor) and tuple(preds.shape) == want
    student.artifacts.update(losses=got["losses"], valid_preds=_unshuffled(preds, order) if shaped else preds)
    expect(shaped, _("predict returned {got!r:.60} on the validation images, expected a tensor of shape {shape}",
                     got=preds, shape=want))
    expect(bool(torch.isfinite(preds).all()), _("predictions contain NaN or inf: the training diverged"))
    return (preds.argmax(dim=1) == data.y_valid[order]).float().mean().item()


def _unshuffled(preds: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """preds[i] answers x_valid[order[i]]: rows put back in the split's order."""
    restored = torch.empty_like(preds)
    restored[order] = preds
    return restored


# --- exercise 5f (extension): weight decay in the hand-written SGD --------------------------------
DECAYS = ((0.1, 0.01), (0.5, 0.2))  # (lr, weight_decay): a small decay, and one that shows a misplaced step
DECAY_STEPS = 3
# A trace of DECAY_STEPS steps compounds float32 rounding: each step may differ from the reference's
# by the one-step tolerance, so the trace allows that much per step.
DECAY_TRACE_RTOL = DECAY_STEPS * FLOAT32_RTOL
DECAY_TRACE_ATOL = DECAY_STEPS * FLOAT32_ATOL


def _decay_trace(who: Student, init: list[torch.Tensor], grads: list[list[torch.Tensor]], lr: float,
                 weight_decay: float) -> list[list[torch.Tensor]]:
    """The parameters after each step of SGD(params, lr, weight_decay=weight_decay)."""
    return who.probe("sgd_trace", init, grads, lr, "cpu", False, {"weight_decay": weight_decay})["values"]


def _same_trace(got: list[list[object]], want: list[list[torch.Tensor]]) -> bool:
    """Whether every step's parameters in `got` match `want` within DECAY_TRACE_RTOL/ATOL."""
    return len(got) == len(want) and all(
        len(g_step) == len(w_step) and all(
            isinstance(g, torch.Tensor) and g.shape == w.shape and g.dtype == w.dtype
            and torch.allclose(g, w, rtol=DECAY_TRACE_RTOL, atol=DECAY_TRACE_ATOL) for g, w in zip(g_step, w_step))
        for g_step, w_step in zip(got, want))


def _minus(a: object, b: object) -> object:
    """a - b for two tensors of one shape and dtype; otherwise `a`, for expect_tensor to describe."""
    same = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
    return a - b if same else a


@check("5f", "SGD", N_("with zero gradients, each step shrinks the parameters like the reference's weight decay"), 2,
       N_("with no gradient, weight decay alone moves a parameter: by lr * weight_decay times its own value, every step"))
def sgd_decay_alone(student: Student) -> None:
    init, grads = sgd_case(20)
    zeros = [[torch.zeros_like(g) for g in step] for step in grads[:DECAY_STEPS]]
    for lr, wd in DECAYS:
        expected = _decay_trace(reference(), init, zeros, lr, wd)
        for k, (got_step, want_step) in enumerate(zip(_decay_trace(student, init, zeros, lr, wd), expected), start=1):
            for name, g, e in zip(PARAMETER_NAMES, got_step, want_step):
                expect_tensor(g, e, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                              case=_("lr={lr}, weight_decay={wd}, zero gradients: {name} after step {k}",
                                     lr=lr, wd=wd, name=_(name), k=k))


@check("5f", "SGD", N_("with gradients and weight decay, the parameters after every step match the reference's"), 2,
       N_("each step's decay term is lr * weight_decay * p for the p that step starts from (not the p of an earlier step), "
          "added once to the step against the gradient"))
def sgd_decay_step(student: Student) -> None:
    init, grads = sgd_case(30)
    for lr, wd in DECAYS:
        want = [_minus(a, b) for a, b in zip(_decay_trace(reference(), init, grads[:1], lr, wd)[0],
                                             _decay_trace(reference(), init, grads[:1], lr, 0.0)[0])]
        got = [_minus(a, b) for a, b in zip(_decay_trace(student, init, grads[:1], lr, wd)[0],
                                            _decay_trace(student, init, grads[:1], lr, 0.0)[0])]
        for name, g, e in zip(PARAMETER_NAMES, got, want):
            expect_tensor(g, e, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                          case=_("lr={lr}: {name} after one step with weight_decay={wd}, minus the same step with "
                                 "weight_decay=0", lr=lr, name=_(name), wd=wd))
        _expect_decay_trace(student, init, grads[:DECAY_STEPS], lr, wd)


def _expect_decay_trace(student: Student, init: list[torch.Tensor], grads: list[list[torch.Tensor]], lr: float,
                        weight_decay: float) -> None:
    """Every step's parameters of a trace with non-zero gradients and weight decay.

    init: [(784, 10), (10,)] float32; grads: one such pair per step (len(grads) >= 2, so a decay of
    a stale p, saved at an earlier step, shows from step 2 on). Against the reference's trace when the
    student's steps without decay match the reference's, or the trace matches it anyway; otherwise (5b's
    checks report the plain step) against the student's own step without decay, taken from where each
    step starts, minus the decay term; not at all when that step depends on earlier steps."""
    got = _decay_trace(student, init, grads, lr, weight_decay)
    expected = _decay_trace(reference(), init, grads, lr, weight_decay)
    plain = _decay_trace(student, init, grads, lr, 0.0)
    if not _same_trace(plain, _decay_trace(reference(), init, grads, lr, 0.0)) and not _same_trace(got, expected):
        if not _step_has_no_memory(student, init, plain, grads, lr):
            return  # a plain step that depends on earlier steps gives no baseline for the decay: 5b reports it
        expected = _own_steps_decayed(student, init, got, grads, lr, weight_decay)
    for k, (got_step, want_step) in enumerate(zip(got, expected), start=1):
        for name, g, e in zip(PARAMETER_NAMES, got_step, want_step):
            expect_tensor(g, e, rtol=DECAY_TRACE_RTOL, atol=DECAY_TRACE_ATOL,
                          case=_("lr={lr}, weight_decay={wd}, {n} steps with gradients: {name} after step {k}",
                                 lr=lr, wd=weight_decay, n=len(grads), name=_(name), k=k))


def _shaped_like(params: object, like: list[torch.Tensor]) -> bool:
    """Whether `params` is a list of tensors with the shapes and dtypes of `like`'s."""
    return isinstance(params, (list, tuple)) and len(params) == len(like) and all(
        isinstance(t, torch.Tensor) and t.shape == i.shape and t.dtype == i.dtype for t, i in zip(params, like))


def _step_has_no_memory(student: Student, init: list[torch.Tensor], plain: list[list[object]],
                        grads: list[list[torch.Tensor]], lr: float) -> bool:
    """Whether each step of the student's plain trace (`plain`, no decay) is what a fresh SGD's one step
    from that step's start gives: only then is a fresh one-step call a baseline for the decayed trace."""
    starts = [init] + list(plain[:-1])
    if len(plain) != len(grads) or not all(_shaped_like(start, init) for start in plain):
        return False
    fresh = [_decay_trace(student, start, [grad], lr, 0.0)[0] for start, grad in zip(starts, grads)]
    return _same_trace(fresh, [list(step) for step in plain])


def _own_steps_decayed(student: Student, init: list[torch.Tensor], got: list[list[object]],
                       grads: list[list[torch.Tensor]], lr: float, weight_decay: float) -> list[list[torch.Tensor]]:
    """What each step of `got` should be by the student's own step without decay: from the parameters
    the step starts at (init, then got's previous step), that step minus lr * weight_decay * start.
    Falls back to the reference's trace when `got` or a step is not tensors shaped like init."""
    starts = [init] + list(got[:-1])
    if len(got) != len(grads) or not all(_shaped_like(start, init) for start in starts):
        return _decay_trace(reference(), init, grads, lr, weight_decay)
    plains = [_decay_trace(student, start, [grad], lr, 0.0)[0] for start, grad in zip(starts, grads)]
    if not all(_shaped_like(plain, init) for plain in plains):
        return _decay_trace(reference(), init, grads, lr, weight_decay)
    return [[p - lr * weight_decay * s for p, s in zip(plain, start)] for plain, start in zip(plains, starts)]


@check("5f", "SGD", N_("weight_decay=0 steps as SGD without it, and weight_decay > 0 changes the steps"), 1,
       N_("weight_decay is a keyword argument of SGD whose default leaves plain SGD as it was"))
def sgd_decay_zero(student: Student) -> None:
    init, grads = sgd_case(40)
    plain = student.probe("sgd_trace", init, grads, 0.1)["values"]
    for k, (zero_step, plain_step) in enumerate(zip(_decay_trace(student, init, grads, 0.1, 0.0), plain), start=1):
        for name, z, p in zip(PARAMETER_NAMES, zero_step, plain_step):
            expect_tensor(z, p, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                          case=_("{name} after step {k}: weight_decay=0 against no weight_decay argument", name=_(name), k=k))
    decayed = _decay_trace(student, init, grads, 0.1, 0.1)[-1]
    moved = [isinstance(d, torch.Tensor) and not torch.equal(d, p) for d, p in zip(decayed, plain[-1])]
    still = [name for name, m in zip(PARAMETER_NAMES, moved) if not m]
    if len(still) == 2:
        expect(False, _("weight_decay=0.1 left the weights and the bias as plain SGD leaves them after {n} steps",
                        n=len(grads)))
    expect(not still, _("weight_decay=0.1 left the {name} as plain SGD leaves it after {n} steps",
                        name=_(still[0]) if still else "", n=len(grads)))
