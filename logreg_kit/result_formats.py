"""Every output format, each written by one small function from the score table (results.py).

- `gradescope`: Gradescope's results.json (pytest --results, batch STUDENT/results.json, the
  Gradescope autograder);
- `classroom`: GitHub Classroom's runner result (pytest --classroom, read by
  autograding-grading-reporter);
- `gradebook_row`: one row of the batch's gradebook.csv (text cells made inert for spreadsheets);
- `nbgrader_cell`: a test cell's score and report under `nbgrader autograde`;
- `summary_lines`: the pytest terminal summary (and `logreg-kit check`, the watch loop).

One rule everywhere: scores, maxima and statuses come from `CheckResult` (a skipped check earns
nothing, is out of the max and is written "skipped"; a check that never ran is "error"); a hidden
check is hidden whether or not it ran, and its message reaches only the instructor (Gradescope
shows a "hidden" test to instructors only; the formats a student reads get `student_message`).
No writer sums points itself: results.total and results.max_total do.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .exercises import BY_ID, EXERCISES, said_label
from .i18n import N_, _, prefixes
from .results import CheckResult, by_exercise, max_total, skipped_points, total

# --- Gradescope -------------------------------------------------------------------------------

# Gradescope knows "passed" and "failed" only; a skipped test has no status (it is 0 of 0 points,
# its output says why) and a test that never ran is failed.
GRADESCOPE_STATUS = {"passed": "passed", "failed": "failed", "error": "failed", "skipped": None}
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "hidden"}  # hidden: never shown to students


def gradescope_test(result: CheckResult) -> dict[str, Any]:
    """One entry of results.json's `tests`, named for the reader in the run's language (display_name:
    Gradescope shows it and keys nothing on it; the gradebook's columns keep the English `name`)."""
    test: dict[str, Any] = {"name": result.display_name, "score": result.score, "max_score": result.max_score,
                            "output": _skipped_text(result), "visibility": GRADESCOPE_VISIBILITY[result.visibility]}
    status = GRADESCOPE_STATUS[result.status]
    if status is not None:
        test["status"] = status
    return test


def gradescope(results: Sequence[CheckResult], output: str = "") -> dict[str, Any]:
    """results.json: the score and one test per check; `output` (when given) above the tests."""
    payload: dict[str, Any] = {"score": total(results), "tests": [gradescope_test(r) for r in results]}
    if output:
        payload["output"] = output
    return payload


def _skipped_text(result: CheckResult) -> str:
    """A skipped check's message begins with "skipped" in every format."""
    if result.status != "skipped" or result.message.startswith("skipped"):
        return result.message
    return "skipped: " + result.message


# --- GitHub Classroom -------------------------------------------------------------------------

# The reporter counts every test that is not "pass" as failed in its console tally, so a skipped
# check (no points, out of the max, as everywhere) is left out of the tests rather than shown failed.
CLASSROOM_STATUS = {"passed": "pass", "failed": "fail", "error": "error"}
CLASSROOM_COMMAND = "pytest grader/"


def classroom_test(result: CheckResult) -> dict[str, Any]:
    """One test of the runner result; a hidden check's message is not shown (students read it)."""
    return {"name": result.name, "status": CLASSROOM_STATUS[result.status], "message": result.student_message(),
            "test_code": CLASSROOM_COMMAND, "filename": "", "line_no": 0,
            "execution_time": f"{result.seconds:.1f}s", "score": result.score, "max_score": result.max_score}


def classroom(results: Sequence[CheckResult]) -> dict[str, Any]:
    """GitHub Classroom's runner result (what autograding-grading-reporter decodes from a step's
    `result` output); status "error" when nothing was graded (the grader did not start)."""
    graded = [r for r in results if r.status != "skipped"]
    status = "error" if not graded else "pass" if all(r.status == "passed" for r in graded) else "fail"
    return {"version": 1, "status": status, "max_score": max_total(graded), "tests": [classroom_test(r) for r in graded]}


# --- the batch's gradebook.csv ----------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r",  # OWASP CSV injection: what a spreadsheet may run
                  "\uff1d", "\uff0b", "\uff0d", "\uff20")  # their full-width forms, read as formulas in CJK locales


def csv_text(value: str) -> str:
    """A text cell a student controls (id, message), made inert for spreadsheets: a cell that
    starts like a formula gets a leading `'` (OWASP's advice), so it is shown, never evaluated."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def gradebook_header(names: Sequence[str]) -> list[str]:
    # The column ids stay stable English identifiers in every language (CheckResult.name, never the
    # translated display_name): they are keys, which a merge of shards, a resumed run and the
    # instructor's spreadsheet formulas match on; so are the status words and the header itself.
    return ["student", "status", "total", "max_score", *names, "seconds", "message"]


def gradebook_cell(result: CheckResult | None) -> str:
    """A check's cell: its points, "skipped" for a check this machine could not run (left out of
    max_score, so not a 0), empty for a check the record does not list."""
    if result is None:
        return ""
    return "skipped" if result.status == "skipped" else f"{result.score:g}"


def gradebook_row(student: str, status: str, results: Sequence[CheckResult], seconds: float, message: str,
                  names: Sequence[str]) -> list[str]:
    """One submission's row, its checks in the columns `names`."""
    by_name = {r.name: r for r in results}
    cells = [gradebook_cell(by_name.get(n)) for n in names]
    return [csv_text(student), csv_text(status), f"{total(results):g}", f"{max_total(results):g}", *cells,
            f"{seconds:.1f}", csv_text(message)]


