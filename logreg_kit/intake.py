"""The one intake: whatever a student hands in becomes the package folder every route grades.

A submission is a folder (a copy of assignments/, its .py files), a .zip of one, a .ipynb notebook,
or a clone of a student's repository made from the release bundle (a folder holding `assignments/`
beside `grader/` or `.github/`). `take_in(source)` gives the `Package` to grade; the pytest plugin,
`logreg-kit watch`, `logreg-kit check`, batch grading (`batch.intake`, which adds student ids and
class folders) and nbgrader's KitGrade all call it before anything is graded, and the backend
factory (`logreg_kit.factory`) opens only what it gives.

The rules, one place for every route:
- A folder or zip whose modules lie in two sub-folders at the same depth is refused, never guessed
  between; a folder holding the modules one level down (`alice/assignments/`) is graded there.
- Zips are extracted with no path traversal, no links, no member that is both a file and a folder,
  size limits that count every member (litter included), and litter (__MACOSX, ._*, .git,
  __pycache__) left out.
- Of a repository only `assignments/` is graded (or its `notebooks/logreg.ipynb` when
  `assignments/` is still the released stubs, which a route in the course checkout can tell:
  `Released`), never its `grader/`, `conftest.py` or workflow.
- A notebook is converted from its solution cells only (`cells.notebook_package`); one that is not
  a readable notebook, or has no nbgrader cell metadata, is refused with a message saying so.
- A submission that is a symbolic link, or that resolves outside the folder it was found in, is
  refused.
Every refusal is an IntakeError with a message for the student or the gradebook.
`content_digest` is what batch resume compares to tell a changed submission.
"""
import hashlib
import importlib.util
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cells import NoCellMetadata, NotebookError, notebook_package, solution_cells
from .exercises import MODULES
from .i18n import N_, _
from .impl import REFERENCE

MAX_ZIP_FILES = 200
MAX_ZIP_BYTES = 20 * 1024 * 1024  # uncompressed, all members together
MAX_MEMBER_BYTES = 5 * 1024 * 1024
LITTER_FOLDERS = ("__MACOSX", ".git", "__pycache__")  # never extracted; still counted by the limits
REPOSITORY_MARKS = ("grader", ".github")  # beside assignments/: a clone of the release bundle
REPOSITORY_NOTEBOOK = ("notebooks", "logreg.ipynb")  # the bundle's notebook: graded when assignments/ is untouched
ACCEPTED = N_("a folder, a .zip or a .ipynb notebook")  # what a submission may be (said through _())
CONVERTED = "_notebooks"  # under `work`: a repository's converted notebook (student ids never start with `_`)


class IntakeError(Exception):
    """A submission that cannot be turned into a folder (bad zip, notebook that is not JSON, ...)."""


@dataclass(frozen=True)
class Released:
    """What the course handed out, to tell a repository's untouched stubs from a student's work. The
    course side (`batch.intake.COURSE`) builds it from solutions/; the student bundle has none."""

    # one per language a bundle is released in (`logreg-kit release --lang`):
    stubs: Callable[[], tuple[dict[str, bytes], ...]]  # file name -> bytes of the released assignments/
    cells: Callable[[], tuple[dict[str, str], ...]]  # exercise id -> source of the student notebook's solution cell


@dataclass(frozen=True)
class Package:
    """What the backend factory opens: a package folder (or the kit's reference / an importable
    package, by name), the name of what was handed in for reports, and a note on what was graded."""

    target: str  # a package folder, or REFERENCE, or an importable package's name
    label: str  # what was handed in, as the route named it
    note: str = ""  # what of a repository was graded, when that needs saying
    made: Path | None = None  # a temporary folder the intake made: `discard` removes it

    @property
    def folder(self) -> Path:
        return Path(self.target)

    def discard(self) -> None:
        """Remove the temporary folder the intake made for this package (nothing when it made none)."""
        if self.made is not None:
            shutil.rmtree(self.made, ignore_errors=True)


def take_in(source: str | Path, work: Path | None = None, name: str = "submission",
            released: Released | None = None, within: Path | None = None) -> Package:
    """The Package to grade for `source`, made under `work/name` where extraction or conversion is
    needed (a fresh temporary folder, `Package.made`, when `work` is None). The bare name
    `solutions` is the kit's own reference and an existing path never stands in for it; a name that
    is no path but an importable package's is passed on as it is. `released`: the course's release, to
    choose between a repository's assignments/ and its notebook. `within`: the folder `source` was
    found in, which it must resolve inside.

    Raises IntakeError with a message for the student or the gradebook when the submission is malformed.
    """
    if isinstance(source, str) and source == REFERENCE:
        return Package(REFERENCE, REFERENCE)
    src = Path(source)
    if not src.exists() and not src.is_symlink() and _importable(str(source)):
        return Package(str(source), str(source))  # an importable package, by its name
    made: Path | None = None
    if work is None:
        work = made = Path(tempfile.mkdtemp(prefix="logreg_intake_"))
    try:
        folder, note = _folder_of(src, work, name, released, within)
    except BaseException:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise
    if made is not None and not any(made.iterdir()):  # nothing extracted or converted: graded in place
        made.rmdir()
        made = None
    return Package(str(folder), str(source), note, made)


