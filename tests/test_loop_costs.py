"""What the self-check no longer pays for (issue 20), each shown to keep the grading it replaced: the
pipeline's loader takes a minibatch whole, a passing check works out no known mistake, the worker's
integrity check looks each member up directly, the grader's data loads beside the first checks, and
pytest loads no plugin it was not asked for."""
import sys
import threading
import time
import tomllib
import types

import pytest
import torch

from logreg_kit import probes
from logreg_kit.checks import registry
from logreg_kit.feedback import CheckFailure, expect_tensor
from logreg_kit.probes import _loader
from logreg_kit.release import BUNDLE_PYPROJECT
from logreg_kit.sandbox import integrity

from .conftest import ROOT

BATCH = 64


def _lesson_loader(x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.utils.data.DataLoader:
    """The lesson's own loader: a TensorDataset, shuffled by a seeded generator, default collation."""
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True,
                                       generator=generator)


@pytest.mark.parametrize("n, dtype", [(1000, torch.float32), (130, torch.float64), (7, torch.float32)])
def test_the_pipeline_loader_gives_the_lessons_minibatches_bit_for_bit(n: int, dtype: torch.dtype) -> None:
    torch.manual_seed(n)
    x, y = torch.randn(n, 784, dtype=dtype), torch.randint(0, 10, (n,))
    ours, lesson = _loader(x, y, BATCH, 5), _lesson_loader(x, y, 5)
    assert len(ours) == len(lesson) and ours.batch_size == BATCH and len(ours.dataset) == n
    for _epoch in range(3):  # a fresh shuffle per pass, the same as the lesson's
        for theirs, mine in zip(lesson, ours, strict=True):
            assert type(mine) is type(theirs)
            for want, got in zip(theirs, mine, strict=True):
                assert torch.equal(got, want) and got.dtype == want.dtype and got.stride() == want.stride()


def test_a_loader_a_student_builds_over_the_dataset_gets_what_a_tensordataset_gives() -> None:
    """fit may build its own DataLoader (or a Subset) over train_dl.dataset: default collation, the
    same minibatches as over the lesson's TensorDataset."""
    x, y = torch.randn(150, 784), torch.randint(0, 10, (150,))
    data, plain = _loader(x, y, BATCH, 0).dataset, torch.utils.data.TensorDataset(x, y)
    for wrap in (lambda d: d, lambda d: torch.utils.data.Subset(d, list(range(3, 120, 2)))):
        for mine, theirs in zip(torch.utils.data.DataLoader(wrap(data), batch_size=32),
                                torch.utils.data.DataLoader(wrap(plain), batch_size=32), strict=True):
            assert type(mine) is type(theirs) and all(torch.equal(a, b) for a, b in zip(mine, theirs, strict=True))
            assert mine[0].shape == theirs[0].shape


def test_a_loader_a_student_builds_gets_views_of_the_dataset_as_from_a_tensordataset() -> None:
    """A collate that changes its examples in place changes the dataset, as over a TensorDataset (an
    earlier version handed out views of a copy: a fit that scaled x in its own collate gained 5e)."""
    def scale(examples: list) -> list:
        for x_i, _y_i in examples:
            x_i.mul_(0.5)
        return torch.utils.data.default_collate(examples)

    x = torch.ones(10, 3)
    ours, plain = _loader(x.clone(), torch.arange(10), 4, 0).dataset, torch.utils.data.TensorDataset(x.clone(), torch.arange(10))
    for data in (ours, plain, torch.utils.data.Subset(ours, [1, 2])):
        for _batch in torch.utils.data.DataLoader(data, batch_size=4, collate_fn=scale):
            pass
    assert torch.equal(ours.tensors[0], plain.tensors[0] * torch.tensor([1, 0.5, 0.5] + [1] * 7)[:, None])


