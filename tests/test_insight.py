"""Instructor insight: the class overview, similarity, regrades that stay true, shards, class.html in a browser.

One class of 30 (tests/insight_class.py: references, stubs, mutants, variants and three planted
copies of one wrong submission) is graded once for the module; the shard test grades a few of
its submissions again, in one run and in 3 shards.
"""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from logreg_kit.batch import overview
from logreg_kit.batch.fingerprint import check_fingerprint, stale
from logreg_kit.batch.insight import in_shard, parse_shard
from logreg_kit.batch.overview_html import render_class
from logreg_kit.batch.regions import reference_regions, regions_of
from logreg_kit.batch.similarity import compare_class
from logreg_kit.paths import ASSIGNMENTS

from .conftest import ROOT, make_submission
from .insight_class import PLANTED_COPIES, REFERENCES, build_class

TIMEOUT_S = "180"
SHARDED = 6  # submissions of the class graded again in one run and in 3 shards


def run_cli(*args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logreg_kit", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def grade(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    run = run_cli("grade", str(folder), "--out", str(out), "--jobs", "2", "--timeout", TIMEOUT_S, "--quiet", *extra)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    base = tmp_path_factory.mktemp("insight")
    build_class(base / "class")
    return base / "class", base / "out", grade(base / "class", base / "out")


def summary(out: Path) -> dict:
    return json.loads((out / "class.json").read_text())


def records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


# --- the class of 30 ------------------------------------------------------------------------------

def test_planted_mistake_tops_the_failure_table_as_one_group(graded) -> None:
    _, out, run = graded
    got = summary(out)
    assert got["students"] == 30 and (out / "class.html").is_file()
    planted_failed = {e["name"] for e in records(out)["planted_a"]["checks"] if e["status"] == "failed"}
    assert planted_failed, "the planted submission must lose points"
    top = got["checks"][: len(planted_failed)]
    assert {row["check"] for row in top} == planted_failed, [(r["check"], r["failed"]) for r in got["checks"][:6]]
    assert all(set(PLANTED_COPIES) <= set(row["students"]) for row in top)
    # the same mistake is one line per check, with the three copies in it
    for name in planted_failed:
        lines = [m for m in got["mistakes"] if m["check"] == name and set(PLANTED_COPIES) & set(m["students"])]
        assert len(lines) == 1 and set(PLANTED_COPIES) <= set(lines[0]["students"]), lines
    assert "most failed checks:" in run.stdout and "largest mistakes:" in run.stdout


def test_planted_copies_are_the_top_similar_pairs(graded) -> None:
    _, out, run = graded
    similar = summary(out)["similarity"]
    pairs = [{p["a"], p["b"]} for p in similar["pairs"]]
    assert pairs[:3] == [set(pair) for pair in ({"planted_a", "planted_b"}, {"planted_a", "planted_c"},
                                                {"planted_b", "planted_c"})], similar["pairs"][:4]
    assert all({"planted_a", "planted_b", "planted_c"} >= pair for pair in pairs), pairs  # nothing else flagged
    assert {s: similar["marks"].get(s) for s in (*REFERENCES, "stubs")} == {
        "ref_1": "reference", "ref_2": "reference", "stubs": "stubs"}
    page = (out / "class.html").read_text()
    assert "a prompt to look, not a verdict" in page and "<mark>" in page
    assert "planted_a ~ planted_b" in run.stdout


def test_mistake_kinds_incidents_and_exercise_table(graded) -> None:
    _, out, _ = graded
    got = summary(out)
    kinds = {m["kind"] for m in got["mistakes"]}
    assert "not implemented" in kinds  # the stubs
    stub_lines = [m for m in got["mistakes"] if "stubs" in m["students"]]
    assert all(m["kind"] == "not implemented" for m in stub_lines if "NotImplementedError" in m["example"])
    assert got["incidents"] == []  # nothing in this class hangs or crashes
    assert sum(b["count"] for b in got["histogram"]) == 30
    assert {e["exercise"] for e in got["exercises"]} >= {"1", "2a", "3", "5e"}


def test_resumed_run_regrades_exactly_the_changed_checks(graded, tmp_path) -> None:
    """Records graded by an older version of one check are regraded for that check only, and the
    summary says so; the others are current."""
    folder, graded_out, _ = graded
    out = tmp_path / "out"
    shutil.copytree(graded_out, out)
    before = records(out)
    name = before["ref_1"]["checks"][0]["name"]
    for student in ("ref_1", "m04_softmax__over_dim_0"):
        record = before[student]
        record["checks"][0]["fingerprint"] = dict(record["checks"][0]["fingerprint"], check="older")
        (out / "records" / f"{student}.json").write_text(json.dumps(record))
    run = grade(folder, out)
    assert f"28 records current; regraded 2: check '{name}' changed (2)" in run.stdout, run.stdout[-1500:]
    after = records(out)
    assert {s for s, r in after.items() if r.get("regraded")} == {"ref_1", "m04_softmax__over_dim_0"}
    assert after["ref_1"]["regraded"] == [name]
    assert after["ref_1"]["checks"][0]["fingerprint"] == before["ref_2"]["checks"][0]["fingerprint"]
    assert [e["score"] for e in after["ref_1"]["checks"]] == [e["score"] for e in before["ref_1"]["checks"]]
    assert after["planted_a"] == before["planted_a"]


def test_regrade_one_check_across_the_class(graded, tmp_path) -> None:
    folder, graded_out, _ = graded
    out = tmp_path / "out"
    shutil.copytree(graded_out, out)
    run = grade(folder, out, "--regrade", "keeps float64 inputs")
    assert "regraded 30: --regrade keeps float64 inputs (30)" in run.stdout, run.stdout[-1500:]
    after = records(out)
    assert all(r["regraded"] == ["3 softmax: keeps float64 inputs in float64"] for r in after.values())


def _gradebook_without_times(out: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_three_shards_merge_into_the_same_gradebook(graded, tmp_path) -> None:
    folder, _, _ = graded
    small = tmp_path / "class"
    small.mkdir()
    for name in ("ref_1", "stubs", "planted_a", "planted_c", "m04_softmax__over_dim_0", "v00_binary__np_mean_of_a_list_built_with_a_c")[:SHARDED]:
        shutil.copytree(folder / name, small / name)
    whole = tmp_path / "whole"
    grade(small, whole)
    shards = [tmp_path / f"shard{k}" for k in (1, 2, 3)]
    for k, shard in enumerate(shards, 1):
        grade(small, shard, "--shard", f"{k}/3")
    sizes = [len(list((s / "records").glob("*.json"))) if (s / "records").is_dir() else 0 for s in shards]
    assert sum(sizes) == SHARDED
    merged = tmp_path / "merged"
    run = run_cli("merge", *[str(s) for s in shards if (s / "records").is_dir()], "--out", str(merged))
    assert run.returncode == 0, run.stderr
    assert _gradebook_without_times(merged) == _gradebook_without_times(whole)
    assert summary(merged)["similarity"]["pairs"][0]["a"] == "planted_a"
    assert summary(merged)["checks"] == summary(whole)["checks"]


# --- pieces, without grading ------------------------------------------------------------------

def test_regions_are_what_replaces_the_stubs(tmp_path) -> None:
    ref = reference_regions()
    assert "return e / e.sum(dim=1)[:, None]" in ref["softmax"]
    assert "def softmax" not in ref["softmax"] and '"""' not in ref["softmax"]  # given code and docstrings left out
    assert "### BEGIN SOLUTION" not in "".join(ref.values())
    assert regions_of(ASSIGNMENTS) == {}
    sub = make_submission(tmp_path / "s", {"softmax": [("e = torch.exp(x)", "e = torch.exp(x)  # mine\n    e = e + 0")]})
    assert "e = e + 0" in regions_of(sub)["softmax"]


def test_similarity_ignores_reference_and_stubs_and_sees_through_renaming(tmp_path) -> None:
    build_class(tmp_path / "class")
    found = compare_class({p.name: regions_of(p) for p in (tmp_path / "class").iterdir()})
    assert found["marks"] == {"ref_1": "reference", "ref_2": "reference", "stubs": "stubs"}
    assert [{p["a"], p["b"]} for p in found["pairs"]] == [{"planted_a", "planted_b"}, {"planted_a", "planted_c"},
                                                          {"planted_b", "planted_c"}]
    assert found["pairs"][1]["similarity"] >= 0.5  # the renamed, reformatted copy


@pytest.mark.parametrize("message, kind", [
    ("values differ at 3 of 50 elements; worst at index (0, 2): expected 0.5, got 1.5", "off by a factor x3"),
    ("shape: expected (5, 10), got (10, 5) [seed 1]", "wrong shape"),
    ("NaN at index (0, 0) (4 non-finite elements)", "NaN or inf"),
    ("timed out after 60 s in fit", "time-out"),
    ("losses.py line 3 uses F.softmax, which exercise 3 asks you to write yourself", "from-scratch call"),
    ("NotImplementedError: Exercise 3: softmax", "not implemented"),
    ("expected 0.164252033486, got 0.2", "wrong values"),
])
def test_mistake_kinds(message: str, kind: str) -> None:
    assert overview.mistake_kind(message) == kind


def test_same_mistake_with_other_numbers_and_names_is_one_group() -> None:
    def record(student: str, text: str) -> dict:
        entry = {"name": "3 softmax: rows sum to one", "exercise": "3", "score": 0.0, "max_score": 1.0,
                 "status": "failed", "output": f"Exercise 3, softmax: rows sum to one\n  {text}\n  hint: dim=1"}
        return {"student": student, "status": "graded", "score": 0.0, "max_score": 1.0, "checks": [entry],
                "message": ""}
    rows = overview.mistakes([record("a", "row 0 sums to 1.5 in `x`"), record("b", "row 3 sums to 0.25 in `z`"),
                              record("c", "shape: expected (2, 3), got (3, 2)")])
    assert [(r["count"], r["students"]) for r in rows] == [(2, ["a", "b"]), (1, ["c"])]


def test_student_strings_are_escaped_in_class_html() -> None:
    evil = "<script>alert(1)</script>"
    rec = {"student": evil, "status": "crashed", "score": 0.0, "max_score": 1.0, "message": evil, "checks": [
        {"name": "1 x: y", "exercise": "1", "score": 0.0, "max_score": 1.0, "status": "failed", "output": evil}]}
    similar = {"marks": {evil: "stubs"}, "compared": 2, "threshold": 0.5, "pairs": [
        {"a": evil, "b": "b", "similarity": 1.0, "identical": True, "tokens": 50, "code": [evil, evil],
         "spans": [[[0, 8]], [[0, 8]]]}]}
    page = render_class(overview.summarise([rec], similar))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_fingerprint_follows_the_tolerance_a_check_names(monkeypatch) -> None:
    from logreg_kit.checks import CHECKS
    from logreg_kit.checks import softmax as softmax_checks

    before = {c.name: check_fingerprint(c.fn) for c in CHECKS}
    monkeypatch.setattr(softmax_checks, "LOG_ATOL", softmax_checks.LOG_ATOL * 10)
    after = {c.name: check_fingerprint(c.fn) for c in CHECKS}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"3 log_softmax: matches the reference on random logits",  # the three checks naming it
                       "3 log_softmax: exp of each row sums to one",  # (its diagnosis compares within LOG_ATOL)
                       "3 (extension) log_softmax: finite and right for logits as large as 1e4"}, changed
    then = [{"name": n, "fingerprint": {"check": before[n], "reference": "r", "settings": "s"}} for n in before]
    now = {n: {"check": after[n], "reference": "r", "settings": "s"} for n in after}
    assert set(stale(then, now)) == changed


def test_shards_split_a_class_once() -> None:
    students = [f"s{i:03d}" for i in range(200)]
    slices = [{s for s in students if in_shard(s, k, 3)} for k in (1, 2, 3)]
    assert sum(map(len, slices)) == 200 and set.union(*slices) == set(students)
    assert all(len(s) > 40 for s in slices)
    with pytest.raises(ValueError, match="K/N"):
        parse_shard("4/3")


# --- a real browser ----------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_class_html_renders_in_headless_chromium(graded, tmp_path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium: `.ci/run` installs Debian's package (apt-get install chromium) where it can")
    _, out, _ = graded
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "class.html").resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html_after = dom.stdout
    assert html_after.count("class=\"bar\"") == overview.HISTOGRAM_BINS
    assert "<table id=\"failures\">" in html_after and "planted_a" in html_after
    assert "planted_a ~ planted_b" in html_after and "<mark>" in html_after
    shot = tmp_path / "class.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1200,1600", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


