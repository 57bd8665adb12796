"""Running checks: one outcome per check, a report per implementation (its results: results.py)."""
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from . import scratch, tripwire
from .backend import Backend, StudentError, UnavailableBackend
from .checks import CHECKS, Check, Student
from .exercises import BY_ID, MODULES, said_label
from .feedback import NOT_IMPLEMENTED, REVEAL, CheckFailure
from .cells import in_cells
from .i18n import N_, _, forms, mentions
from .paths import write_json_atomic  # noqa: F401 - re-exported (pytest plugin, Gradescope)
from .result_formats import STATUS_STUBS, summary_lines
from .results import CheckResult, max_total, total
from .results import by_exercise as results_by_exercise


@dataclass(frozen=True)
class Outcome:
    check: Check
    status: str  # "passed", "failed" or "skipped"
    message: str
    seconds: float
    artifacts: dict[str, Any] = field(default_factory=dict)  # plain data a check attached (Student.artifacts)

    @property
    def result(self) -> CheckResult:
        """This outcome as a row of the score table, from which every output format is written."""
        c = self.check
        return CheckResult(c.exercise, c.function, c.title, c.points, self.status, c.visibility, self.message, self.seconds,
                           c.heading)

    @property
    def score(self) -> float:
        return self.result.score

    @property
    def max_score(self) -> float:
        return self.result.max_score


def skip_reason(check: Check) -> str | None:
    if check.needs == "cuda" and not torch.cuda.is_available():
        return _("skipped: {reason}", reason=_("CUDA is not available on this machine (run on a GPU to grade it)"))
    return None


STUB_HINT = N_("this function is still the exercise's stub: replace its `raise NotImplementedError(...)` with your code")
# The hint of a failure that is not of a kind the check's own hint speaks about (Check.hint_for).
KIND_HINTS = {
    "type": N_("look at what your function returns: the docstring gives the type"),
    "shape": N_("look at the shape your function returns: the docstring gives it"),
    "dtype": N_("look at the dtype your function returns: the docstring gives it"),
    "device": N_("look for a tensor your code creates or moves to one fixed device"),
    "values": N_("your result differs on the case shown: work that case by hand with the docstring's formula"),
    "nonfinite": N_("look for a log of 0, a division by 0 or an exp that overflows"),
    "error": N_("your code raised or stopped on the case shown: read the error above"),
    "scratch": N_("the message above names what the from-scratch rule refused: use only what the exercise may use "
                  "(the list is in the README, under \"Statically, as an allowlist\"), and write the replaced function yourself"),
}


def hint_for(check: Check, detail: str, kind: str = "other", diagnosis: str = "") -> str:
    """The hint a failure gets (in the current language): what a recognised mistake does, the stub's
    note, the check's own hint when the failure is of a kind it speaks about, else a hint about that
    kind of failure."""
    return _(_hint_text(check, detail, kind, diagnosis))


def _hint_text(check: Check, detail: str, kind: str, diagnosis: str) -> str:
    if diagnosis:
        return diagnosis
    if kind == "scratch":
        return KIND_HINTS[kind]
    if detail.startswith(_(NOT_IMPLEMENTED)) or detail.startswith(NOT_IMPLEMENTED):
        return STUB_HINT
    if not check.hint_for or kind in check.hint_for:
        return check.hint
    return KIND_HINTS.get(kind, check.hint)


def failure_message(check: Check, detail: str, kind: str = "other", diagnosis: str = "") -> str:
    """Exercise -> function -> what was checked -> expected vs got -> hint (or what the code does),
    in the current language."""
    ex = BY_ID[check.exercise]
    heading = _("Exercise {exercise}, {function}: {title}", exercise=said_label(ex.id), function=check.function, title=check.heading)
    hint = _("hint: {hint}", hint=hint_for(check, detail, kind, diagnosis))
    return f"{heading}\n  {detail}\n  {hint}"


def _in_cells(detail: str, backend: Backend) -> str:
    """A notebook's solution cells named instead of its converted modules' lines (cheap when no
    "MODULE.py ... line N" is in the text)."""
    if ".py" not in detail:
        return detail
    return in_cells(detail, {m: backend.source(m) for m in MODULES})


def submission_files(backend: Backend) -> tuple[tuple[str, str | None], ...]:
    """(relative path, decoded text) of every .py file of the submission, read in this process; a
    backend with no folder (a notebook kernel's namespace, a test's stand-in) gives its module sources."""
    read = getattr(backend, "source_files", None)
    files = read() if read is not None else {f"{m}.py": backend.source(m) for m in ("__init__", *MODULES)}
    return tuple(sorted((path, text) for path, text in files.items() if text is not None or read is not None))


def _has_folder(backend: Backend) -> bool:
    """Whether the backend grades a folder (its files are the whole submission), not a kernel's namespace."""
    while hasattr(backend, "inner"):
        backend = backend.inner
    impl = getattr(backend, "impl", None)
    return impl is None or getattr(impl, "root", None) is not None


