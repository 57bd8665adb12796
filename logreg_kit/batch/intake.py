"""Turning what students hand in into folders the grader can load.

A submission is a folder (a copy of assignments/), a .zip of one, a .ipynb notebook, or a clone
of a student's repository made from the release bundle (a folder holding `assignments/` beside
`grader/` or `.github/`): of a repository only `assignments/` is graded (or its
`notebooks/logreg.ipynb` when `assignments/` is still the released stubs), never its `grader/`,
`conftest.py` or workflow. A folder or zip whose modules lie in two sub-folders at the same depth
is refused, never guessed between. The student id is the file or folder name without its extension,
normalised to a safe name (`student_ids`): unique among all ids of the batch once case is folded,
never one of the batch's own output names, never starting with `.` or `_`. Zips are extracted with
no path traversal, no links, no member that is both a file and a folder, size limits that count
every member (litter included), and litter (__MACOSX, ._*, .git, __pycache__) left out. A
submission that is a symbolic link, or that resolves outside its class folder, is refused. Every
failure to read one submission is an IntakeError for that submission only (`prepare_or_explain`);
so is an entry of a class folder that is neither (litter, SKIPPED_ENTRIES, is skipped).
`content_digest` is what resume compares to tell a changed submission.
"""
import functools
import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..exercises import MODULES

MAX_ZIP_FILES = 200
MAX_ZIP_BYTES = 20 * 1024 * 1024  # uncompressed, all members together
MAX_MEMBER_BYTES = 5 * 1024 * 1024
MAX_ID_CHARS = 100
LITTER_FOLDERS = ("__MACOSX", ".git", "__pycache__")  # never extracted; still counted by the limits
REPOSITORY_MARKS = ("grader", ".github")  # beside assignments/: a clone of the release bundle
REPOSITORY_NOTEBOOK = ("notebooks", "logreg.ipynb")  # the bundle's notebook: graded when assignments/ is untouched
ACCEPTED = "a folder, a .zip or a .ipynb notebook"  # what a class folder's entry may be
# A class folder's entries skipped without a row (system and tool litter); every other entry is a
# submission, and one that is not ACCEPTED gets a `malformed` row saying so.
SKIPPED_ENTRIES = frozenset({*LITTER_FOLDERS, ".DS_Store", ".ipynb_checkpoints", "Thumbs.db", "desktop.ini"})
# The batch's own output names (gradebook.csv, records/, a class overview or summary, shards, ...):
# a student id whose stem is one of them gets a prefix, so no student's folder can take their place.
RESERVED_IDS = frozenset({"gradebook", "records", "record", "class", "summary", "overview", "shards", "shard",
                          "similarity", "insight", "insights", "index", "results", "feedback", "report",
                          "reports", "work", "tmp", "students", "student"})


class IntakeError(Exception):
    """A submission that cannot be turned into a folder (bad zip, notebook that is not JSON, ...)."""


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
        if path.is_dir() and not path.is_symlink() and not _looks_like_submission(path):
            found.extend((p, path) for p in sorted(path.iterdir()) if _is_candidate(p))
        else:
            found.append((path, None))
    ids = student_ids([path for path, _ in found])
    return [Submission(sid, path, within) for sid, (path, within) in zip(ids, found)]


def is_repository(folder: Path) -> bool:
    """A clone of a student's repository made from the release bundle: `assignments/` beside
    `grader/` or `.github/`."""
    try:
        return (folder / "assignments").is_dir() and any((folder / n).exists() for n in REPOSITORY_MARKS)
    except OSError:
        return False


def _looks_like_submission(folder: Path) -> bool:
    try:
        modules = any((folder / f"{m}.py").exists() for m in MODULES) or (folder / "__init__.py").exists()
        return modules or is_repository(folder)
    except OSError:  # unreadable: prepare says why, for that submission
        return True


def _is_candidate(path: Path) -> bool:
    """A class folder's entry that is a submission: anything but SKIPPED_ENTRIES and AppleDouble
    `._*` files (links are kept, to be refused by name; other files to be refused by suffix)."""
    return path.name not in SKIPPED_ENTRIES and not path.name.startswith("._")


def is_accepted(path: Path) -> bool:
    """Whether `path` has a form the intake takes (ACCEPTED); a link is judged, and refused, later."""
    return path.is_symlink() or path.is_dir() or path.suffix.lower() in (".zip", ".ipynb")


def content_digest(source: Path) -> str:
    """sha256 of what the student handed in: the bytes of a file, or of every file of a folder
    (litter folders left out, links never followed: their target text counts) with its relative
    path, sorted by path. Resume regrades a record whose digest differs."""
    digest = hashlib.sha256()
    try:
        if source.is_symlink() or not source.is_dir():
            _digest_entry(digest, source, source.name)
            return digest.hexdigest()
        for root, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d not in LITTER_FOLDERS)
            for name in sorted(files + [d for d in dirs if (Path(root) / d).is_symlink()]):
                path = Path(root) / name
                _digest_entry(digest, path, path.relative_to(source).as_posix())
    except OSError as err:
        digest.update(f"unreadable: {type(err).__name__}".encode())
    return digest.hexdigest()


