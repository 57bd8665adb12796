"""The grading worker: a process that grades one submission at a time and streams its outcomes.

Workers are forked from a forkserver that has already imported torch and the checks, so a
new worker (after a timeout or a crash) costs a fork, not an import. Each keeps the grader
data and the memoised reference answers between submissions.

Messages sent to the parent, in order, for one submission:
("outcome", entry) per check, then ("done", extra); or ("error", message) when the
submission cannot be opened at all.
"""
import ctypes
import os
import resource
import signal
from multiprocessing.connection import Connection
from typing import Any

import torch

from .. import checks  # noqa: F401 - registers the checks (imported once, in the forkserver)
from ..backend import open_backend
from ..sandbox import RemoteBackend, Sandbox
from ..checks import CHECKS, SETTINGS
from ..checks.registry import grader_data
from ..harness import Outcome, Report, run_check
from .memo import memoise_reference

MISCLASSIFIED_KEPT = 24
PR_SET_PDEATHSIG = 1


CALL_TIMEOUT_S = 60.0  # one probe call; generous: a loaded 2-core machine slows the pipeline tenfold


def die_with_parent() -> None:
    """Linux: SIGKILL this worker when its parent goes (so kill -9 of the command leaves no orphans)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def check_entry(outcome: Outcome) -> dict[str, Any]:
    """The harness's Gradescope test entry for one outcome, plus exercise, status and time."""
    entry = Report("", [outcome]).gradescope()["tests"][0]
    entry.update(exercise=outcome.check.exercise, status=outcome.status, seconds=round(outcome.seconds, 3))
    return entry


def plain_artifacts(outcome: Outcome) -> dict[str, Any]:
    """JSON-able artifacts: the training losses and the misclassified validation digits."""
    found: dict[str, Any] = {}
    losses = outcome.artifacts.get("losses")
    if isinstance(losses, list) and all(isinstance(v, (int, float)) for v in losses):
        found["losses"] = [float(v) for v in losses]
    preds = outcome.artifacts.get("valid_preds")
    y = grader_data().y_valid
    if isinstance(preds, torch.Tensor) and tuple(preds.shape) == (len(y), 10) and bool(torch.isfinite(preds).all()):
        labels = preds.argmax(dim=1)
        wrong = (labels != y).nonzero().flatten()
        found["accuracy"] = float((labels == y).float().mean())
        found["misclassified"] = [[int(i), int(y[i]), int(labels[i])] for i in wrong[:MISCLASSIFIED_KEPT]]
    return found


def grade_streaming(folder: str, send: Any, sandbox: Any = None) -> dict[str, Any]:
    """Grade `folder` check by check, sending each entry as soon as it is known.
    With `sandbox`, the submission runs in a worker forked from that warm template."""
    backend = RemoteBackend(folder, sandbox=sandbox, timeout=CALL_TIMEOUT_S) if sandbox else open_backend(folder)
    artifacts: dict[str, Any] = {}
    try:
        for check in CHECKS:
            outcome = run_check(check, backend)
            artifacts.update(plain_artifacts(outcome))
            send(("outcome", check_entry(outcome)))
    finally:
        backend.close()
    return artifacts


def worker_main(conn: Connection, data: str, threads: int, memo: bool) -> None:
    """Serve grading requests (folder paths) until the parent closes the pipe."""
    die_with_parent()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # what student code prints must not garble the progress bar
    os.dup2(quiet, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch.set_num_threads(threads)
    SETTINGS.data = data
    grader_data()
    memo_backend = memoise_reference() if memo else None
    sandbox = Sandbox()  # one warm template per batch worker: a submission costs a fork, not a torch import
    try:
        while True:
            try:
                folder = conn.recv()
            except (EOFError, OSError):
                return
            try:
                artifacts = grade_streaming(folder, conn.send, sandbox)
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
            conn.send(("done", extra))
    finally:
        sandbox.close()
