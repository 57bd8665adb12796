"""Checks for exercise 4: get_weights and the LogReg module."""
import torch

from ..diagnosis import logreg_mistakes, weights_mistakes
from ..feedback import (DEVICE_ATOL, DEVICE_RTOL, FLOAT32_ATOL, FLOAT32_RTOL, CheckFailure, describe, expect, expect_on_meta,
                        expect_tensor, recognised)
from ..i18n import N_, _
from ..probes import WEIGHT_STEP
from .registry import UNDECIDED, Student, check, on_meta, random_tensor, reference

N_PARAMS = 28 * 28 * 10 + 10  # 7,850
EXPECTED_PARAMS = {"l1_w": ((784, 10), "torch.float32"), "l1_b": ((10,), "torch.float32")}
INPUT_SHAPES = ((8, 784), (8, 28, 28), (8, 1, 28, 28))
GRAD_RTOL = 1e-4


def model_case(seed: int, n: int = 8) -> tuple[torch.Tensor, ...]:
    """Weights (784, 10), bias (10,), images (n, 784) and labels (n,), seeded."""
    w = random_tensor(seed, (784, 10), 0.05)
    b = random_tensor(seed + 1, (10,), 0.1)
    x = random_tensor(seed + 2, (n, 784))
    y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed + 3))
    return w, b, x, y


@check("4", "get_weights", N_("returns a trainable nn.Parameter of the asked shape"), 1,
       N_("a plain tensor is neither trainable nor registered by a Module: see torch.nn.Parameter"))
def weights_are_parameters(student: Student) -> None:
    for dims in ((784, 10), (10,), (3, 4, 5)):
        got = student.probe("weights", 0, dims)
        value, stepped = got["value"], got["stepped"]
        call = f"get_weights{dims}"
        expect(isinstance(value, torch.Tensor) and tuple(value.shape) == dims,
               _("{call} returned {got}, expected a tensor of shape {shape}", call=call, got=describe(value), shape=dims))
        expect(got["registered"] == ["w"],
               _("{call} returned a {got} that nn.Module does not register as a parameter: it is not an nn.Parameter",
                 call=call, got=describe(value)))
        expect(isinstance(stepped, torch.Tensor) and not torch.equal(stepped, value),
               _("{call} returned a parameter that does not require grad: an optimiser step left it unchanged", call=call))
        expect_tensor(stepped, value - WEIGHT_STEP, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
                      case=_("{call} after one step of {step} on d(sum w)/dw", call=call, step=WEIGHT_STEP))


@check("4", "get_weights", N_("draws randn(dims) / dims[0] from torch's generator"), 1,
       N_("compare with the docstring: the distribution, the scaling, one draw of all the numbers in the shape asked"),
       hint_for=("values",))
def weights_values(student: Student) -> None:
    for seed, dims in ((0, (784, 10)), (1, (10,))):
        expected = reference().probe("weights", seed, dims)["value"]
        got = student.probe("weights", seed, dims)["value"]
        expect_tensor(got, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("torch.manual_seed({seed}), dims {dims}", seed=seed, dims=dims),
                      mistakes=weights_mistakes(seed, dims))


@check("4", "LogReg", N_("registers l1_w (784, 10) and l1_b (10,): 7,850 parameters"), 2,
       N_("in __init__, after the parent's __init__, store the two parameters from get_weights as attributes named l1_w and l1_b"))
def logreg_parameters(student: Student) -> None:
    got = student.probe("logreg_structure", 0)
    expect(isinstance(got, dict) and all(isinstance(p, torch.Tensor) for p in got.values()),
           _("LogReg's named_parameters gave {got}, expected tensors by name", got=describe(got)))
    params = {name: (tuple(p.shape), str(p.dtype)) for name, p in got.items()}
    expect(params == EXPECTED_PARAMS, _("registered parameters: expected {expected}, got {got}", expected=EXPECTED_PARAMS,
                                        got=params or _("none")))
    total = sum(p.numel() for p in got.values())
    expect(total == N_PARAMS, _("expected {expected} parameters in all, got {got}", expected=N_PARAMS, got=total))


@check("4", "LogReg", N_("forward accepts (N, 784), (N, 28, 28) and (N, 1, 28, 28)"), 1,
       N_("each image becomes one row of 784, the batch dimension first (see Tensor.view)"), hint_for=("shape", "values"))