def _importable(name: str) -> bool:
    """Whether `name` is a top-level package Python can find (its folder is not searched for here)."""
    try:
        return name.isidentifier() and importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _folder_of(src: Path, work: Path, name: str, released: Released | None,
               within: Path | None) -> tuple[Path, str]:
    """The folder to grade for `src` and its note (`take_in`'s work)."""
    if src.is_symlink():
        raise IntakeError(_("{name} is a symbolic link: hand in the files themselves, not a link to them", name=src.name))
    if within is not None and not src.resolve().is_relative_to(within.resolve()):
        raise IntakeError(_("{name} resolves outside the class folder {folder}", name=src.name, folder=within))
    if not src.exists():
        raise IntakeError(_("{path}: no such file or folder", path=src))
    shown = src.name
    src = src.resolve()
    converted = work / CONVERTED / name
    if src.is_dir():
        return _root_of(src, shown, converted, released)
    suffix = src.suffix.lower()
    dest = work / name
    if dest.exists():
        shutil.rmtree(dest)
    if suffix == ".zip":
        extract_zip(src, dest)
        return _root_of(dest, shown, converted, released)
    if suffix == ".ipynb":
        return notebook_to_folder(src, dest), ""
    raise IntakeError(_("{name}: not a submission: hand in {accepted}", name=shown, accepted=_(ACCEPTED)))


def is_repository(folder: Path) -> bool:
    """A clone of a student's repository made from the release bundle: `assignments/` beside
    `grader/` or `.github/`."""
    try:
        return (folder / "assignments").is_dir() and any((folder / n).exists() for n in REPOSITORY_MARKS)
    except OSError:
        return False


def looks_like_submission(folder: Path) -> bool:
    """Whether `folder` is one submission (an exercise module or __init__.py of its own, or a repository)."""
    try:
        modules = any((folder / f"{m}.py").exists() for m in MODULES) or (folder / "__init__.py").exists()
        return modules or is_repository(folder)
    except OSError:  # unreadable: take_in says why, for that submission
        return True


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


def _root_of(folder: Path, name: str, converted: Path, released: Released | None) -> tuple[Path, str]:
    """The folder to grade in `folder` (a repository's choice, or `_package_root`) and its note."""
    repository = _repository(folder)
    if repository is not None:
        return _repository_root(repository, converted, released)
    return _package_root(folder, name), ""


def _package_root(folder: Path, name: str) -> Path:
    """The folder holding the exercise modules: `folder` itself, or its only shallowest sub-folder
    that does; two or more at that depth are two submissions in one, refused (never a guess).
    `name` is the submission's name for the message."""
    if looks_like_submission(folder):
        return folder
    inner = [p for p in folder.rglob("*.py") if p.stem in MODULES and "__MACOSX" not in p.parts]
    roots = sorted({p.parent for p in inner}, key=lambda p: (len(p.parts), p.as_posix()))
    if not roots:
        raise IntakeError(_("no exercise module ({modules}) found in the submission", modules=", ".join(m + ".py" for m in MODULES)))
    shallowest = [p.relative_to(folder).as_posix() + "/" for p in roots if len(p.parts) == len(roots[0].parts)]
    if len(shallowest) > 1:
        listed = _("{first} and {last}", first=", ".join(shallowest[:-1]), last=shallowest[-1])
        raise IntakeError(_("{name} holds {count} submissions, {listed}: hand in one", name=name, count=len(shallowest),
                            listed=listed))
    root = roots[0]
    if any(p.is_symlink() for p in [root, *root.parents][: len(root.relative_to(folder).parts)]):
        raise IntakeError(_("{path} is reached through a symbolic link: hand in the files themselves",
                            path=root.relative_to(folder)))
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


def _repository_root(repository: Path, converted: Path, released: Released | None) -> tuple[Path, str]:
    """A repository's `assignments/`, or its notebook converted at `converted` when assignments/
    is still the released stubs; the note says so, or that a worked-on notebook was not graded.
    Without `released` (no course at hand) nothing can be compared: assignments/ is graded."""
    notebook = repository.joinpath(*REPOSITORY_NOTEBOOK)
    has_notebook = released is not None and notebook.is_file() and not notebook.is_symlink() \
        and not notebook.parent.is_symlink()
    if has_notebook and _is_released_stubs(repository / "assignments", released):
        if converted.exists():
            shutil.rmtree(converted)
        converted.parent.mkdir(parents=True, exist_ok=True)
        return (notebook_to_folder(notebook, converted),
                _("graded notebooks/logreg.ipynb: assignments/ is still the released stubs"))
    folder = _assignments_of(repository)
    if has_notebook and _notebook_worked_on(notebook, released):
        return folder, _("graded assignments/; notebooks/logreg.ipynb was worked on too and was not graded")
    return folder, ""


