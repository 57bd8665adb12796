"""Where the kit's folders are, relative to the checkout (or the student bundle) it runs from."""
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
