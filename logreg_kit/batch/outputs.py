"""What a batch leaves in --out: one record per submission, and everything rebuilt from records.

Layout of OUT:
  records/STUDENT.json     the submission's record (written last, atomically: it marks it done)
  STUDENT/results.json     Gradescope format
  STUDENT/feedback.html    the student's report (see html.py)
  gradebook.csv            one row per record, rebuilt after every finished submission
                           (text cells that start like a formula get a leading ', see csv_text)
Student ids are made safe and unique by intake.student_ids: no id is `records`, `gradebook`,
hidden (`.`) or another's id with another case, so no two students share a folder.
"""
import json
from pathlib import Path
from typing import Any

from .. import result_formats
from ..exercises import BY_ID, EXERCISES, label, said_label
from ..i18n import N_, _
from ..result_formats import FORMULA_STARTS, csv_text, padded, right_aligned  # noqa: F401 - re-exported (tests, insight)
from ..results import max_total, results_of, total
from ..paths import write_json_atomic, write_text_atomic

CHECKED = ("graded", "not started")  # statuses of a record whose every check ran (a per-check regrade applies)

STATUSES = ("graded", "not started", "timeout", "crashed", "malformed", "error")


EXERCISE = N_("exercise")
TOTAL = N_("total")


def record_path(out: Path, student: str) -> Path:
    return out / "records" / f"{student}.json"


def load_records(out: Path) -> dict[str, dict[str, Any]]:
    """Finished submissions by student id; unreadable records (none, if writes are atomic) are ignored."""
    found = {}
    for path in sorted((out / "records").glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("student") == path.stem:
            found[record["student"]] = record
    return found


def gradescope_payload(record: dict[str, Any]) -> dict[str, Any]:
    """results.json for one submission (result_formats.gradescope); a submission that did not
    grade to the end says why above its tests."""
    output = f"{record['status']}: {record['message']}" if record["status"] != "graded" else ""
    return result_formats.gradescope(results_of(record["checks"]), output)


def write_record(out: Path, record: dict[str, Any], html: str | None) -> None:
    """Results and report first, the record last: a record on disk means the rest is there."""
    folder = out / record["student"]
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "results.json", gradescope_payload(record))
    if html is not None:
        write_text_atomic(folder / "feedback.html", html)
    record_path(out, record["student"]).parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(record_path(out, record["student"]), record)


def check_names(records: list[dict[str, Any]]) -> list[str]:
    """Every check name seen, in the order the first record lists them."""
    names: dict[str, None] = {}
    for record in records:
        for entry in record["checks"]:
            names.setdefault(entry["name"], None)
    return list(names)


def gradebook_csv(records: list[dict[str, Any]]) -> str:
    """student, status, total, max, one column per check (points or "skipped"), seconds, message
    (result_formats.gradebook_row; text cells that start like a formula are made inert)."""
    names = check_names(records)
    rows = [result_formats.gradebook_row(r["student"], r["status"], results_of(r["checks"]), r["seconds"],
                                         r["message"], names) for r in sorted(records, key=lambda r: r["student"])]
    return result_formats.gradebook_csv(rows, names)


def write_gradebook(out: Path, records: list[dict[str, Any]] | None = None) -> Path:
    """gradebook.csv from `records` (default: every record in out/records)."""
    path = out / "gradebook.csv"
    write_text_atomic(path, gradebook_csv(list(load_records(out).values()) if records is None else records))
    return path


def pass_rates(records: list[dict[str, Any]]) -> list[tuple[str, str, float, float]]:
    """(exercise label, title, share of students with full points, mean points) per exercise; the
    label and title as identifiers (English: class.json keeps them), said by `said_exercise` and _()."""
    rows = []
    for ex in EXERCISES:
        per_student = []
        for record in records:
            results = [r for r in results_of(record["checks"]) if r.exercise == ex.id and r.status != "skipped"]
            if results:
                per_student.append((total(results), max_total(results)))
        if per_student:
            full = sum(1 for got, most in per_student if got >= most) / len(per_student)
            rows.append((label(ex.id), BY_ID[ex.id].title, full, sum(got for got, _most in per_student) / len(per_student)))
    return rows


# A record's status as a reader sees it (the statuses themselves stay English identifiers: the
# gradebook's `status` column, results.json and the records key on them).
SAID_STATUS = {"graded": N_("graded"), "not started": N_("not started"), "timeout": N_("timeout"),
               "crashed": N_("crashed"), "malformed": N_("malformed"), "error": N_("error")}


def said_status(status: str) -> str:
    """A record's status for a reader ("timeout" -> "超时" in zh_CN)."""
    return _(SAID_STATUS[status]) if status in SAID_STATUS else status


def summary_table(records: list[dict[str, Any]]) -> str:
    """The table printed at the end of a batch: pass rate per exercise, statuses, mean total."""
    if not records:
        return _("no submissions graded")
    lines = [padded(_(EXERCISE), 58) + right_aligned(_(FULL_MARKS), 11) + right_aligned(_(MEAN_POINTS), 10)]
    for ex_label, title, full, mean in pass_rates(records):
        lines.append(f"{padded(said_exercise(ex_label), 16)}{padded(_(title), 42)}{full:>10.0%}{mean:>10.2f}")
    totals = [r["score"] for r in records]
    most = max(r["max_score"] for r in records)
    counts = {s: sum(1 for r in records if r["status"] == s) for s in STATUSES}
    mean_total, shown_most = f"{sum(totals) / len(totals):.2f}", f"{most:g}"
    lines.append(f"{padded(_(TOTAL), 58)}{'':>11}{mean_total:>10}  " + _("(of {most})", most=shown_most))
    said = ", ".join(f"{n} {said_status(s)}" for s, n in counts.items() if n)
    lines.append(_("submissions: {statuses}", statuses=said))
    return "\n".join(lines)


def said_exercise(ex_label: str) -> str:
    """An exercise's identifier label ("3 (extension)", as pass_rates and class.json keep it) for a reader."""
    by_label = {label(ex.id): ex.id for ex in EXERCISES}
    return said_label(by_label[ex_label]) if ex_label in by_label else ex_label


FULL_MARKS = N_("full marks")
MEAN_POINTS = N_("mean pts")
