"""What a batch worker does once forked (worker.py): warm up, grade one submission check by
check, and turn outcomes into plain, JSON-able entries for the parent. Imports torch, so the
torch-free `grade` process never imports this module; only its workers do.
"""
from typing import Any

import torch

from .. import checks  # noqa: F401 - registers the checks
from ..factory import open_backend
from ..checks import CHECKS, SETTINGS
from ..checks.registry import grader_data
from ..harness import Outcome, run_check, skip_reason
from ..sandbox import RemoteBackend
from ..paths import SOLUTIONS
from .fingerprint import check_fingerprint
from .memo import memoise_reference
from .refcache import ReferenceCache, fingerprint

MISCLASSIFIED_KEPT = 24
CALL_TIMEOUT_S = 60.0  # one probe call; generous: a loaded 2-core machine slows the pipeline tenfold


def planned_entries() -> list[dict[str, Any]]:
    """Every check as not yet graded: "error" (never ran) with no message, or skipped with the
    reason this machine cannot run it (the parent fills in the message of a submission that never
    ran); each with its own visibility, as the score table (results.py) writes it."""
    entries = []
    reference = fingerprint(SETTINGS.data, sorted(SOLUTIONS.glob("*.py")))
    for check in CHECKS:
        reason = skip_reason(check)
        planned = Outcome(check, "skipped" if reason else "error", reason or "", 0.0).result.to_entry()
        planned["fingerprint"] = {"check": check_fingerprint(check.fn), "reference": reference,
                                  "settings": f"data={SETTINGS.data}"}
        entries.append(planned)
    return entries


def check_entry(outcome: Outcome) -> dict[str, Any]:
    """One outcome as a record's entry (results.CheckResult.to_entry)."""
    return outcome.result.to_entry()


def plain_artifacts(outcome: Outcome) -> dict[str, Any]:
    """JSON-able artifacts: the training losses, and the misclassified validation digits with
    their pixels (28x28 bytes, hex), so the report needs neither torch nor the data."""
    found: dict[str, Any] = {}
    losses = outcome.artifacts.get("losses")
    if isinstance(losses, list) and all(isinstance(v, (int, float)) for v in losses):
        found["losses"] = [float(v) for v in losses]
    preds = outcome.artifacts.get("valid_preds")
    data = grader_data()
    y = data.y_valid
    if isinstance(preds, torch.Tensor) and tuple(preds.shape) == (len(y), 10) and bool(torch.isfinite(preds).all()):
        labels = preds.argmax(dim=1)
        wrong = (labels != y).nonzero().flatten()[:MISCLASSIFIED_KEPT]
        found["accuracy"] = float((labels == y).float().mean())
        found["misclassified"] = [[int(i), int(y[i]), int(labels[i])] for i in wrong]
        found["pixels"] = [digit_bytes(data.x_valid[int(i)]).hex() for i in wrong]
    return found


def digit_bytes(x: torch.Tensor) -> bytes:
    """One validation digit `x: (784,) float32` (normalised) as 784 grey levels, 0 = background."""
    low, high = float(x.min()), float(x.max())
    scaled = (x - low) / (high - low) * 255 if high > low else x * 0
    return bytes(scaled.round().clamp(0, 255).to(torch.uint8).tolist())


def grade_streaming(folder: str, send: Any, sandbox: Any = None,
                    names: list[str] | None = None) -> tuple[dict[str, Any], str]:
    """Grade `folder` check by check (only the checks in `names` when given), sending each entry
    as soon as it is known; returns the artifacts and why the submission could not be loaded
    ("" when it could). With `sandbox`, the submission runs in a worker forked from that warm template."""
    backend = RemoteBackend(folder, sandbox=sandbox, timeout=CALL_TIMEOUT_S) if sandbox else open_backend(folder)
    artifacts: dict[str, Any] = {}
    try:
        for check in CHECKS:
            if names is not None and check.name not in names:
                continue
            outcome = run_check(check, backend)
            artifacts.update(plain_artifacts(outcome))
            send(("outcome", check_entry(outcome)))
    finally:
        backend.close()
    return artifacts, str(getattr(backend, "broken", "") or "")


def warm_up(data: str, threads: int, memo: bool, cache: bool) -> tuple[Any, Any]:
    """Load the grader data and the reference's recorded answers
    (refcache.py); without them, pay torch's lazy first-use costs (optimiser, meta tensors) that
    running the reference will need, before the first student."""
    torch.set_num_threads(threads)
    SETTINGS.data = data
    grader_data()
    memo_backend = memoise_reference() if memo else None
    answers = ReferenceCache(memo_backend, data) if memo_backend is not None and cache else None
    if answers is None or not answers.load():
        p = torch.nn.Parameter(torch.zeros(2))
        p.grad = torch.ones(2)
        torch.optim.SGD([p], lr=0.1).step()  # imports torch._dynamo once (about 1.5 s)
        (torch.empty((2, 3), device="meta").exp() @ torch.empty((3, 2), device="meta")).sum()
    return memo_backend, answers
