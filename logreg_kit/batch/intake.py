"""Batch grading's side of the intake: student ids and class folders. Turning each submission into
a folder is the one intake's (`logreg_kit.intake.take_in`, which every route calls; its rules on
zips, repositories and notebooks are described there).

The student id is the file or folder name without its extension, normalised to a safe name
(`student_ids`): unique among all ids of the batch once case is folded, never one of the batch's own
output names, never starting with `.` or `_`. A folder holding no module of its own but sub-folders,
zips or notebooks is a class folder: each entry is a submission (litter, SKIPPED_ENTRIES, is
skipped), and one that resolves outside the class folder is refused. Every failure to read one
submission is an IntakeError for that submission only (`prepare_or_explain`). `COURSE` is what the
course released, from solutions/, so that a repository whose assignments/ is untouched is graded
from its notebook.
"""
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .. import build, notebook_build
from ..i18n import _, available_languages
from ..intake import (  # noqa: F401 - re-exported: batch callers and tests know them here
    ACCEPTED,
    LITTER_FOLDERS,
    MAX_MEMBER_BYTES,
    MAX_ZIP_BYTES,
    MAX_ZIP_FILES,
    REPOSITORY_MARKS,
    REPOSITORY_NOTEBOOK,
    IntakeError,
    Released,
    looks_like_submission,
    content_digest,
    extract_zip,
    is_repository,
    notebook_to_folder,
    take_in,
)

MAX_ID_CHARS = 100
# A class folder's entries skipped without a row (system and tool litter); every other entry is a
# submission, and one that is not ACCEPTED gets a `malformed` row saying so.
SKIPPED_ENTRIES = frozenset({*LITTER_FOLDERS, ".DS_Store", ".ipynb_checkpoints", "Thumbs.db", "desktop.ini"})
# The batch's own output names (gradebook.csv, records/, a class overview or summary, shards, ...):
# a student id whose stem is one of them gets a prefix, so no student's folder can take their place.
RESERVED_IDS = frozenset({"gradebook", "records", "record", "class", "summary", "overview", "shards", "shard",
                          "similarity", "insight", "insights", "index", "results", "feedback", "report",
                          "reports", "work", "tmp", "students", "student"})


@dataclass(frozen=True)
class Submission:
    student: str  # id used for file names and the gradebook row
    source: Path  # what the student handed in
    within: Path | None = None  # the class folder it was found in: it must resolve inside it
    digest: str = ""  # content_digest(source), when the grade command computed it (resume compares it)


def student_id(path: Path) -> str:
    """`alice.zip` -> `alice`; unsafe characters become `_`; no leading `.`, `_`, `-`, `+`, `@`
    (so never a hidden name, nor a spreadsheet formula); at most MAX_ID_CHARS characters."""
    name = path.name
    for suffix in (".zip", ".ipynb"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_.@+-]", "_", name)
    name = re.sub(r"^[^A-Za-z0-9]+", "", name)[:MAX_ID_CHARS].rstrip(".")
    return name or "unnamed"


def _is_reserved(sid: str) -> bool:
    """An id whose folder or file could be taken for one of the batch's own outputs."""
    return sid.split(".")[0].casefold() in RESERVED_IDS


def student_ids(paths: list[Path]) -> list[str]:
    """One id per path (`student_id`), unique once case is folded and never a reserved output name.

    A reserved name gets the `student-` prefix; a later duplicate gets the first `-N` suffix that is
    no other submission's id (checked against every id of the batch, so `a_b` from `a b` never takes
    the row of a student really called `a_b-2`)."""
    bases = [student_id(p) for p in paths]
    bases = [f"student-{b}" if _is_reserved(b) else b for b in bases]
    taken = {b.casefold() for b in bases}
    given: set[str] = set()
    ids = []
    for base in bases:
        sid, n = base, 1
        while sid.casefold() in given or (n > 1 and (sid.casefold() in taken or _is_reserved(sid))):
            n += 1
            sid = f"{base}-{n}"
        given.add(sid.casefold())
        ids.append(sid)
    return ids


def collect(paths: list[str | Path]) -> list[Submission]:
    """One Submission per argument; a folder holding no module of its own but sub-folders, zips
    or notebooks is a class folder and expands to its entries (a student's repository is one
    submission). Ids are made unique (`student_ids`), in the order the entries are listed."""
    found: list[tuple[Path, Path | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and not path.is_symlink() and not looks_like_submission(path):
            found.extend((p, path) for p in sorted(path.iterdir()) if _is_candidate(p))
        else:
            found.append((path, None))
    ids = student_ids([path for path, _within in found])
    return [Submission(sid, path, within) for sid, (path, within) in zip(ids, found)]


def _is_candidate(path: Path) -> bool:
    """A class folder's entry that is a submission: anything but SKIPPED_ENTRIES and AppleDouble
    `._*` files (links are kept, to be refused by name; other files to be refused by suffix)."""
    return path.name not in SKIPPED_ENTRIES and not path.name.startswith("._")


def is_accepted(path: Path) -> bool:
    """Whether `path` has a form the intake takes (ACCEPTED); a link is judged, and refused, later."""
    return path.is_symlink() or path.is_dir() or path.suffix.lower() in (".zip", ".ipynb")


def prepare_or_explain(sub: Submission, work: Path) -> tuple[Path | None, str, str]:
    """(folder, "", note) or (None, why, ""): whatever goes wrong reading one submission (a bad
    zip, a notebook nested too deeply for the JSON reader, a file the grader may not read, ...) is
    that submission's message, never the batch's end. `note` says what of a repository was graded
    when that needs saying (`prepare_noted`)."""
    try:
        folder, note = prepare_noted(sub, work)
        return folder, "", note
    except IntakeError as err:
        return None, str(err), ""
    except Exception as err:  # noqa: BLE001 - any failure is the submission's (RecursionError, MemoryError too)
        error = f"{type(err).__name__}: {str(err)[:200]}"
        return None, _("{name}: could not be read ({error})", name=sub.source.name, error=error), ""


def prepare(sub: Submission, work: Path) -> Path:
    """The folder to grade for `sub` (`prepare_noted` without its note)."""
    return prepare_noted(sub, work)[0]


def prepare_noted(sub: Submission, work: Path) -> tuple[Path, str]:
    """The folder to grade for `sub` (the one intake, with this batch's id and class folder, and the
    course's release at hand), made under `work` where extraction or conversion is needed, and a
    note for the record ("" or what of a repository was graded).

    Raises IntakeError with a message for the gradebook when the submission is malformed.
    """
    package = take_in(sub.source, work, sub.student, COURSE, sub.within)
    return package.folder, package.note


@functools.lru_cache(maxsize=1)
def _released_stubs() -> tuple[dict[str, bytes], ...]:
    """File name -> bytes of the kit's generated assignments/ (build.render_assignments), in every
    language a bundle can be released in (`release --lang`)."""
    return tuple({name: text.encode() for name, text in build.render_assignments(lang=lang).items()}
                 for lang in available_languages())


@functools.lru_cache(maxsize=1)
def _released_cells() -> tuple[dict[str, str], ...]:
    """Exercise id -> source of the released notebook's solution cell (the stub), in every language."""
    return tuple(notebook_build.stub_cells(lang=lang) for lang in available_languages())


COURSE = Released(stubs=_released_stubs, cells=_released_cells)