def _digest_entry(digest: "hashlib._Hash", path: Path, name: str) -> None:
    """Add one entry (name, then its bytes, or a link's target, or its kind) to `digest`."""
    digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        digest.update(b"link:" + os.readlink(path).encode("utf-8", "surrogateescape"))
    elif stat.S_ISREG(mode):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    else:
        digest.update(f"kind:{stat.S_IFMT(mode)}".encode())
    digest.update(b"\0")


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
        return None, f"{sub.source.name}: could not be read ({type(err).__name__}: {str(err)[:200]})", ""


def prepare(sub: Submission, work: Path) -> Path:
    """The folder to grade for `sub` (`prepare_noted` without its note)."""
    return prepare_noted(sub, work)[0]


def prepare_noted(sub: Submission, work: Path) -> tuple[Path, str]:
    """The folder to grade for `sub`, made under `work` where extraction or conversion is needed,
    and a note for the record ("" or what of a repository was graded, `_repository_root`).

    Raises IntakeError with a message for the gradebook when the submission is malformed.
    """
    src = sub.source
    if src.is_symlink():
        raise IntakeError(f"{src.name} is a symbolic link: hand in the files themselves, not a link to them")
    if sub.within is not None and not src.resolve().is_relative_to(sub.within.resolve()):
        raise IntakeError(f"{src.name} resolves outside the class folder {sub.within}")
    if not src.exists():
        raise IntakeError(f"{src}: no such file or folder")
    name = src.name
    src = src.resolve()
    converted = work / "_notebooks" / sub.student  # a repository's notebook (ids never start with `_`)
    if src.is_dir():
        return _root_of(src, name, converted)
    suffix = src.suffix.lower()
    dest = work / sub.student
    if dest.exists():
        shutil.rmtree(dest)
    if suffix == ".zip":
        extract_zip(src, dest)
        return _root_of(dest, name, converted)
    if suffix == ".ipynb":
        return notebook_to_folder(src, dest), ""
    raise IntakeError(f"{name}: not a submission: hand in {ACCEPTED}")


def _root_of(folder: Path, name: str, converted: Path) -> tuple[Path, str]:
    """The folder to grade in `folder` (a repository's choice, or `_package_root`) and its note."""
    repository = _repository(folder)
    if repository is not None:
        return _repository_root(repository, converted)
    return _package_root(folder, name), ""


def _package_root(folder: Path, name: str) -> Path:
    """The folder holding the exercise modules: `folder` itself, or its only shallowest sub-folder
    that does; two or more at that depth are two submissions in one, refused (never a guess).
    `name` is the submission's name for the message."""
    if _looks_like_submission(folder):
        return folder
    inner = [p for p in folder.rglob("*.py") if p.stem in MODULES and "__MACOSX" not in p.parts]
    roots = sorted({p.parent for p in inner}, key=lambda p: (len(p.parts), p.as_posix()))
    if not roots:
        raise IntakeError(f"no exercise module ({', '.join(m + '.py' for m in MODULES)}) found in the submission")
    shallowest = [p.relative_to(folder).as_posix() + "/" for p in roots if len(p.parts) == len(roots[0].parts)]
    if len(shallowest) > 1:
        listed = ", ".join(shallowest[:-1]) + " and " + shallowest[-1]
        raise IntakeError(f"{name} holds {len(shallowest)} submissions, {listed}: hand in one")
    root = roots[0]
    if any(p.is_symlink() for p in [root, *root.parents][: len(root.relative_to(folder).parts)]):
        raise IntakeError(f"{root.relative_to(folder)} is reached through a symbolic link: hand in the files themselves")
    return root


def _repository(folder: Path) -> Path | None:
    """`folder` when it is a student's repository, or its only sub-folder when that is one (a
    repository downloaded as a zip holds one folder, `NAME-main/`)."""
    if is_repository(folder):
        return folder
    inner = [p for p in folder.iterdir() if p.name not in LITTER_FOLDERS]
    if len(inner) == 1 and inner[0].is_dir() and not inner[0].is_symlink() and is_repository(inner[0]):
        return inner[0]
    return None


def _repository_root(repository: Path, converted: Path) -> tuple[Path, str]:
    """A repository's `assignments/`, or its notebook converted at `converted` when assignments/
    is still the released stubs; the note says so, or that a worked-on notebook was not graded."""
    notebook = repository.joinpath(*REPOSITORY_NOTEBOOK)
    has_notebook = notebook.is_file() and not notebook.is_symlink() and not notebook.parent.is_symlink()
    if has_notebook and _is_released_stubs(repository / "assignments"):
        if converted.exists():
            shutil.rmtree(converted)
        converted.parent.mkdir(parents=True, exist_ok=True)
        return (notebook_to_folder(notebook, converted),
                "graded notebooks/logreg.ipynb: assignments/ is still the released stubs")
    folder = _assignments_of(repository)
    if has_notebook and _notebook_worked_on(notebook):
        return folder, "graded assignments/; notebooks/logreg.ipynb was worked on too and was not graded"
    return folder, ""


