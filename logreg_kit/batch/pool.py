"""Grading a class in parallel: a pool of workers, one submission each at a time.

The parent never runs student code and never imports torch. For each worker it launches a
sandbox template and forks the worker (see worker.py), hands a folder to an idle, warm worker,
collects the outcomes the worker streams back, and writes the record when the worker says done.
A worker past the per-submission time limit is killed with its template (its finished checks
keep their points, the rest fail with a message) and replaced; so is one that dies.
"""
import multiprocessing
import os
import shutil
import time
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Callable

from ..i18n import N_, _, every_language
from ..results import max_total, results_of, total
from ..sandbox.launcher import Sandbox
from .intake import Submission, prepare_or_explain
from .regions import regions_of
from .worker import worker_main

SUBMISSION_TIMEOUT_S = 120.0
POLL_S = 0.5
START_FAILURES_ALLOWED = 3  # workers that die before they are warm; then the batch stops


class BatchError(RuntimeError):
    """Nothing can be graded (the sandbox or the grader itself does not start)."""


@dataclass
class Options:
    jobs: int = 0  # 0: os.cpu_count()
    timeout: float = SUBMISSION_TIMEOUT_S
    data: str = "embedded"
    memo: bool = True
    lang: str = "en"  # the feedback's language (i18n), said by every worker process


@dataclass
class Job:
    sub: Submission
    folder: str
    started: float
    entries: list[dict[str, Any]] = field(default_factory=list)
    redo: "Redo | None" = None
    note: str = ""  # what of a repository was graded (intake.prepare_noted), added to the record's message


@dataclass(frozen=True)
class Redo:
    """Part of a graded record to grade again: the checks in `names` (the others keep their
    entries from `previous`), and why."""
    names: list[str]
    why: str
    previous: dict[str, Any]

    def extra(self, new: dict[str, Any] | None) -> dict[str, Any]:
        """The previous record's extra fields (artifacts, regions, ...) updated with this run's."""
        merged = {**self.previous, **(new or {}), "regraded": self.names, "regrade_reason": self.why,
                  "artifacts": {**self.previous.get("artifacts", {}), **(new or {}).get("artifacts", {})}}
        for key in ("student", "source", "digest", "status", "message", "score", "max_score", "seconds", "checks"):
            merged.pop(key, None)
        return merged


# decide(submission, planned entries) -> None: grade it all; False: its record is current, skip it;
# a Redo: grade only those checks again (see commands.py)
Decide = Callable[[Submission, list[dict[str, Any]]], "Redo | bool | None"]


class Plan:
    """The checks a record lists, as the first warm worker reported them (names, points, skips)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.start_failures = 0

    def failed(self, message: str) -> list[dict[str, Any]]:
        """Every check, failed with `message` (skipped ones keep their reason)."""
        return [dict(e, output=e["output"] or message) for e in self.entries]

    def record(self, sub: Submission, status: str, message: str, entries: list[dict[str, Any]],
               seconds: float, extra: dict[str, Any] | None = None, redo: Redo | None = None,
               note: str = "") -> dict[str, Any]:
        """A submission's record; checks that never reported get `message` as their failure
        (in a partial regrade, the checks not asked for keep their previous entries). Each entry
        carries the fingerprint of what graded it (fingerprint.py); the record carries the
        submission's content digest (resume compares it) and `note` after the message."""
        prints = {e["name"]: e.get("fingerprint") for e in self.entries}
        entries = [dict(e, fingerprint=prints.get(e["name"])) for e in entries]
        if redo is not None:
            entries += [e for e in redo.previous["checks"] if e["name"] not in redo.names]
            extra = redo.extra(extra)
        done = {e["name"] for e in entries}
        entries = entries + [e for e in self.failed(_(NOT_GRADED, reason=message)) if e["name"] not in done]
        order = {e["name"]: i for i, e in enumerate(self.entries)}
        entries.sort(key=lambda e: order.get(e["name"], len(order)))
        record = {
            "student": sub.student, "source": str(sub.source), "digest": sub.digest, "status": status, "message": message,
            "score": total(results_of(entries)), "max_score": max_total(results_of(entries)),
            "seconds": round(seconds, 2), "checks": entries, **(extra or {}),
        }
        record["message"] = "; ".join(m for m in (record["message"], note) if m)
        return record

    def current(self, job: Job) -> str:
        """What the worker was doing: the first check it had not reported, or loading the modules."""
        if not job.entries:
            return _("loading your modules or running the first check")
        done = {e["name"] for e in job.entries}
        pending = [e["name"] for e in self.entries if e["name"] not in done]
        return _("running the check '{check}'", check=pending[0]) if pending else _("finishing")


