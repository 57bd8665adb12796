"""Checks for exercise 3 (softmax, log_softmax) and its extension (a stable log_softmax)."""
import torch

from ..feedback import (
    DEVICE_ATOL,
    DEVICE_RTOL,
    FLOAT32_ATOL,
    FLOAT32_RTOL,
    FLOAT64_ATOL,
    FLOAT64_RTOL,
    CheckFailure,
    describe,
    expect,
    expect_on_meta,
    expect_tensor,
    recognised,
    where,
)
from ..diagnosis import log_softmax_mistakes, softmax_mistakes
from ..i18n import N_, _
from .registry import UNDECIDED, Student, check, on_meta, random_tensor, reference

SHAPES = ((1, 2), (5, 10), (64, 10), (3, 1000))
LOGIT_SCALE = 3.0
LARGE_LOGITS = 1e4  # the extension: log_softmax must stay finite this far out
LARGE_LOGITS_TEXT = f"{LARGE_LOGITS:.0e}".replace("e+0", "e")  # "1e4", as the messages write it
LOG_ATOL = 1e-5  # log of a float32 probability vs the shifted formula


def _cases() -> list[tuple[str, torch.Tensor]]:
    return [(_("seed {seed}, x: {shape}", seed=seed, shape=shape), random_tensor(seed, shape, LOGIT_SCALE))
            for seed, shape in enumerate(SHAPES)]


MISTAKES = {"softmax": softmax_mistakes, "log_softmax": log_softmax_mistakes}


def _matches(student: Student, name: str, atol: float) -> None:
    for case, x in _cases():
        expected = reference().call(name, x)
        expect_tensor(student.call(name, x), expected, rtol=FLOAT32_RTOL, atol=atol, case=case, mistakes=MISTAKES[name](x))


@check("3", "softmax", N_("matches the reference on random logits"), 2,
       N_("compare your output with the docstring's formula on one row of the case shown: which entries does each sum cover?"))
def softmax_matches(student: Student) -> None:
    _matches(student, "softmax", FLOAT32_ATOL)


@check("3", "softmax", N_("rows sum to one"), 1,
       N_("each row's classes should sum to one: look at which entries your code adds up for each row"))
def softmax_rows_sum_to_one(student: Student) -> None:
    for case, x in _cases():
        got = student.call("softmax", x)
        expect(isinstance(got, torch.Tensor), where(_("expected a torch.Tensor, got {got}", got=describe(got)), case), "type")
        try:
            expect_tensor(got.sum(dim=1), torch.ones(len(x)), rtol=FLOAT32_RTOL, atol=1e-5,
                          case=_("row sums, {case}", case=case))
        except CheckFailure as err:
            raise CheckFailure(str(err), err.kind, recognised(got, softmax_mistakes(x), FLOAT32_RTOL, FLOAT32_ATOL)) from None


@check("3", "softmax", N_("keeps float64 inputs in float64"), 1,
       N_("a tensor your code builds with a fixed dtype (or a .float()) turns float64 into float32: work on x itself"),
       hint_for=("dtype",))
def softmax_keeps_dtype(student: Student) -> None:
    x = random_tensor(7, (4, 6), LOGIT_SCALE).double()
    expect_tensor(student.call("softmax", x), reference().call("softmax", x), rtol=FLOAT64_RTOL, atol=FLOAT64_ATOL,
                  case=_("x: {shape} {dtype}", shape=(4, 6), dtype="float64"), mistakes=softmax_mistakes(x))


@check("3", "softmax", N_("softmax and log_softmax both run on any device (checked on `meta`)"), 1,
       N_("a tensor moved or created on one fixed device (.cpu(), device='cpu') stops the code from running where x is"),
       hint_for=("device",), needs="meta")
def softmax_any_device(student: Student) -> None:
    for name in ("softmax", "log_softmax"):
        got = on_meta(student, "on_meta", name, (4, 10))
        if got is not UNDECIDED:
            expect_on_meta(got, (4, 10), _("{function} on a meta tensor {shape}", function=name, shape=(4, 10)))


@check("3", "log_softmax", N_("matches the reference on random logits"), 2,
       N_("compare your output with the log of your own softmax on the case shown"))
def log_softmax_matches(student: Student) -> None:
    _matches(student, "log_softmax", LOG_ATOL)


@check("3", "log_softmax", N_("exp of each row sums to one"), 1,
       N_("log_softmax(x) is the log of softmax(x): exp of your output should be your softmax"))
def log_softmax_normalised(student: Student) -> None:
    for case, x in _cases():
        got = student.call("log_softmax", x)
        expect(isinstance(got, torch.Tensor), where(_("expected a torch.Tensor, got {got}", got=describe(got)), case), "type")
        try:
            expect_tensor(got.exp().sum(dim=1), torch.ones(len(x)), rtol=FLOAT32_RTOL, atol=1e-5,
                          case=_("exp row sums, {case}", case=case))
        except CheckFailure as err:
            raise CheckFailure(str(err), err.kind, recognised(got, log_softmax_mistakes(x), FLOAT32_RTOL, LOG_ATOL)) from None


@check("3", "softmax", N_("softmax's and log_softmax's gradients match the reference"), 1,
       N_("a .item(), a trip through numpy, a .detach() or an in-place edit cuts or changes the autograd graph"), visibility="hidden")
def softmax_gradients(student: Student) -> None:
    x, w = random_tensor(11, (6, 10), LOGIT_SCALE), random_tensor(12, (6, 10))
    for name in ("softmax", "log_softmax"):
        expected = reference().probe("gradient", name, x, w)
        expect_tensor(student.probe("gradient", name, x, w), expected, rtol=1e-4, atol=1e-5,
                      case=_("d/dx of {function}, x: {shape}", function=name, shape=(6, 10)))


@check("3x", "log_softmax", N_("finite and right for logits as large as 1e4"), 2,
       N_("exp(1e4) overflows to inf; log_softmax(x - c) equals log_softmax(x) for any constant c per row: which c keeps exp finite?"))
def log_softmax_stable(student: Student) -> None:
    for seed in (0, 1):
        x = (torch.rand((8, 10), generator=torch.Generator().manual_seed(seed)) * 2 - 1) * LARGE_LOGITS
        expected = reference().call("log_softmax", x)
        expect_tensor(student.call("log_softmax", x), expected, rtol=FLOAT32_RTOL, atol=LOG_ATOL,
                      case=_("seed {seed}, logits in [-{large}, {large}]", seed=seed, large=LARGE_LOGITS_TEXT))


@check("3", "softmax", N_("same results on CUDA as on the CPU"), 1,
       N_("a tensor moved or created on one fixed device gives different results, or none, on another"), needs="cuda")
def softmax_cuda(student: Student) -> None:
    for case, x in _cases():
        for name in ("softmax", "log_softmax"):
            cpu = student.probe("call_on", name, "cpu", x)
            cuda = student.probe("call_on", name, "cuda", x)
            expect(isinstance(cuda, torch.Tensor) and cuda.device.type == "cuda",
                   where(_("{function} on a CUDA tensor returned {got}, not a CUDA tensor", function=name, got=describe(cuda)),
                         case))
            expect_tensor(cuda.cpu(), cpu, rtol=DEVICE_RTOL, atol=DEVICE_ATOL,
                          case=_("{function} CUDA vs CPU, {case}", function=name, case=case))
