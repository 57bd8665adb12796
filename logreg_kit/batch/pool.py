"""Grading a class in parallel: a pool of workers, one submission each at a time.

The parent never runs student code. It hands a folder to an idle worker, collects the
outcomes the worker streams back, and writes the record when the worker says done. A
worker past the per-submission time limit is killed (its finished checks keep their
points, the rest fail with a message) and replaced; so is one that dies.
"""
import multiprocessing
import os
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable

from ..checks import CHECKS
from ..harness import skip_reason
from .intake import IntakeError, Submission, prepare

SUBMISSION_TIMEOUT_S = 120.0
POLL_S = 0.5


@dataclass
class Options:
    jobs: int = 0  # 0: os.cpu_count()
    timeout: float = SUBMISSION_TIMEOUT_S
    data: str = "embedded"
    memo: bool = True


@dataclass
class Job:
    sub: Submission
    folder: str
    started: float
    entries: list[dict[str, Any]] = field(default_factory=list)


def planned_entries(message: str) -> list[dict[str, Any]]:
    """Every check, failed with `message` (or skipped where the machine cannot run it)."""
    entries = []
    for check in CHECKS:
        reason = skip_reason(check)
        entries.append({
            "name": check.name, "exercise": check.exercise, "score": 0.0,
            "max_score": 0.0 if reason else check.points, "status": "skipped" if reason else "failed",
            "output": reason or message, "visibility": "visible", "seconds": 0.0,
        })
    return entries


def make_record(sub: Submission, status: str, message: str, entries: list[dict[str, Any]],
                seconds: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A submission's record; checks that never reported get `message` as their failure."""
    done = {e["name"] for e in entries}
    entries = entries + [e for e in planned_entries(f"not graded: {message}") if e["name"] not in done]
    return {
        "student": sub.student, "source": str(sub.source), "status": status, "message": message,
        "score": sum(e["score"] for e in entries), "max_score": sum(e["max_score"] for e in entries),
        "seconds": round(seconds, 2), "checks": entries, **(extra or {}),
    }


class Worker:
    def __init__(self, ctx: Any, options: Options, threads: int) -> None:
        from .worker import worker_main

        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, options.data, threads, options.memo), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def grade_class(subs: list[Submission], out: Path, options: Options,
                on_record: Callable[[dict[str, Any]], None]) -> None:
    """Grade `subs`, calling on_record(record) for each as it finishes (in completion order)."""
    jobs = max(1, min(options.jobs or os.cpu_count() or 1, len(subs)))
    threads = 1  # workers run side by side on small tensors: no intra-op threads
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["logreg_kit.batch.worker"])
    work = out / ".work"  # extracted zips and converted notebooks; left over by a killed run, cleared here
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    queue = deque(subs)
    workers = [Worker(ctx, options, threads) for _ in range(jobs)]
    try:
        while queue or any(w.job for w in workers):
            for w in workers:
                while w.job is None and queue:  # a malformed submission is recorded at once; take the next
                    _dispatch(w, queue.popleft(), work, on_record)
            busy = [w for w in workers if w.job]
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=POLL_S)
            for i, w in enumerate(workers):
                if w.job is not None:
                    workers[i] = _service(w, w.conn in ready or w.process.sentinel in ready,
                                          options, ctx, threads, on_record)
    finally:
        for w in workers:
            w.kill()
        shutil.rmtree(work, ignore_errors=True)


def _current(job: Job) -> str:
    """What the worker was doing: the first check it had not reported, or loading the modules."""
    if not job.entries:
        return "loading your modules or running the first check"
    done = {e["name"] for e in job.entries}
    pending = [c.name for c in CHECKS if c.name not in done]
    return f"running the check '{pending[0]}'" if pending else "finishing"


def _dispatch(w: Worker, sub: Submission, work: Path, on_record: Callable[[dict[str, Any]], None]) -> None:
    start = time.perf_counter()
    try:
        folder = prepare(sub, work)
    except IntakeError as err:
        on_record(make_record(sub, "malformed", str(err), [], time.perf_counter() - start))
        return
    w.job = Job(sub, str(folder), start)
    w.conn.send(str(folder))


def _service(w: Worker, ready: bool, options: Options, ctx: Any, threads: int,
             on_record: Callable[[dict[str, Any]], None]) -> Worker:
    """Read what the worker sent; finish its job on done, error, death or timeout."""
    job = w.job
    assert job is not None
    try:
        while ready and w.conn.poll():
            kind, payload = w.conn.recv()
            if kind == "outcome":
                job.entries.append(payload)
            elif kind == "done":
                w.job = None
                on_record(make_record(job.sub, "graded", "", job.entries, time.perf_counter() - job.started, payload))
                return w
            elif kind == "error":
                w.job = None
                on_record(make_record(job.sub, "malformed", payload, job.entries, time.perf_counter() - job.started))
                return w
    except (EOFError, OSError):
        pass
    elapsed = time.perf_counter() - job.started
    if not w.process.is_alive():
        message = f"the grading process died (exit code {w.process.exitcode}) while {_current(job)}"
        on_record(make_record(job.sub, "crashed", message, job.entries, elapsed))
    elif elapsed > options.timeout:
        message = (f"stopped after {options.timeout:g} s while {_current(job)}: your code hung or ran too long"
                   " (checks not finished by then score 0)")
        on_record(make_record(job.sub, "timeout", message, job.entries, elapsed))
    else:
        return w
    w.kill()
    return Worker(ctx, options, threads)