def gradebook_csv(rows: Iterable[Sequence[str]], names: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(gradebook_header(names))
    writer.writerows(rows)
    return buffer.getvalue()


# --- nbgrader ---------------------------------------------------------------------------------


# A status as a reader sees it (the status values themselves stay English identifiers).
SAID_STATUS = {"passed": N_("passed"), "failed": N_("failed"), "skipped": N_("skipped"), "error": N_("error")}


def check_line(result: CheckResult) -> str:
    """"  passed  3 softmax: rows sum to one  1/1": status, name, points (hidden checks marked), in
    the language the check was graded in."""
    mark = "  " + _("(hidden)") if result.hidden else ""
    status = padded(_(SAID_STATUS[result.status]), 8)
    return f"  {status}{result.display_name}  {result.score:g}/{result.max_score:g}{mark}"


def nbgrader_cell(ex_id: str, results: Sequence[CheckResult], points: float) -> tuple[float, str]:
    """(score out of the cell's `points`, report text) of an exercise's test cell. nbgrader fixes a
    cell's max when it generates the assignment, so a skipped check's points stay in the cell's
    max (whole points, no scaling); the report names them. The student reads this text."""
    got, skipped = total(results), skipped_points(results)
    shown_got, shown_points, shown_most = f"{got:g}", f"{points:g}", f"{max_total(results):g}"
    head = _("logreg-kit, Exercise {exercise} ({title}): {got}/{points} points", exercise=said_label(ex_id),
             title=_(BY_ID[ex_id].title), got=shown_got, points=shown_points)
    if skipped:
        shown_skipped = f"{skipped:g}"
        head += " " + _("({got}/{most} of the checks graded here; {skipped} skipped, not run on this machine)",
                        got=shown_got, most=shown_most, skipped=shown_skipped)
    failures = [r.student_message() for r in results if r.status in ("failed", "error") and r.message]
    skips = sorted({_skipped_text(r) for r in results if r.status == "skipped"})
    text = "\n".join([head, *map(check_line, results), "", *dict.fromkeys(failures), *skips])
    return min(got, points), text.rstrip() + "\n"


# --- the pytest terminal summary --------------------------------------------------------------

STATUS_STUBS = N_("not started: every exercise is still its stub (not implemented yet)")
TOTAL = N_("total")
SKIPPED = N_("skipped: {reason}")  # how harness.skip_reason words a skip, in every language


def exercise_row(ex_id: str, results: Sequence[CheckResult], later: float) -> str:
    """One row: got/max of the checks that ran ("-" if none), then what is not counted."""
    skipped = skipped_points(results)
    shown_skipped, shown_later, plus = f"{skipped:g}", f"{later:g}", "+" if results else ""
    notes = ([_("{points} skipped", points=shown_skipped)] if skipped else []) + (
        [_("{plus}{points} at hand-in", plus=plus, points=shown_later)] if later else [])
    points = f"{total(results):g}/{max_total(results):g}" if results else "-"
    title = _(BY_ID[ex_id].title)
    return f"  {padded(said_label(ex_id), 16)}{padded(title, 42)}{points:<8}{'  (' + ', '.join(notes) + ')' if notes else ''}".rstrip()


def columns(text: str) -> int:
    """How many columns of a terminal `text` takes: a CJK character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def padded(text: str, width: int) -> str:
    """`text` padded on the right to `width` columns of a terminal."""
    return text + " " * max(0, width - columns(text))


def right_aligned(text: str, width: int) -> str:
    """`text` padded on the left to `width` columns of a terminal (a column of numbers' heading)."""
    return " " * max(0, width - columns(text)) + text


def summary_lines(title: str, results: Sequence[CheckResult], later: Mapping[str, float] | None = None,
                  graded_here: Iterable[str] = (), not_started: bool = False) -> list[str]:
    """Points per exercise and the total. `later`: exercise id -> points of checks not in this
    grader (the student bundle's hidden checks), shown for exercises `graded_here` does not name
    (those were deselected), so that every exercise of the lesson has its row."""
    later, here, table = dict(later or {}), set(graded_here), by_exercise(results)
    lines = [_("logreg-kit: points per exercise ({label})", label=title)]
    for ex in EXERCISES:
        ran = table.get(ex.id, [])
        if ran or (later.get(ex.id) and ex.id not in here):
            lines.append(exercise_row(ex.id, ran, later.get(ex.id, 0.0)))
    lines.append(f"  {padded(_(TOTAL), 58)}{total(results):g}/{max_total(results):g}")
    if not_started:
        lines.append(f"  {_(STATUS_STUBS)}")
    skipped = [r for r in results if r.status == "skipped"]
    if skipped:
        why, points = skipped[0].message, f"{skipped_points(skipped):g}"
        for prefix in prefixes(SKIPPED):
            why = why.removeprefix(prefix)
        lines.append("  " + _("{n} check(s) worth {points} point(s) skipped here, not counted: {why}", n=len(skipped),
                              points=points, why=why))
    return lines
