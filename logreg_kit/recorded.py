"""The reference as recorded data, for the student bundle, which ships without `solutions/`.

`logreg-kit release` grades the reference with the public checks while a RecordingBackend sits
between the checks and the reference: every `reference().call(...)` / `.probe(...)` is stored as
(probe name, fingerprint of its plain arguments) -> its arguments and plain result. A question
whose float inputs differ from a recorded one in the last bits (exp/log on another CPU) still finds
its answer (same_question). The bundle's `reference()` is a
RecordedBackend that answers the same questions from that table. Values only, never code:
`reference.json` holds the table's structure and numbers, `reference.npz` its arrays (loaded with
`allow_pickle=False`).
"""
import copy
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .backend import Backend, LocalBackend, MemoBackend
from .i18n import ngettext
from .probes import Foreign

DATA_DIR = Path(__file__).resolve().parent / "expected"
INDEX = "reference.json"
ARRAYS = "reference.npz"
FORMAT = 1


class RecordingError(RuntimeError):
    """A probe argument or result that cannot be stored as data, or a question with no recorded answer."""


def _feed(h: "hashlib._Hash", value: Any, exact: bool) -> None:
    """Feed a canonical byte form of a plain value to `h`: types, shapes, dtypes, and the exact bytes
    of every value (exact) or of every value but floating-point ones (not exact)."""
    if isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous()
        h.update(f"T{data.dtype}{tuple(data.shape)}".encode())
        if exact or not data.is_floating_point():
            h.update(data.numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(f"A{value.dtype.str}{value.shape}".encode())
        if exact or value.dtype.kind not in "fc":
            h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, np.generic):
        _feed(h, value.item(), exact)
    elif isinstance(value, float):
        h.update(b"F" + (struct.pack("<d", value) if exact else b""))
    elif value is None or isinstance(value, (bool, int, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}".encode())
        for item in value:
            _feed(h, item, exact)
        h.update(b"]")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}".encode())
        for key in sorted(value, key=str):
            _feed(h, str(key), exact)
            _feed(h, value[key], exact)
        h.update(b"]")
    else:
        raise RecordingError(f"cannot fingerprint a {type(value).__name__}")


def key(probe: str, args: tuple[Any, ...], exact: bool = True) -> str:
    """Stable name of one question to the reference: `probe/sha256 of its arguments`; with
    exact=False, the name of every question of that form (same shapes, dtypes and integers)."""
    h = hashlib.sha256()
    _feed(h, args, exact)
    return f"{probe}/{h.hexdigest()[:32]}"


# Inputs computed with exp/log (softmax-normalised probabilities, log-probabilities) can differ in
# the last bits between CPUs and library builds; a question matches a recorded one this close.
MATCH_RTOL = 1e-5
MATCH_ATOL = 1e-7


def same_question(a: Any, b: Any) -> bool:
    """Two argument trees equal up to float rounding (same structure, dtypes and shapes)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return (a.dtype == b.dtype and a.shape == b.shape
                and torch.allclose(a.double(), b.double(), rtol=MATCH_RTOL, atol=MATCH_ATOL, equal_nan=True))
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape
                and (np.array_equal(a, b) if a.dtype.kind not in "fc" else np.allclose(a, b, MATCH_RTOL, MATCH_ATOL)))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= MATCH_ATOL + MATCH_RTOL * abs(b)
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(same_question(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_question(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class Encoder:
    """Plain data -> JSON-able tree; tensors and arrays go to `arrays` under short names."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return {"tensor": self._store(value.detach().cpu().numpy()), "dtype": str(value.dtype)}
        if isinstance(value, np.ndarray):
            return {"array": self._store(value)}
        if isinstance(value, np.generic):
            return self(value.item())
        if isinstance(value, Foreign):
            return {"foreign": value.type_name}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, tuple):
            return {"tuple": [self(v) for v in value]}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {"dict": {str(k): self(v) for k, v in value.items()}}
        raise RecordingError(f"cannot store a {type(value).__name__} as data")

    def _store(self, array: np.ndarray) -> str:
        if array.dtype == object:
            raise RecordingError("object arrays cannot be stored as data")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.array(array, copy=True)
        return name


