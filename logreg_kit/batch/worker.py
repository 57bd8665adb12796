"""The grading worker: a process that grades one submission at a time and streams its outcomes.

The `logreg-kit grade` process never imports torch. For each worker it first launches a
sandbox template (which imports torch inside bubblewrap), then forks the worker, which imports
torch and the checks and warms them up while the template starts: the two start-ups run side
by side. The worker keeps the grader data and the memoised reference answers between
submissions; every submission costs a fork from the warm template, not an import.

This module stays torch-free (the parent imports it for `worker_main`); the grading itself is
in grading.py. Messages sent to the parent, in order:
("ready", planned entries) once, when warm (or ("fatal", message) when it cannot start);
then per request (folder, check names or None for all) ("outcome", entry) per check and
("done", extra), or ("error", message) when the submission cannot be opened at all.
"""
import ctypes
import os
import resource
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..i18n import set_language
from .regions import regions_of

PR_SET_PDEATHSIG = 1
# RLIMIT_AS of this trusted grading process (the checks, the reference, the data): a warm one
# peaks at about 0.8 GB of address space on the embedded digits; what a submission makes it
# allocate beyond the limit fails that check, or ends the worker (the submission is "crashed",
# the batch goes on). Its time is bounded by the per-submission timeout (pool.py).
GRADER_MEMORY_BYTES = 4 * 1024**3


def die_with_parent() -> None:
    """Linux: SIGKILL this worker when its parent goes (so kill -9 of the command leaves no orphans)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def bound_memory(limit: int = GRADER_MEMORY_BYTES) -> None:
    """Cap this process's address space (soft and hard: the worker cannot raise it again)."""
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a platform without RLIMIT_AS (macOS)
        pass


def worker_main(conn: Connection, sandbox: Any, data: str, threads: int, memo: bool, inherited: list[Any],
                lang: str = "en") -> None:
    """Warm up, then serve grading requests (folder paths) until the parent closes the pipe.
    `inherited`: descriptors the fork copied from the parent that are not this worker's; `lang`:
    the language of the feedback (checked by the parent)."""
    set_language(lang)
    die_with_parent()
    bound_memory()
    for end in inherited:
        end.close()
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # what student code prints must not garble the progress bar
    os.dup2(quiet, 2)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        from . import grading  # lazy: torch and the checks, imported here, after the fork

        memo_backend, answers = grading.warm_up(data, threads, memo, sandbox.use_bwrap)
        sandbox.ready()
        conn.send(("ready", grading.planned_entries()))
    except Exception as err:  # noqa: BLE001 - nothing can be graded: tell the parent why
        conn.send(("fatal", f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"))
        return
    _serve(conn, sandbox, memo_backend, answers, grading.grade_streaming)  # the parent ends the template when it ends this worker


def _serve(conn: Connection, sandbox: Any, memo_backend: Any, answers: Any, grade_streaming: Any) -> None:
    while True:
        try:
            folder, names = conn.recv()  # names: the checks to grade, None for all
        except (EOFError, OSError):
            return
        try:
            artifacts, load_error = grade_streaming(folder, conn.send, sandbox, names)
        except (EOFError, BrokenPipeError):
            return
        except Exception as err:  # noqa: BLE001 - the submission could not be opened
            conn.send(("error", f"{type(err).__name__}: {err}"))
            continue
        extra = {
            "artifacts": artifacts,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "memo_hits": memo_backend.hits if memo_backend else 0,
            "regions": regions_of(Path(folder)),  # the code the student wrote, for similarity (read, never run)
        }
        if load_error:
            extra["message"] = load_error  # the gradebook's message column says why every check failed
        if answers is not None:
            extra["reference_saved"] = answers.save()  # only when this submission taught the memo something new
        conn.send(("done", extra))