SIMILARITY_SCRIPT = """
import json, sys
from pathlib import Path
from logreg_kit.batch.regions import regions_of
from logreg_kit.batch.similarity import compare_class
found = compare_class({p.name: regions_of(p) for p in Path(sys.argv[1]).iterdir()})
print(json.dumps([(p["a"], p["b"], p["similarity"]) for p in found["pairs"]]))
"""


def test_similarity_is_the_same_in_every_process(tmp_path) -> None:
    """copydetect hashes with Python's salted hash(): shards merged must still report what one run reports."""
    build_class(tmp_path / "class", 12)
    seen = set()
    for seed in ("1", "2", "3", "4"):
        run = subprocess.run([sys.executable, "-c", SIMILARITY_SCRIPT, str(tmp_path / "class")], cwd=ROOT,
                             capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr[-2000:]
        seen.add(run.stdout)
    assert len(seen) == 1, seen
    assert [tuple(p[:2]) for p in json.loads(seen.pop())][:1] == [("planted_a", "planted_b")]


FINGERPRINTS = """
from logreg_kit.batch.fingerprint import check_fingerprint
from logreg_kit.checks import CHECKS
print(sorted((c.name, check_fingerprint(c.fn)) for c in CHECKS))
"""


def test_fingerprints_are_the_same_under_every_hash_seed() -> None:
    """A check's fingerprint must not depend on set order or object addresses (a table of helper
    functions, a frozenset of names), or a resumed run would regrade checks at random."""
    runs = {subprocess.run([sys.executable, "-c", FINGERPRINTS], capture_output=True, text=True, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(runs) == 1, "check fingerprints differ between hash seeds"
