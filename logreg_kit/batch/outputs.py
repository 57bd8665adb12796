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
from ..exercises import BY_ID, EXERCISES, label
from ..result_formats import FORMULA_STARTS, csv_text  # noqa: F401 - re-exported (tests, insight)
from ..results import max_total, results_of, total
from ..paths import write_json_atomic, write_text_atomic

CHECKED = ("graded", "not started")  # statuses of a record whose every check ran (a per-check regrade applies)

STATUSES = ("graded", "not started", "timeout", "crashed", "malformed", "error")


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
    """(exercise label, title, share of students with full points, mean points) per exercise."""
    rows = []
    for ex in EXERCISES:
        per_student = []
        for record in records:
            results = [r for r in results_of(record["checks"]) if r.exercise == ex.id and r.status != "skipped"]
            if results:
                per_student.append((total(results), max_total(results)))
        if per_student:
            full = sum(1 for got, most in per_student if got >= most) / len(per_student)
            rows.append((label(ex.id), BY_ID[ex.id].title, full, sum(g for g, _ in per_student) / len(per_student)))
    return rows


def summary_table(records: list[dict[str, Any]]) -> str:
    """The table printed at the end of a batch: pass rate per exercise, statuses, mean total."""
    if not records:
        return "no submissions graded"
    lines = [f"{'exercise':<16}{'':<42}{'full marks':>11}{'mean pts':>10}"]
    for ex_label, title, full, mean in pass_rates(records):
        lines.append(f"{ex_label:<16}{title:<42}{full:>10.0%}{mean:>10.2f}")
    totals = [r["score"] for r in records]
    most = max(r["max_score"] for r in records)
    counts = {s: sum(1 for r in records if r["status"] == s) for s in STATUSES}
    lines.append(f"{'total':<58}{'':>11}{sum(totals) / len(totals):>10.2f}  (of {most:g})")
    lines.append("submissions: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)
