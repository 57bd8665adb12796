"""Where the kit's folders are, relative to the checkout (or the student bundle) it runs from."""
import atexit
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`: a reader (or a
    run killed half-way) sees the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def write_json_atomic(path: Path | str, payload: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2))


def cache_folder() -> Path | None:
    """The kit's cache folder (the embedded digits, the reference's answers): $LOGREG_KIT_CACHE itself
    when set, else $XDG_CACHE_HOME/logreg-kit or ~/.cache/logreg-kit; None when LOGREG_KIT_CACHE=off."""
    chosen = os.environ.get("LOGREG_KIT_CACHE", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "logreg-kit"


# The reference's answers (batch/refcache.py); the cached digits need no forgetting: data.py checks
# them against a pinned digest whenever it reads them.
FORGOTTEN_PATTERNS = ("reference-*.npz", "hypothesis-cases-*.json")  # the second: checks/properties.py


def forget_caches() -> int:
    """Remove the cached reference answers (how many): after a run whose student code ran as this
    user, which could have rewritten them, so that a later run asks the reference again."""
    folder, removed = cache_folder(), 0
    for pattern in FORGOTTEN_PATTERNS if folder is not None and folder.is_dir() else ():
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


_UNSANDBOXED: list[bool] = []  # one entry once student code has run as this user in this process's run


def student_code_unsandboxed() -> None:
    """Student code is about to run outside bwrap with this user's rights (--in-process, the weak
    sandbox's plain worker): it can rewrite the kit's caches. Forget them now and when this process
    ends (atexit runs the hooks last registered first, so this one follows any the student's import
    registers), and read none of them back in this process (`caches_trusted`)."""
    forget_caches()
    if not _UNSANDBOXED:
        _UNSANDBOXED.append(True)
        atexit.register(forget_caches)


def caches_trusted() -> bool:
    """Whether no student code has run unsandboxed as this user in this process (see above)."""
    return not _UNSANDBOXED