def static_violations(check: Check, backend: Backend) -> str:
    """The rules read from the source, each file read once: a check fails when the package's
    __init__.py or the code of an exercise it runs imports the grader or reaches into the program
    running it (the sandbox's integrity check backs this up), or when, in the files that run with an
    exercise's module, there is an import outside the allowlist, reflection, or (in the exercise's own
    code) a library name outside its allowlist (scratch.allowlist_violations; the tripwire backs it up)."""
    files = submission_files(backend)
    complete = _has_folder(backend)  # a notebook kernel's cells come without their imports
    sources = {path[: -len(".py")]: text for path, text in files if "/" not in path}
    tampered = [scratch.tampering(sources.get("__init__"), "__init__")]
    tampered += [scratch.tampering(sources.get(BY_ID[ex].module), BY_ID[ex].module, BY_ID[ex].names) for ex in check.uses]
    found = next(filter(None, tampered), "") or "; ".join(dict.fromkeys(
        v for ex in check.uses for v in scratch.allowlist_violations(files, ex, complete)))
    return in_cells(found, sources)  # a notebook's cells, not its converted modules


def _warm_worker(backend: Backend) -> None:
    """A sandboxed backend runs the check in a worker that has paid torch's first use of `meta`
    (sandbox.remote.RemoteBackend.warm_worker); the others have nothing to do."""
    warm = getattr(backend, "warm_worker", None)
    if warm is not None:
        warm()


def run_check(check: Check, backend: Backend) -> Outcome:
    """Run one check; a failure in the student's code never escapes as an exception."""
    start = time.perf_counter()
    reason = skip_reason(check)
    if reason:
        return Outcome(check, "skipped", reason, 0.0)
    if isinstance(backend, UnavailableBackend):
        return Outcome(check, "failed", failure_message(check, backend.why), 0.0)
    broken = static_violations(check, backend)
    if broken:
        return Outcome(check, "failed", failure_message(check, broken, "scratch"), time.perf_counter() - start)
    if check.needs == "meta":
        _warm_worker(backend)
    token = REVEAL.set(check.visibility == "public")  # hidden checks never print expected values
    student = Student(backend, check.uses)
    try:
        check.fn(student)
    except CheckFailure as err:
        message = failure_message(check, _in_cells(str(err), backend), err.kind, err.diagnosis)
        return Outcome(check, "failed", message, time.perf_counter() - start, student.artifacts)
    except StudentError as err:
        kind = "scratch" if mentions(str(err), tripwire.VIOLATION_WORDS) else "error"  # the runtime tripwire's verdict
        message = failure_message(check, _in_cells(str(err), backend), kind)
        return Outcome(check, "failed", message, time.perf_counter() - start, student.artifacts)
    except Exception as err:  # noqa: BLE001 - a returned value the check could not even inspect
        error = f"{type(err).__name__}: {str(err)[:200]}"
        detail = _("the check could not use what your code returned ({error})", error=error)
        return Outcome(check, "failed", failure_message(check, detail), time.perf_counter() - start, student.artifacts)
    finally:
        REVEAL.reset(token)
    return Outcome(check, "passed", "", time.perf_counter() - start, student.artifacts)


@dataclass
class Report:
    label: str
    outcomes: list[Outcome]

    @property
    def results(self) -> list[CheckResult]:
        return [o.result for o in self.outcomes]

    @property
    def score(self) -> float:
        return total(self.results)

    @property
    def max_score(self) -> float:
        return max_total(self.results)

    @property
    def all_stubs(self) -> bool:
        """Nothing passed and every failure is an untouched stub: a submission not started."""
        ran = [o for o in self.outcomes if o.status != "skipped"]
        stub = tuple(f"\n  {said}" for said in forms(NOT_IMPLEMENTED))
        return bool(ran) and all(o.status == "failed" and any(s in o.message for s in stub) for o in ran)

    def by_exercise(self) -> dict[str, tuple[float, float]]:
        """Exercise id -> (score, max score), in lesson order (exercises with nothing to earn left out)."""
        table = {ex: (total(rows), max_total(rows)) for ex, rows in results_by_exercise(self.results).items()}
        return {ex: v for ex, v in table.items() if v[1] > 0}

    def summary_lines(self, later: Mapping[str, float] | None = None) -> list[str]:
        """The pytest terminal summary (result_formats.summary_lines): a check earns its points
        when it ran and passed; one this machine cannot run (CUDA without a GPU) is skipped: no
        points and left out of the max. `later`: the student bundle's hidden checks' points."""
        return summary_lines(self.label, self.results, later, {c.exercise for c in CHECKS}, self.all_stubs)


def grade(backend: Backend, checks: Iterable[Check] = CHECKS) -> Report:
    return Report(backend.label, [run_check(c, backend) for c in checks])


