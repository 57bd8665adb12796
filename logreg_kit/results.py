"""The score table: one result per check, and the one rule that turns results into points.

Every route (pytest, batch, notebook, nbgrader) turns its outcomes into `CheckResult`s, and every
output format (result_formats.py) is written from them, so scores, maxima, statuses and
visibilities are decided here once:

- status is one of STATUSES: "passed" (earns its points), "failed" (ran, earns 0), "skipped"
  (this machine cannot run it, e.g. a CUDA check without a GPU: earns 0 and is left out of the
  max), "error" (never ran: the submission stopped or crashed before it; earns 0, counts in the max);
- visibility is one of VISIBILITIES, the check's own declaration, whether or not it ran: a
  "hidden" check's message is for the instructor only (`student_message`).

Declared totals (what the exercises are worth before anything runs) are computed here too
(`declared_points`). This module sits at the bottom of the kit: it imports the exercise
declarations and the message layer only, never torch, a backend or a front end.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, replace
from typing import Any, Protocol

from .exercises import EXERCISES, label, said_label
from .i18n import N_, _

STATUSES = ("passed", "failed", "skipped", "error")
VISIBILITIES = ("public", "hidden")
HIDDEN_MESSAGE = N_("a hidden check: what it found is shown to your instructor, not here")


@dataclass(frozen=True)
class CheckResult:
    """One check's result: `worth` is its declared points; `score` and `max_score` follow from the status."""

    exercise: str
    function: str
    title: str
    worth: float
    status: str
    visibility: str = "public"
    message: str = ""
    seconds: float = 0.0
    heading: str = ""  # the title in the language it was graded in ('' in an older record: said from `title`)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}, got {self.visibility!r}")

    @property
    def name(self) -> str:
        """"3 softmax: rows sum to one": exercise label, function, title (as pytest and every report name it)."""
        return f"{label(self.exercise)} {self.function}: {self.title}"

    @property
    def display_name(self) -> str:
        """`name` for a reader, in the language it was graded in: "3 softmax: 每行之和为一". `name`
        stays the English identifier (test ids, gradebook columns, regrades key on it)."""
        return f"{said_label(self.exercise)} {self.function}: {self.heading or _(self.title)}"

    @property
    def score(self) -> float:
        return self.worth if self.status == "passed" else 0.0

    @property
    def max_score(self) -> float:
        return 0.0 if self.status == "skipped" else self.worth

    @property
    def hidden(self) -> bool:
        return self.visibility == "hidden"

    def student_message(self) -> str:
        """The message as a student may read it: a hidden check's own message never is."""
        return _(HIDDEN_MESSAGE) if self.hidden and self.message else self.message

    def to_entry(self) -> dict[str, Any]:
        """The JSON-able form a batch record keeps (its `checks` list); `from_entry` reads it back."""
        return {"name": self.name, "exercise": self.exercise, "function": self.function, "title": self.title,
                "points": self.worth, "score": self.score, "max_score": self.max_score, "status": self.status,
                "output": self.message, "visibility": self.visibility, "seconds": round(self.seconds, 3),
                "heading": self.heading}

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> CheckResult:
        """A record's entry as a result; entries written before `function`, `title` and `points`
        were kept are read from their name and max_score, and Gradescope's "visible" as "public"."""
        function, _sep, title = str(entry["name"]).partition(" ")[2].partition(": ")
        visibility = "public" if entry.get("visibility", "public") in ("public", "visible") else "hidden"
        return cls(entry["exercise"], entry.get("function", function), entry.get("title", title),
                   float(entry.get("points", entry["max_score"])), entry["status"], visibility,
                   entry.get("output") or "", float(entry.get("seconds", 0.0)), str(entry.get("heading") or ""))


def results_of(entries: Iterable[Mapping[str, Any]]) -> list[CheckResult]:
    return [CheckResult.from_entry(e) for e in entries]


def total(results: Iterable[CheckResult]) -> float:
    """The points earned: the one place scores are summed."""
    return float(sum(r.score for r in results))


def max_total(results: Iterable[CheckResult]) -> float:
    """The points that could have been earned here: skipped checks left out."""
    return float(sum(r.max_score for r in results))


def skipped_points(results: Iterable[CheckResult]) -> float:
    """The declared points of the checks this machine could not run (not counted anywhere)."""
    return float(sum(r.worth for r in results if r.status == "skipped"))


def by_exercise(results: Iterable[CheckResult]) -> dict[str, list[CheckResult]]:
    """Exercise id -> its results, in lesson order (exercises with no result left out)."""
    table: dict[str, list[CheckResult]] = {ex.id: [] for ex in EXERCISES}
    for r in results:
        table.setdefault(r.exercise, []).append(r)
    return {ex: rows for ex, rows in table.items() if rows}


class Declared(Protocol):
    """What `declared_points` reads of a check (checks.Check has it)."""

    exercise: str
    points: float
    needs: str | None
    visibility: str


@dataclass(frozen=True)
class DeclaredPoints:
    """An exercise's points as its checks declare them (the one points table every route reads)."""

    public: float = 0.0  # in the student bundle's self-check ...
    public_gpu: float = 0.0  # ... of which the CUDA checks: skipped (not counted) without a GPU
    hidden: float = 0.0  # only at grading time
    hidden_checks: int = 0
    hidden_gpu: float = 0.0  # ... of which the CUDA checks

    @property
    def total(self) -> float:
        return self.public + self.hidden

    @property
    def gpu(self) -> float:
        """The points of the CUDA checks, public and hidden (skipped, not counted, without a GPU)."""
        return self.public_gpu + self.hidden_gpu

    def plus(self, check: Declared) -> DeclaredPoints:
        gpu = check.points if check.needs == "cuda" else 0.0
        if check.visibility == "public":
            return replace(self, public=self.public + check.points, public_gpu=self.public_gpu + gpu)
        return replace(self, hidden=self.hidden + check.points, hidden_checks=self.hidden_checks + 1,
                       hidden_gpu=self.hidden_gpu + gpu)


def declared_points(checks: Iterable[Declared]) -> dict[str, DeclaredPoints]:
    """Exercise id -> its declared points, every exercise of the lesson, in lesson order: the one
    place declared totals are computed (README tables, notebook cells, the bundle's hidden note)."""
    table = {ex.id: DeclaredPoints() for ex in EXERCISES}
    for c in checks:
        table[c.exercise] = table.get(c.exercise, DeclaredPoints()).plus(c)
    return table


def declared_total(table: Mapping[str, DeclaredPoints]) -> DeclaredPoints:
    """The sum of a declared table's rows."""
    out = DeclaredPoints()
    for row in table.values():
        out = DeclaredPoints(*(mine + theirs for mine, theirs in zip(astuple(out), astuple(row))))
    return out
