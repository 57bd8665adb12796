"""The grading worker: a process that grades one submission at a time and streams its outcomes.

The `logreg-kit grade` process never imports torch. For each worker it first launches a
sandbox template (which imports torch inside bubblewrap), then forks the worker, which imports
torch and the checks and warms them up while the template starts: the two start-ups run side
by side. The worker keeps the grader data and the memoised reference answers between
submissions; every submission costs a fork from the warm template, not an import.

Messages sent to the parent, in order:
("ready", planned entries) once, when warm (or ("fatal", message) when it cannot start);
then per submission ("outcome", entry) per check and ("done", extra), or ("error", message)
when the submission cannot be opened at all.
"""
import ctypes
import os
import resource
import signal
import traceback
from multiprocessing.connection import Connection
from typing import Any

MISCLASSIFIED_KEPT = 24
PR_SET_PDEATHSIG = 1
CALL_TIMEOUT_S = 60.0  # one probe call; generous: a loaded 2-core machine slows the pipeline tenfold


def die_with_parent() -> None:
    """Linux: SIGKILL this worker when its parent goes (so kill -9 of the command leaves no orphans)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def planned_entries(message: str) -> list[dict[str, Any]]:
    """Every check, failed with `message` (or skipped where this machine cannot run it)."""
    from ..checks import CHECKS
    from ..harness import skip_reason

    entries = []
    for check in CHECKS:
        reason = skip_reason(check)
        entries.append({
            "name": check.name, "exercise": check.exercise, "score": 0.0,
            "max_score": 0.0 if reason else check.points, "status": "skipped" if reason else "failed",
            "output": reason or message, "visibility": "visible", "seconds": 0.0,
        })
    return entries


def check_entry(outcome: Any) -> dict[str, Any]:
    """The harness's Gradescope test entry for one outcome, plus exercise, status and time."""
    from ..harness import Report

    entry = Report("", [outcome]).gradescope()["tests"][0]
    entry.update(exercise=outcome.check.exercise, status=outcome.status, seconds=round(outcome.seconds, 3))
    return entry


def plain_artifacts(outcome: Any) -> dict[str, Any]:
    """JSON-able artifacts: the training losses, and the misclassified validation digits with
    their pixels (28x28 bytes, hex), so the report needs neither torch nor the data."""
    import torch

    from ..checks.registry import grader_data

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


def digit_bytes(x: Any) -> bytes:
    """One validation digit `x: (784,) float32` (normalised) as 784 grey levels, 0 = background."""
    import torch

    low, high = float(x.min()), float(x.max())
    scaled = (x - low) / (high - low) * 255 if high > low else x * 0
    return bytes(scaled.round().clamp(0, 255).to(torch.uint8).tolist())


def grade_streaming(folder: str, send: Any, sandbox: Any = None) -> tuple[dict[str, Any], str]:
    """Grade `folder` check by check, sending each entry as soon as it is known; returns the
    artifacts and why the submission could not be loaded ("" when it could).
    With `sandbox`, the submission runs in a worker forked from that warm template."""
    from ..backend import open_backend
    from ..checks import CHECKS
    from ..harness import run_check
    from ..sandbox import RemoteBackend

    backend = RemoteBackend(folder, sandbox=sandbox, timeout=CALL_TIMEOUT_S) if sandbox else open_backend(folder)
    artifacts: dict[str, Any] = {}
    try:
        for check in CHECKS:
            outcome = run_check(check, backend)
            artifacts.update(plain_artifacts(outcome))
            send(("outcome", check_entry(outcome)))
    finally:
        backend.close()
    return artifacts, str(getattr(backend, "broken", "") or "")


def warm_up(data: str, threads: int, memo: bool, cache: bool) -> tuple[Any, Any]:
    """Import torch and the checks, load the grader data and the reference's recorded answers
    (refcache.py); without them, pay torch's lazy first-use costs (optimiser, meta tensors) that
    running the reference will need, before the first student."""
    import torch

    from .. import checks  # noqa: F401 - registers the checks
    from ..checks import SETTINGS
    from ..checks.registry import grader_data
    from .memo import memoise_reference
    from .refcache import ReferenceCache

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


def worker_main(conn: Connection, sandbox: Any, data: str, threads: int, memo: bool, inherited: list[Any]) -> None:
    """Warm up, then serve grading requests (folder paths) until the parent closes the pipe.
    `inherited`: descriptors the fork copied from the parent that are not this worker's."""
    die_with_parent()
    for end in inherited:
        end.close()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # what student code prints must not garble the progress bar
    os.dup2(quiet, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        memo_backend, answers = warm_up(data, threads, memo, sandbox.use_bwrap)
        sandbox.ready()
        conn.send(("ready", planned_entries("")))
    except Exception as err:  # noqa: BLE001 - nothing can be graded: tell the parent why
        conn.send(("fatal", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"))
        return
    _serve(conn, sandbox, memo_backend, answers)  # the parent ends the template when it ends this worker


def _serve(conn: Connection, sandbox: Any, memo_backend: Any, answers: Any) -> None:
    while True:
        try:
            folder = conn.recv()
        except (EOFError, OSError):
            return
        try:
            artifacts, load_error = grade_streaming(folder, conn.send, sandbox)
        except (EOFError, BrokenPipeError):
            return
        except Exception as err:  # noqa: BLE001 - the submission could not be opened
            conn.send(("error", f"{type(err).__name__}: {err}"))
            continue
        extra = {
            "artifacts": artifacts,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "memo_hits": memo_backend.hits if memo_backend else 0,
        }
        if load_error:
            extra["message"] = load_error  # the gradebook's message column says why every check failed
        if answers is not None:
            extra["reference_saved"] = answers.save()  # only when this submission taught the memo something new
        conn.send(("done", extra))