class Worker:
    """A grading process and the sandbox template it owns; the template is launched first so
    that its torch import and the worker's own run side by side."""

    def __init__(self, ctx: Any, options: Options, threads: int, others: "list[Worker]") -> None:
        # the student's code gets this job's share of the cores: oversubscribed OpenMP threads spin
        self.sandbox = Sandbox(wait=False, threads=max(1, (os.cpu_count() or 1) // max(1, options.jobs)))
        self.conn, child = ctx.Pipe()
        # the fork copies every descriptor: the child closes this process's end of its own pipe
        # (so that closing it here ends the worker) and the other workers' pipes and templates
        inherited = [self.conn] + [end for w in others for end in w.ends()]
        self.process = ctx.Process(target=worker_main, daemon=True,
                                   args=(child, self.sandbox, options.data, threads, options.memo, inherited, options.lang))
        self.process.start()
        child.close()
        if self.sandbox.process is not None and self.sandbox.process.stderr is not None:
            self.sandbox.process.stderr.close()  # the worker reads the template's start-up errors; an
            self.sandbox.process.stderr = None  # open, unread copy here could fill and block the template
        self.ready = False
        self.job: Job | None = None

    def ends(self) -> list[Any]:
        """What a later fork inherits from this worker and must close: the pipe, the template's socket."""
        return [self.conn, self.sandbox.control]

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()
        self.sandbox.close()


def grade_class(subs: list[Submission], out: Path, options: Options,
                on_record: Callable[[dict[str, Any]], None], decide: Decide | None = None) -> None:
    """Grade `subs`, calling on_record(record) for each as it finishes (in completion order).
    `decide` is asked, once the checks are known, what to do with each submission (Decide)."""
    jobs = max(1, min(options.jobs or os.cpu_count() or 1, len(subs)))
    options = replace(options, jobs=jobs)
    threads = 1  # workers run side by side on small tensors: no intra-op threads
    ctx = multiprocessing.get_context("fork")  # safe: this process has not imported torch or started threads
    work = out / ".work"  # extracted zips and converted notebooks; left over by a killed run, cleared here
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    queue = deque(subs)
    plan = Plan()
    workers: list[Worker] = []
    for _job in range(jobs):
        workers.append(Worker(ctx, options, threads, workers))
    try:
        while queue or any(w.job for w in workers):
            for w in workers:
                while w.ready and w.job is None and queue:  # a malformed submission is recorded at once; take the next
                    _dispatch(w, queue.popleft(), work, plan, on_record, decide)
            ready = wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout=POLL_S)
            for i, w in enumerate(workers):
                workers[i] = _service(w, w.conn in ready or w.process.sentinel in ready,
                                      options, ctx, threads, plan, on_record, workers)
    finally:  # a worker holds nothing unsaved between submissions: kill it, then its template
        for w in workers:
            w.kill()
        shutil.rmtree(work, ignore_errors=True)


def _dispatch(w: Worker, sub: Submission, work: Path, plan: Plan, on_record: Callable[[dict[str, Any]], None],
              decide: Decide | None) -> None:
    start = time.perf_counter()
    redo = decide(sub, plan.entries) if decide else None
    if redo is False:
        return
    folder, why, note = prepare_or_explain(sub, work)
    if folder is None:
        on_record(plan.record(sub, "malformed", why, [], time.perf_counter() - start))
        return
    w.job = Job(sub, str(folder), start, redo=redo if isinstance(redo, Redo) else None, note=note)
    w.conn.send((str(folder), w.job.redo.names if w.job.redo else None))


def _receive(w: Worker, plan: Plan, on_record: Callable[[dict[str, Any]], None]) -> bool:
    """Read what the worker sent; True when its job finished (done or error)."""
    while w.conn.poll():
        kind, payload = w.conn.recv()
        if kind == "ready":
            w.ready, plan.entries = True, plan.entries or payload
        elif kind == "fatal":
            raise BatchError(_("a grading worker could not start, so nothing can be graded: {error}", error=payload))
        elif w.job is None:
            continue
        elif kind == "outcome":
            w.job.entries.append(payload)
        elif kind in ("done", "error"):
            job, w.job = w.job, None
            status, message, extra = (*graded_status(job.entries), payload) if kind == "done" else ("malformed", payload, None)
            on_record(plan.record(job.sub, status, message, job.entries, time.perf_counter() - job.started, extra,
                                  job.redo, job.note))
            return True
    return False


def _code_of(job: Job) -> dict[str, Any]:
    """The student's code of a submission whose worker never said done (read here, never run),
    so that similarity compares it too."""
    return {"regions": regions_of(Path(job.folder))}


NOT_STARTED = "not started"  # the status of a submission that is all stubs
# the detail line every route gives an untouched stub (feedback.NOT_IMPLEMENTED), in every language
# (the msgid written again here: feedback.py imports torch, which this process never does)
NOT_GRADED = N_("not graded: {reason}")  # a check a stopped or dead submission never ran (overview.py reads it)
STUB_DETAILS = tuple(f"\n  {text}" for text in every_language(N_("not implemented yet")))


def graded_status(entries: list[dict[str, Any]]) -> tuple[str, str]:
    """("graded", "") or, when nothing passed and every check failed on an untouched stub,
    ("not started", why): a submission that is all stubs says so in the gradebook."""
    ran = [e for e in entries if e.get("status") != "skipped"]
    if ran and all(e.get("status") == "failed" and any(d in str(e.get("output", "")) for d in STUB_DETAILS) for e in ran):
        return NOT_STARTED, "every exercise is still its stub (not implemented yet)"
    return "graded", ""


def _service(w: Worker, ready: bool, options: Options, ctx: Any, threads: int, plan: Plan,
             on_record: Callable[[dict[str, Any]], None], workers: list[Worker]) -> Worker:
    """Handle the worker's messages; finish its job on done, error, death or timeout."""
    try:
        if ready and _receive(w, plan, on_record):
            return w
    except (EOFError, OSError):
        pass
    job = w.job
    if job is None:
        if w.process.is_alive():
            return w
        w.kill()  # died while idle or starting up: replace it, a few times
        plan.start_failures += not w.ready
        if plan.start_failures > START_FAILURES_ALLOWED:
            raise BatchError(_("grading workers keep dying before they are ready (exit code {code})",
                               code=w.process.exitcode))
        return Worker(ctx, options, threads, [o for o in workers if o is not w])
    elapsed = time.perf_counter() - job.started
    if not w.process.is_alive():
        message = _("the grading process died (exit code {code}) while {doing}", code=w.process.exitcode, doing=plan.current(job))
        on_record(plan.record(job.sub, "crashed", message, job.entries, elapsed, _code_of(job), job.redo, job.note))
    elif elapsed > options.timeout:
        message = _("stopped after {seconds:g} s while {doing}: your code hung or ran too long (checks not finished by then "
                    "score 0)", seconds=options.timeout, doing=plan.current(job))
        on_record(plan.record(job.sub, "timeout", message, job.entries, elapsed, _code_of(job), job.redo, job.note))
    else:
        return w
    w.kill()
    return Worker(ctx, options, threads, [o for o in workers if o is not w])