@functools.lru_cache(maxsize=1)
def _released_stubs() -> tuple[dict[str, bytes], ...]:
    """File name -> bytes of the kit's generated assignments/ (build.render_assignments), in every
    language a bundle can be released in (`release --lang`)."""
    from ..build import render_assignments
    from ..i18n import available_languages

    return tuple({name: text.encode() for name, text in render_assignments(lang=lang).items()}
                 for lang in available_languages())


def _is_released_stubs(folder: Path) -> bool:
    """Whether `folder` holds exactly the released stub files of one language (regular files,
    never followed links; the size is compared before anything is read)."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        return any(_holds(folder, stubs) for stubs in _released_stubs())
    except OSError:
        return False


def _holds(folder: Path, files: dict[str, bytes]) -> bool:
    for name, data in files.items():
        info = (folder / name).lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data) or (folder / name).read_bytes() != data:
            return False
    return True


@functools.lru_cache(maxsize=1)
def _released_cells() -> tuple[dict[str, str], ...]:
    """Exercise id -> source of the released notebook's solution cell (the stub), in every language."""
    from ..i18n import available_languages
    from ..notebook_build import stub_cells

    return tuple(stub_cells(lang=lang) for lang in available_languages())


def _notebook_worked_on(notebook: Path) -> bool:
    """Whether a repository's notebook has a solution cell that differs from the released one (an
    unreadable notebook counts as worked on: it is not the released one)."""
    from ..notebooks import NotebookError, solution_cells

    try:
        released = _released_cells()
    except OSError:  # no solutions/ in this checkout: nothing to compare with, so nothing to say
        return False
    try:
        return solution_cells(notebook) not in released
    except (NotebookError, RecursionError, MemoryError):
        return True


def _assignments_of(repository: Path) -> Path:
    """A repository's `assignments/`, refused when it is a link or holds no exercise module."""
    folder = repository / "assignments"
    if folder.is_symlink():
        raise IntakeError("assignments/ is a symbolic link: hand in the files themselves")
    if not any((folder / f"{m}.py").is_file() for m in MODULES):
        names = ", ".join(m + ".py" for m in MODULES)
        raise IntakeError(f"the repository's assignments/ holds no exercise module ({names})")
    return folder


def _safe_member(info: zipfile.ZipInfo) -> str | None:
    """The member's relative path, None for litter; IntakeError for traversal or links."""
    name = info.filename.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(f"zip member {info.filename!r} points outside the submission")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IntakeError(f"zip member {info.filename!r} is a symbolic link")
    if not parts or any(p in LITTER_FOLDERS for p in parts) or parts[-1].startswith("._") or parts[-1] == ".DS_Store":
        return None
    return "/".join(parts)


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract a submission zip safely into `dest` (limits: MAX_ZIP_FILES, MAX_ZIP_BYTES)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            every = zf.infolist()  # the limits count every member: litter and folders too
            if len(every) > MAX_ZIP_FILES:
                raise IntakeError(f"{archive.name}: {len(every)} members, more than the limit of {MAX_ZIP_FILES}")
            declared = sum(i.file_size for i in every)
            if declared > MAX_ZIP_BYTES:
                raise IntakeError(f"{archive.name}: {declared} bytes uncompressed, more than the limit of {MAX_ZIP_BYTES}")
            members = [(info, _safe_member(info)) for info in every]
            members = [(i, n) for i, n in members if n is not None and not i.is_dir()]
            _refuse_file_folder_clash(archive, [n for _, n in members])
            dest.mkdir(parents=True)
            total = 0
            for info, name in members:
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(64 * 1024):
                        total += len(chunk)
                        if total > MAX_ZIP_BYTES or out.tell() + len(chunk) > MAX_MEMBER_BYTES:
                            raise IntakeError(f"{archive.name}: {name} is larger than it declares or the size limit")
                        out.write(chunk)
    except zipfile.BadZipFile as err:
        raise IntakeError(f"{archive.name}: not a valid zip file ({err})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as err:  # unreadable member, odd compression
        raise IntakeError(f"{archive.name}: could not be extracted ({type(err).__name__}: {str(err)[:200]})") from None


def _refuse_file_folder_clash(archive: Path, names: list[str]) -> None:
    """IntakeError when a member lies inside another member that is a file (`losses.py` and
    `losses.py/inner.py`): no folder can hold both."""
    files = set(names)
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                raise IntakeError(f"{archive.name}: zip member {name!r} lies inside {'/'.join(parts[:i])!r}, "
                                  "which is a file")


# --- notebooks -----------------------------------------------------------------------------

def notebook_to_folder(notebook: Path, dest: Path) -> Path:
    """Write the notebook's solution cells as a submission folder at `dest` (the nbgrader route's converter)."""
    from ..notebooks import NoCellMetadata, NotebookError, notebook_package

    try:
        return notebook_package(notebook, dest)
    except NoCellMetadata as err:
        raise IntakeError(f"{notebook.name}: {err}") from None
    except (NotebookError, RecursionError, MemoryError) as err:
        raise IntakeError(f"{notebook.name}: not a Jupyter notebook ({err or type(err).__name__})") from None


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    text = "".join(src) if isinstance(src, list) else str(src)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("%", "!")))
