"""What `grade` and `merge` do besides grading: the class overview, regrade decisions, shards.

- `write_overview(out, records)`: class.json and class.html beside the gradebook (overview.py,
  overview_html.py, similarity.py); returns the terminal table.
- `Regrades`: decides, per submission, whether its record is current (the same content digest), which checks changed
  (fingerprint.py) or which one `--regrade CHECK` names, and counts why.
- `in_shard` / `parse_shard`: the K-th of N deterministic slices of a class (by a hash of the
  student id, so a student's slice does not depend on who else is in the class).
- `merge(outs, dest)`: shard outputs joined into one gradebook, overview and similarity report.
Torch-free.
"""
import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from ..i18n import N_, _, ngettext
from ..paths import write_json_atomic, write_text_atomic
from .fingerprint import reasons, stale
from .intake import Submission
from .outputs import CHECKED, load_records, write_gradebook
from .overview import summarise, terminal_table
from .overview_html import render_class
from .pool import Redo

ALL = "all"
SUBMISSION_CHANGED = N_("submission changed")  # its content digest (intake.content_digest) differs from the record's
NO_DIGEST = N_("record without a content digest (an older kit's)")  # graded again once, to record one
SAFE_ID = re.compile(r"[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*")  # what intake.student_id produces


class MergeError(RuntimeError):
    """Shard outputs that cannot be joined (a student graded in two shards, a missing folder)."""


def write_overview(out: Path, records: list[dict[str, Any]]) -> str:
    """class.json and class.html in `out` for `records`; the terminal table."""
    from .similarity import compare_class  # lazy: copydetect and numpy, only when an overview is written

    similar = compare_class({r["student"]: r["regions"] for r in records if isinstance(r.get("regions"), dict)})
    summary = summarise(records, similar)
    write_json_atomic(out / "class.json", summary)
    write_text_atomic(out / "class.html", render_class(summary))
    return terminal_table(summary)


class Regrades:
    """The grade command's decision for each submission (pool.Decide), and the counts of why."""

    def __init__(self, previous: dict[str, dict[str, Any]], regrade: str | None) -> None:
        self.previous = previous
        self.regrade = regrade
        self.current = 0
        self.why: Counter[str] = Counter()
        self.on_current: Any = lambda: None  # called for each record found current (the progress bar)

    def _named(self, planned: list[dict[str, Any]]) -> list[str]:
        wanted = (self.regrade or "").lower()
        return [e["name"] for e in planned if wanted in e["name"].lower()]

    def __call__(self, sub: Submission, planned: list[dict[str, Any]]) -> Redo | bool | None:
        record = self.previous.get(sub.student)
        if record is None or self.regrade == ALL:
            return None
        if record.get("digest") != sub.digest:  # what the student handed in is not what was graded
            self.why[SUBMISSION_CHANGED if record.get("digest") else NO_DIGEST] += 1
            return None
        if record["status"] not in CHECKED:  # a stopped, crashed or unreadable submission: all or nothing
            changed = stale(record["checks"], {e["name"]: e["fingerprint"] for e in planned})
            if changed:
                self.why[sorted(set(changed.values()))[0]] += 1
                return None
            self.current += 1
            self.on_current()
            return False
        if self.regrade:
            names, why = self._named(planned), f"--regrade {self.regrade}"
        else:
            changed = stale(record["checks"], {e["name"]: e["fingerprint"] for e in planned})
            names, why = sorted(changed, key=[e["name"] for e in planned].index), "; ".join(sorted(set(changed.values())))
        if not names:
            self.current += 1
            self.on_current()
            return False
        self.why[why] += 1
        return Redo(names, why, record)

    def summary(self) -> str:
        done = sum(self.why.values())
        current = ngettext("{n} record current", "{n} records current", self.current)
        if not done:
            return _("{current}; none regraded", current=current)
        return _("{current}; regraded {done}: {reasons}", current=current, done=done, reasons=reasons(dict(self.why)))


def parse_shard(text: str) -> tuple[int, int]:
    """"2/5" -> (2, 5); ValueError with a message otherwise."""
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(_("--shard wants K/N with 1 <= K <= N, got {text}", text=repr(text)))
    return int(match[1]), int(match[2])


def in_shard(student: str, k: int, n: int) -> bool:
    """Whether `student` belongs to slice K of N (1-based)."""
    digest = hashlib.sha256(student.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def merge(outs: list[Path], dest: Path) -> list[dict[str, Any]]:
    """Copy every shard's records and per-student folders into `dest`, then write the gradebook
    and overview there; returns the records. A record's file name must be its student id."""
    dest.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Path] = {}
    for out in outs:
        if not (out / "records").is_dir():
            raise MergeError(_("{out}: no records/ folder (not a `logreg-kit grade` output)", out=out))
        for path in sorted((out / "records").glob("*.json")):
            student = path.stem
            record = json.loads(path.read_text())
            if not SAFE_ID.fullmatch(student) or record.get("student") != student:
                raise MergeError(_("{path}: the record's student id does not match its file name", path=path))
            if student in seen and seen[student] != out:
                raise MergeError(_("{student} was graded in two shards: {first} and {second}", student=student,
                                   first=seen[student], second=out))
            seen[student] = out
            _copy_student(out, dest, student, path)
    records = list(load_records(dest).values())
    write_gradebook(dest, records)
    return records


def _copy_student(out: Path, dest: Path, student: str, record: Path) -> None:
    """The student's folder first, the record last (a record on disk means the rest is there)."""
    folder = out / student
    if folder.is_dir() and not folder.is_symlink():
        target = dest / student
        target.mkdir(parents=True, exist_ok=True)
        for name in ("results.json", "feedback.html"):
            if (folder / name).is_file() and not (folder / name).is_symlink():
                shutil.copyfile(folder / name, target / name)
    (dest / "records").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(record, dest / "records" / f"{student}.json")