def _is_released_stubs(folder: Path, released: Released) -> bool:
    """Whether `folder` holds exactly the released stub files of one language (regular files, never
    followed links; the size is compared before anything is read)."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        return any(_holds(folder, stubs) for stubs in released.stubs())
    except OSError:
        return False


def _holds(folder: Path, files: dict[str, bytes]) -> bool:
    """Whether `folder` holds exactly these files' bytes."""
    for name, data in files.items():
        info = (folder / name).lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data) or (folder / name).read_bytes() != data:
            return False
    return True


def _notebook_worked_on(notebook: Path, released: Released) -> bool:
    """Whether a repository's notebook has a solution cell that differs from the released one (an
    unreadable notebook counts as worked on: it is not the released one)."""
    try:
        cells = released.cells()
    except OSError:  # no solutions/ in this checkout: nothing to compare with, so nothing to say
        return False
    try:
        return solution_cells(notebook) not in cells
    except (NotebookError, RecursionError, MemoryError):
        return True


def _assignments_of(repository: Path) -> Path:
    """A repository's `assignments/`, refused when it is a link or holds no exercise module."""
    folder = repository / "assignments"
    if folder.is_symlink():
        raise IntakeError(_("assignments/ is a symbolic link: hand in the files themselves"))
    if not any((folder / f"{m}.py").is_file() for m in MODULES):
        names = ", ".join(m + ".py" for m in MODULES)
        raise IntakeError(_("the repository's assignments/ holds no exercise module ({modules})", modules=names))
    return folder


def _safe_member(info: zipfile.ZipInfo) -> str | None:
    """The member's relative path, None for litter; IntakeError for traversal or links."""
    name = info.filename.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts or re.match(r"^[A-Za-z]:", name):
        raise IntakeError(_("zip member {member!r} points outside the submission", member=info.filename))
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise IntakeError(_("zip member {member!r} is a symbolic link", member=info.filename))
    if not parts or any(p in LITTER_FOLDERS for p in parts) or parts[-1].startswith("._") or parts[-1] == ".DS_Store":
        return None
    return "/".join(parts)


def extract_zip(archive: Path, dest: Path) -> None:
    """Extract a submission zip safely into `dest` (limits: MAX_ZIP_FILES, MAX_ZIP_BYTES)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            every = zf.infolist()  # the limits count every member: litter and folders too
            if len(every) > MAX_ZIP_FILES:
                raise IntakeError(_("{archive}: {count} members, more than the limit of {limit}", archive=archive.name,
                                    count=len(every), limit=MAX_ZIP_FILES))
            declared = sum(i.file_size for i in every)
            if declared > MAX_ZIP_BYTES:
                raise IntakeError(_("{archive}: {size} bytes uncompressed, more than the limit of {limit}", archive=archive.name,
                                    size=declared, limit=MAX_ZIP_BYTES))
            members = [(info, _safe_member(info)) for info in every]
            members = [(i, n) for i, n in members if n is not None and not i.is_dir()]
            _refuse_file_folder_clash(archive, [n for info, n in members])
            dest.mkdir(parents=True)
            total = 0
            for info, name in members:
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    while chunk := src.read(64 * 1024):
                        total += len(chunk)
                        if total > MAX_ZIP_BYTES or out.tell() + len(chunk) > MAX_MEMBER_BYTES:
                            raise IntakeError(_("{archive}: {member} is larger than it declares or the size limit",
                                                archive=archive.name, member=name))
                        out.write(chunk)
    except zipfile.BadZipFile as err:
        raise IntakeError(_("{archive}: not a valid zip file ({error})", archive=archive.name, error=err)) from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as err:  # unreadable member, odd compression
        error = f"{type(err).__name__}: {str(err)[:200]}"
        raise IntakeError(_("{archive}: could not be extracted ({error})", archive=archive.name, error=error)) from None


def _refuse_file_folder_clash(archive: Path, names: list[str]) -> None:
    """IntakeError when a member lies inside another member that is a file (`losses.py` and
    `losses.py/inner.py`): no folder can hold both."""
    files = set(names)
    for name in names:
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                raise IntakeError(_("{archive}: zip member {member!r} lies inside {file!r}, which is a file",
                                    archive=archive.name, member=name, file="/".join(parts[:i])))


# --- notebooks -----------------------------------------------------------------------------

def notebook_to_folder(notebook: Path, dest: Path) -> Path:
    """Write the notebook's solution cells as a submission folder at `dest` (every route's converter)."""
    try:
        return notebook_package(notebook, dest)
    except NoCellMetadata as err:
        raise IntakeError(f"{notebook.name}: {err}") from None
    except (NotebookError, RecursionError, MemoryError) as err:
        raise IntakeError(_("{notebook}: not a Jupyter notebook ({error})", notebook=notebook.name,
                            error=err or type(err).__name__)) from None
