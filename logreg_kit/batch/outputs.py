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
import csv
import io
import json
from pathlib import Path
from typing import Any

from ..exercises import BY_ID, EXERCISES, label
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
    """results.json for one submission (the harness's Gradescope format)."""
    keys = ("name", "score", "max_score", "status", "output", "visibility")
    tests = []
    for entry in record["checks"]:
        test = {k: entry[k] for k in keys if k in entry}
        if entry["status"] == "skipped":
            test.pop("status", None)
        tests.append(test)
    payload: dict[str, Any] = {"score": record["score"], "tests": tests}
    if record["status"] != "graded":
        payload["output"] = f"{record['status']}: {record['message']}"
    return payload


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


def _cell(entry: dict[str, Any]) -> str:
    """A check's gradebook cell: its points, or "skipped" for a check this machine could not run
    (left out of max_score, so not a 0)."""
    return "skipped" if entry["status"] == "skipped" else f"{entry['score']:g}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: what a spreadsheet may run


def csv_text(value: str) -> str:
    """A text cell a student controls (id, message), made inert for spreadsheets: a cell that
    starts like a formula gets a leading `'` (OWASP's advice), so it is shown, never evaluated."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def gradebook_csv(records: list[dict[str, Any]]) -> str:
    """student, status, total, max, one column per check (points or "skipped"), seconds, message."""
    names = check_names(records)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "status", "total", "max_score", *names, "seconds", "message"])
    for record in sorted(records, key=lambda r: r["student"]):
        by_name = {e["name"]: e for e in record["checks"]}
        cells = [_cell(by_name[n]) if n in by_name else "" for n in names]
        writer.writerow([csv_text(record["student"]), csv_text(record["status"]), f"{record['score']:g}",
                         f"{record['max_score']:g}", *cells, f"{record['seconds']:.1f}", csv_text(record["message"])])
    return buffer.getvalue()


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
            entries = [e for e in record["checks"] if e["exercise"] == ex.id and e["status"] != "skipped"]
            if entries:
                per_student.append((sum(e["score"] for e in entries), sum(e["max_score"] for e in entries)))
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