def logreg_input_shapes(student: Student) -> None:
    w, b, x, y = model_case(0)
    expected = reference().probe("logreg_forward", w, b, x, y)["out"]
    for shape in INPUT_SHAPES:
        got = student.probe("logreg_forward", w, b, x.reshape(shape), y)["out"]
        expect_tensor(got, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("x: {shape}", shape=shape), mistakes=logreg_mistakes(w, b, x))


@check("4", "LogReg", N_("forward matches the reference with the same weights"), 2,
       N_("compare your forward with the docstring's formula, log_softmax(x W + b), on the case shown"), hint_for=("shape", "values"))
def logreg_forward_matches(student: Student) -> None:
    for seed in (0, 10):
        w, b, x, y = model_case(seed, 32)
        expected = reference().probe("logreg_forward", w, b, x, y)["out"]
        got = student.probe("logreg_forward", w, b, x, y)["out"]
        expect_tensor(got, expected, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("seed {seed}, x: {shape}", seed=seed, shape=(32, 784)),
                      mistakes=logreg_mistakes(w, b, x))


@check("4", "LogReg", N_("outputs are log-probabilities (exp rows sum to one)"), 1,
       N_("the model's outputs are log-probabilities: the exp of each row should sum to one"))
def logreg_log_probabilities(student: Student) -> None:
    w, b, x, y = model_case(20)
    out = student.probe("logreg_forward", w, b, x, y)["out"]
    expect(isinstance(out, torch.Tensor) and out.ndim == 2,
           _("forward returned {got}, expected Tensor (N, 10)", got=describe(out)), "shape")
    try:
        expect_tensor(out.exp().sum(dim=1), torch.ones(len(x)), rtol=FLOAT32_RTOL, atol=1e-5, case=_("exp(model(x)) row sums"))
    except CheckFailure as err:
        raise CheckFailure(str(err), err.kind, recognised(out, logreg_mistakes(w, b, x), FLOAT32_RTOL, FLOAT32_ATOL)) from None


@check("4", "LogReg", N_("each row depends on its own image only: model(x[:5]) == model(x)[:5]"), 1,
       N_("look for a reshape, transpose or sum that mixes the batch dimension: each output row may use its own image only"))
def logreg_rows_independent(student: Student) -> None:
    w, b, x, y = model_case(30, 16)
    got = student.probe("logreg_forward", w, b, x, y)
    expect_tensor(got["first5"], got["out"][:5], rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL, case=_("model(x[:5]) vs model(x)[:5]"))


@check("4", "LogReg", N_("gradients of l1_w and l1_b match the reference"), 1,
       N_("a .data, a .detach(), a copy or an in-place edit of a parameter cuts or changes its autograd path"), visibility="hidden")
def logreg_gradients(student: Student) -> None:
    w, b, x, y = model_case(40, 16)
    expected = reference().probe("logreg_forward", w, b, x, y)
    got = student.probe("logreg_forward", w, b, x, y)
    for name, param in (("grad_w", "l1_w"), ("grad_b", "l1_b")):
        expect(got[name] is not None, _("{param} got no gradient from the loss: your model's output does not depend on "
                                        "{param} through autograd (it is not used, or used through .data, .detach() or a copy)",
                                        param=param))
        expect_tensor(got[name], expected[name], rtol=GRAD_RTOL, atol=FLOAT32_ATOL, case=_("{name} after nll backward", name=name))


@check("4", "LogReg", N_("runs on any device (built on the CPU, moved with .to('meta'))"), 1,
       N_("forward should work wherever the model and its input are: look for a tensor it creates or moves to one fixed device"),
       hint_for=("device",), needs="meta")
def logreg_any_device(student: Student) -> None:
    got = on_meta(student, "logreg_meta")
    if got is not UNDECIDED:
        expect_on_meta(got, (3, 10), _("LogReg() moved with .to('meta') and run on a meta input"))


@check("4", "LogReg", N_("same forward and gradients on CUDA as on the CPU"), 1,
       N_("a tensor moved or created on one fixed device gives different results, or none, on another"), needs="cuda")
def logreg_cuda(student: Student) -> None:
    w, b, x, y = model_case(50, 64)
    cpu = student.probe("logreg_forward", w, b, x, y, "cpu")
    cuda = student.probe("logreg_forward", w, b, x, y, "cuda")
    for name in ("out", "grad_w", "grad_b"):
        expect_tensor(cuda[name], cpu[name], rtol=DEVICE_RTOL, atol=DEVICE_ATOL, case=_("{name}, CUDA vs CPU", name=name))