def test_the_pipeline_loader_takes_each_minibatch_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own loader asks the dataset for no single example (the saving above); another collate does."""
    asked = []
    monkeypatch.setattr(probes.BatchedTensorDataset, "__getitem__",
                        lambda self, i: asked.append(i) or tuple(t[i] for t in self.tensors))
    loader = _loader(torch.randn(100, 784), torch.randint(0, 10, (100,)), BATCH, 0)
    assert sum(len(xb) for xb, _yb in loader) == 100 and asked == []
    list(torch.utils.data.DataLoader(loader.dataset, batch_size=BATCH))
    assert sorted(asked) == list(range(100))


def test_the_pipeline_loader_dataset_still_answers_one_example() -> None:
    x, y = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    data = _loader(x, y, 4, 0).dataset
    assert [t.tolist() for t in data[3]] == [[6.0, 7.0], 3]


def test_a_passing_tensor_check_works_out_no_known_mistake() -> None:
    asked = []
    mistake = ("never", lambda: asked.append("worked out") or torch.zeros(3))
    expect_tensor(torch.ones(3), torch.ones(3), rtol=0, atol=0, mistakes=(mistake,))
    assert asked == []


def test_a_failing_tensor_check_still_names_the_known_mistake() -> None:
    with pytest.raises(CheckFailure) as failure:
        expect_tensor(torch.zeros(3), torch.ones(3), rtol=0, atol=0, mistakes=(("adds nothing", lambda: torch.zeros(3)),))
    assert failure.value.diagnosis == "adds nothing"


@pytest.fixture
def before() -> integrity.Snapshot:
    import logreg_kit.sandbox.template  # noqa: F401 - the modules a worker has loaded

    return integrity.snapshot()


def _slow_changes(before: integrity.Snapshot) -> list[str]:
    """What the walk over every kit module (the quick look's fallback) finds changed."""
    now = {name: integrity._fingerprint(value) for name, (value, _place) in integrity._loaded().items()}
    return sorted(name for name, print_ in before.prints.items() if now.get(name) != print_)


def _swap_code(target: types.FunctionType) -> object:
    saved = target.__code__
    target.__code__ = (lambda *args: None).__code__
    return lambda: setattr(target, "__code__", saved)


def _set(owner: object, name: str, value: object) -> object:
    saved = getattr(owner, name)
    setattr(owner, name, value)
    return lambda: setattr(owner, name, saved)


def _set_item(table: dict, key: object, value: object) -> object:
    saved = table[key]
    table[key] = value
    return lambda: table.__setitem__(key, saved)


def _replace_module(name: str) -> object:
    saved = sys.modules[name]
    sys.modules[name] = types.ModuleType(name)
    return lambda: sys.modules.__setitem__(name, saved)


class _ListingTable(dict):
    """A table that answers every lookup with a forged probe but lists the real entries."""

    def __iter__(self):  # noqa: ANN204
        return dict.__iter__(self)

    def __getitem__(self, key: object) -> object:
        return lambda *args: "forged"


class _LyingTable(dict):
    """A table whose lookups and get answer with a forged probe, its listing left alone: the walk over
    every module, which reads a table through dict() (a copy of the real entries), cannot tell."""

    def __getitem__(self, key: object) -> object:
        return lambda *args: "forged"

    def get(self, key: object, default: object = None) -> object:
        return lambda *args: "forged"


def _swap_table(cls: type) -> object:
    template = sys.modules["logreg_kit.sandbox.template"]  # the worker's loop calls its PROBES[probe]
    return _set(template, "PROBES", cls(template.PROBES))


TAMPERINGS = {
    "a table swapped for a dict that lies on lookups": lambda: _swap_table(_ListingTable),
    "a module renamed": lambda: _set(probes, "__name__", "elsewhere"),
    "a probe in the table": lambda: _set_item(probes.PROBES, "weights", lambda *args: None),
    "a function's code": lambda: _swap_code(probes.plain),
    "a function's defaults": lambda: _set(probes.probe, "__defaults__", (1,)),
    "a function's module name": lambda: _set(probes.plain, "__module__", "elsewhere"),
    "a method": lambda: _set(probes.TrustedSGD, "step", lambda self: None),
    "a module swapped in sys.modules": lambda: _replace_module("logreg_kit.probes"),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_the_quick_integrity_look_finds_what_the_walk_finds(before: integrity.Snapshot, tampering: str) -> None:
    undo = TAMPERINGS[tampering]()
    try:
        found = integrity.changed(before)
        assert found and set(_slow_changes(before)) <= set(found)
    finally:
        undo()
    assert integrity.changed(before) == []


def test_a_table_that_lies_to_the_walk_too_is_a_change(before: integrity.Snapshot) -> None:
    """The walk alone misses _LyingTable; the quick look takes only plain dicts and counts every entry changed."""
    undo = _swap_table(_LyingTable)
    try:
        assert _slow_changes(before) == []
        assert "logreg_kit.sandbox.template.PROBES['weights']" in integrity.changed(before)
    finally:
        undo()


def test_a_new_member_is_not_a_change(before: integrity.Snapshot) -> None:
    probes.PROBES["a_new_one"] = lambda *args: None
    try:
        assert integrity.changed(before) == []
    finally:
        del probes.PROBES["a_new_one"]


def test_the_data_loads_once_however_many_threads_ask(monkeypatch) -> None:
    loads = []
    def slow_load(source: str) -> object:  # slow enough that the threads ask while it runs
        loads.append(source)
        time.sleep(0.05)
        return object()

    monkeypatch.setattr(registry, "load_split", slow_load)
    registry._split.cache_clear()
    try:
        registry.prefetch_grader_data()
        threads = [threading.Thread(target=registry.grader_data) for _ in range(4)]
        for t in threads:
            t.start()
        got = registry.grader_data()
        for t in threads:
            t.join()
        assert loads == [registry.SETTINGS.data] and registry.grader_data() is got
    finally:
        registry._split.cache_clear()


def _addopts(pyproject: str) -> str:
    return tomllib.loads(pyproject)["tool"]["pytest"]["ini_options"]["addopts"]


def test_pytest_loads_only_the_plugins_it_is_asked_for() -> None:
    """The kit's and the student bundle's pytest settings: no plugin auto-loaded from entry points
    (anyio's and platformdirs' cost 0.1-0.25 s of every cold `pytest grader/`)."""
    bundle = BUNDLE_PYPROJECT.format(version="0", packages="[]", dependencies="[]", notebook_dependencies="[]")
    for pyproject in ((ROOT / "pyproject.toml").read_text(), bundle):
        assert "--disable-plugin-autoload" in _addopts(pyproject).split()


def test_a_prefetch_that_cannot_read_the_data_leaves_the_error_to_the_checks(monkeypatch) -> None:
    raised = []
    monkeypatch.setattr(threading, "excepthook", raised.append)

    def unreadable(source: str) -> object:
        raise FileNotFoundError(source)

    monkeypatch.setattr(registry, "load_split", unreadable)
    registry._split.cache_clear()
    try:
        registry.prefetch_grader_data()
        for thread in threading.enumerate():
            if thread.name == "logreg-kit-data":
                thread.join()
        assert raised == []
        with pytest.raises(FileNotFoundError):
            registry.grader_data()
    finally:
        registry._split.cache_clear()
