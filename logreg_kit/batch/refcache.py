"""The reference's answers kept on disk between batch runs, so a later run asks the reference nothing.

Every grading run asks the reference the same questions (same probes, same seeded inputs), and
the answers only change when the solutions, the probes, the data or the library versions do.
A worker loads the answers recorded for its exact setting (the file name is a fingerprint of
all of those) into its MemoBackend and adds what it learns. The files hold data only (JSON
structure and arrays in one .npz, loaded without pickle), in the user's cache folder
($XDG_CACHE_HOME/logreg-kit or ~/.cache/logreg-kit; LOGREG_KIT_CACHE overrides, "off" disables).

Only used when student code runs under bubblewrap: without it, student code runs as this user
and could write to the cache folder.
"""
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .. import backend as _backend, data as _data, paths as _paths, probes as _probes
from ..backend import MemoBackend
from ..recorded import Encoder, RecordingError, decode

FORMAT = 2
INDEX = "index"  # the JSON structure, stored as bytes beside the arrays (a0, a1, ...)
FINGERPRINTED = (_probes, _data, _backend)  # the kit's modules the answers depend on, as imported


cache_folder = _paths.cache_folder  # one folder for the kit's caches; None: LOGREG_KIT_CACHE=off


def reference_sources(memo: MemoBackend) -> list[Path] | None:
    """The files the reference behind `memo` was actually loaded from; None when it is not a
    package loaded in this process (then nothing is cached)."""
    impl = getattr(memo.inner, "impl", None)
    files = impl.files() if hasattr(impl, "files") else []
    return [Path(f) for f in files] or None


def fingerprint(data: str, sources: list[Path]) -> str:
    """sha256 of everything the reference's answers depend on: the contents of the files the
    reference was loaded from (`sources`) and of the probes, data and backend modules, the data
    setting (and, for IDX folders, the content of the files read), and the versions of torch
    and numpy."""
    h = hashlib.sha256(f"{FORMAT} torch {torch.__version__} numpy {np.__version__} data {data}".encode())
    for path in sorted(sources) + [Path(m.__file__) for m in FINGERPRINTED]:
        h.update(str(path).encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-") + b"\0")
    for path in data_files(data):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def data_files(data: str) -> list[Path]:
    """The IDX files the data setting `data` trains and validates on (none for the embedded digits,
    whose content is pinned in data.py), so the fingerprint covers their content."""
    if data == "embedded" or not Path(data).is_dir():
        return []
    found = []
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        try:
            found.append(_data.find_idx(Path(data), stem))
        except _data.DataError:
            continue
    return found


class ReferenceCache:
    """Loads and saves one MemoBackend's answers for one setting."""

    def __init__(self, memo: MemoBackend, data: str) -> None:
        folder, sources = cache_folder(), reference_sources(memo)
        self.memo = memo
        self.path = folder / f"reference-{fingerprint(data, sources)}.npz" if folder and sources else None
        self.saved = 0

    def load(self) -> int:
        """Answers read from disk into the memo (0 when there is no usable file)."""
        if self.path is None:
            return 0
        try:
            with np.load(self.path, allow_pickle=False) as arrays:
                index = json.loads(arrays[INDEX].tobytes())
                if index.get("format") != FORMAT:
                    return 0
                answers = {k: decode(v, arrays) for k, v in index["answers"].items()}
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return 0
        self.memo.cache.update({k: v for k, v in answers.items() if k not in self.memo.cache})
        self.saved = len(self.memo.cache)
        return len(answers)

    def save(self) -> bool:
        """Write the memo when it holds answers the file lacks (atomically: a file renamed into place)."""
        if self.path is None or len(self.memo.cache) <= self.saved:
            return False
        encode = Encoder()
        try:
            answers = {k: encode(v) for k, v in self.memo.cache.items()}
        except RecordingError:
            return False
        index = json.dumps({"format": FORMAT, "answers": answers}).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".staging-", suffix=".npz", dir=self.path.parent)
            with os.fdopen(fd, "wb") as out:
                np.savez(out, **encode.arrays, **{INDEX: np.frombuffer(index, dtype=np.uint8)})
            os.replace(tmp, self.path)
        except OSError:
            return False
        self.saved = len(self.memo.cache)
        return True
