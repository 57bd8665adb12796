"""The code a student wrote: what replaces the stubs, without the lesson's given code.

A submission's module is compared line by line with the stub the student started from
(`assignments/MODULE.py`): lines that match the stub (imports, docstrings, the lesson's given
functions) are the lesson's; lines the submission has instead of or beside them are the
student's. For the reference this gives the regions between `### BEGIN SOLUTION` and
`### END SOLUTION` in `solutions/`; for the stubs it gives nothing. Reads text only: nothing
of the submission is imported or run. Torch-free (the `grade` parent and `merge` use it).
"""
import difflib
from pathlib import Path

from ..exercises import MODULES
from ..paths import ASSIGNMENTS, SOLUTIONS

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
MAX_MODULE_CHARS = 200_000  # a module read for similarity; longer ones are cut (sandbox refuses > 2 MB anyway)


def written_lines(stub: str, text: str) -> list[str]:
    """The lines of `text` that are not in `stub` (inserted or replacing stub lines), in order;
    blank lines and solution markers dropped, trailing spaces stripped."""
    old = [line.rstrip() for line in stub.splitlines()]
    new = [line.rstrip() for line in text.splitlines()]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    kept = []
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            kept.extend(line for line in new[j1:j2] if line.strip() and line.strip() not in MARKERS)
    return kept


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(MAX_MODULE_CHARS)
    except OSError:
        return ""


def regions_of(folder: Path, stubs: Path = ASSIGNMENTS) -> dict[str, str]:
    """{module: the student's code in it} for each exercise module of `folder` (absent or
    unreadable modules give nothing)."""
    found = {}
    for module in MODULES:
        path = folder / f"{module}.py"
        if path.is_file() and not path.is_symlink():
            lines = written_lines(_read(stubs / f"{module}.py"), _read(path))
            if lines:
                found[module] = "\n".join(lines) + "\n"
    return found


def reference_regions() -> dict[str, str]:
    """The reference's solution regions, found the same way as a student's."""
    return regions_of(SOLUTIONS)


def as_document(regions: dict[str, str]) -> str:
    """All regions as one Python text, module by module (what similarity compares)."""
    return "".join(f"# {module}.py\n{regions[module]}" for module in MODULES if module in regions)