def decode(tree: Any, arrays: Any) -> Any:
    if isinstance(tree, list):
        return [decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "tensor" in tree:
        dtype = getattr(torch, tree["dtype"].removeprefix("torch."))
        return torch.from_numpy(np.array(arrays[tree["tensor"]])).to(dtype)
    if "array" in tree:
        return np.array(arrays[tree["array"]])
    if "foreign" in tree:
        return Foreign(tree["foreign"])
    if "tuple" in tree:
        return tuple(decode(v, arrays) for v in tree["tuple"])
    return {k: decode(v, arrays) for k, v in tree["dict"].items()}


class RecordingBackend:
    """Passes every question to `inner` and remembers question -> answer."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.label = inner.label
        self.answers: dict[str, Any] = {}  # exact key -> {"probe", "args", "result"}

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        result = self.inner.run(exercises, probe, *args)
        self.answers[key(probe, args)] = {"probe": probe, "args": args, "result": result}
        return result

    def source(self, module: str) -> str | None:
        return None  # the reference's source is never recorded

    def close(self) -> None:
        self.inner.close()


class RecordedBackend:
    """Answers the checks' questions to the reference from recorded data; runs no code."""

    label = "recorded reference"

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.by_form: dict[str, list[dict[str, Any]]] = {}
        for entry in answers.values():
            self.by_form.setdefault(key(entry["probe"], entry["args"], exact=False), []).append(entry)

    @classmethod
    def load(cls, folder: Path = DATA_DIR) -> "RecordedBackend":
        index = json.loads((folder / INDEX).read_text())
        if index.get("format") != FORMAT:
            raise RecordingError(f"{folder / INDEX}: unknown format {index.get('format')!r}")
        with np.load(folder / ARRAYS, allow_pickle=False) as arrays:
            return cls({k: {"probe": v["probe"], "args": decode(v["args"], arrays), "result": decode(v["result"], arrays)}
                        for k, v in index["answers"].items()})

    def run(self, exercises: tuple[str, ...], probe: str, *args: Any) -> Any:
        entry = self.answers.get(key(probe, args)) or next(
            (e for e in self.by_form.get(key(probe, args, exact=False), []) if same_question(args, e["args"])), None)
        if entry is None:
            raise RecordingError(
                f"no recorded reference answer for probe {probe!r} on these inputs ({key(probe, args)}); "
                "the bundle's expected data were made for other check inputs: rebuild it with `logreg-kit release`"
            )
        return copy.deepcopy(entry["result"])

    def source(self, module: str) -> str | None:
        return None

    def close(self) -> None:
        pass


def save(answers: dict[str, Any], hidden: dict[str, float], folder: Path) -> None:
    """Write `reference.json` (structure, numbers) + `reference.npz` (arrays); no pickles, no code."""
    encode = Encoder()
    entries = {k: {"probe": v["probe"], "args": encode(v["args"]), "result": encode(v["result"])}
               for k, v in sorted(answers.items())}
    index = {"format": FORMAT, "hidden": hidden, "answers": entries}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INDEX).write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    with open(folder / ARRAYS, "wb") as out:
        np.savez_compressed(out, **encode.arrays)


def default_reference() -> Backend:
    """Recorded data where the bundle ships them, otherwise the solutions package."""
    if (DATA_DIR / INDEX).is_file():
        return RecordedBackend.load(DATA_DIR)
    return MemoBackend(LocalBackend("solutions"))


def hidden_points(folder: Path = DATA_DIR) -> dict[str, float]:
    """Exercise id -> points of the checks that only run at grading time (recorded by `release`);
    empty outside a student bundle."""
    try:
        hidden = json.loads((folder / INDEX).read_text()).get("hidden") or {}
    except (OSError, ValueError):
        return {}
    return {ex: float(points) for ex, points in (hidden.get("by_exercise") or {}).items()}


def hidden_note(folder: Path = DATA_DIR) -> list[str]:
    """Summary line(s) on the checks that only run at grading time (how many, how many points)."""
    try:
        hidden = json.loads((folder / INDEX).read_text()).get("hidden") or {}
    except (OSError, ValueError):
        return []
    if not hidden.get("checks"):
        return []
    more = ngettext("{n:g} more point", "{n:g} more points", hidden["points"])
    return ["  + " + ngettext("{n:g} hidden check worth {points} runs when your work is graded; it is not part of this "
                              "self-check",
                              "{n:g} hidden checks worth {points} run when your work is graded; they are not part of "
                              "this self-check", hidden["checks"], points=more)]
