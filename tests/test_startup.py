"""Start-up deferrals of the self-check (issue 20): the property checks' drawn cases kept on disk."""
import json

import pytest

from logreg_kit.checks import properties
from logreg_kit.checks.properties import EXAMPLES, Case, cases, drawn


@pytest.fixture
def case_cache(tmp_path, monkeypatch):
    """A private cache folder, trusted (as under bwrap), and no cases drawn yet in this process."""
    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    monkeypatch.setattr(properties, "_cache_trusted", lambda: True)
    monkeypatch.setattr(properties, "_DRAWN", {})
    return tmp_path


def _no_hypothesis(spec):  # noqa: ANN001, ANN202
    raise AssertionError("hypothesis was asked although the cases were on disk")


def test_cached_cases_are_hypothesis_own(case_cache, monkeypatch) -> None:
    fresh = drawn(cases(2))
    assert 0 < len(fresh) <= EXAMPLES and all(c.classes >= 2 for c in fresh)
    assert len(list(case_cache.glob("hypothesis-cases-*.json"))) == 1
    monkeypatch.setattr(properties, "_DRAWN", {})
    monkeypatch.setattr(properties, "_draw", _no_hypothesis)
    assert drawn(cases(2)) == fresh


def test_each_spec_has_its_own_file(case_cache) -> None:
    drawn(cases(1))
    drawn(cases(2))
    assert len(list(case_cache.glob("hypothesis-cases-*.json"))) == 2


@pytest.mark.parametrize("content", [
    "[]",  # no cases: every property would pass
    json.dumps([[1, 5, 1, 1.0]]),  # fewer classes than the spec asks for
    json.dumps([[1, 5000, 3, 1.0]]),  # more rows than MAX_ROWS
    json.dumps([[1, 5, 3, 7.5]]),  # a scale outside SCALES
    json.dumps([[1, 5, 3, 1.0]] * (EXAMPLES + 1)),  # more cases than drawn
    json.dumps({"seed": 1}),
    "not json",
])
def test_a_cache_file_without_valid_cases_is_drawn_afresh(case_cache, monkeypatch, content) -> None:
    drawn(cases(2))
    path = next(case_cache.glob("hypothesis-cases-*.json"))
    path.write_text(content)
    monkeypatch.setattr(properties, "_DRAWN", {})
    redrawn = []
    monkeypatch.setattr(properties, "_draw", lambda spec: redrawn.append(spec) or [Case(1, 2, 2, 1.0)])
    assert drawn(cases(2)) == [Case(1, 2, 2, 1.0)]
    assert redrawn == [cases(2)]


def test_the_cache_is_not_read_where_student_code_could_write_it(case_cache, monkeypatch) -> None:
    drawn(cases(2))
    monkeypatch.setattr(properties, "_DRAWN", {})
    monkeypatch.setattr(properties, "_cache_trusted", lambda: False)
    redrawn = []
    monkeypatch.setattr(properties, "_draw", lambda spec: redrawn.append(spec) or [Case(1, 2, 2, 1.0)])
    drawn(cases(2))
    assert redrawn == [cases(2)]


def test_cache_off_draws_every_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LOGREG_KIT_CACHE", "off")
    monkeypatch.setattr(properties, "_cache_trusted", lambda: True)
    monkeypatch.setattr(properties, "_DRAWN", {})
    assert drawn(cases(1))
    assert properties._drawn_file(cases(1)) is None
