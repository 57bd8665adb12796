"""One outcome set (passed, failed, skipped, hidden, never ran) through every output format: each
format, read back, agrees with the score table (results.py) on every score, max, status and
visibility it carries, and no format a student reads shows a hidden check's message."""
import csv
import io
import json
import re

import pytest

from logreg_kit import result_formats
from logreg_kit.batch import html, outputs
from logreg_kit.exercises import BY_ID, label
from logreg_kit.checks import CHECKS
from logreg_kit.i18n import _, speaking
from logreg_kit.recorded import INDEX, hidden_note
from logreg_kit.results import HIDDEN_MESSAGE, CheckResult, declared_points, max_total, results_of, said_points, total

CJK = re.compile(r"[\u4e00-\u9fff]")
SECRET = "expected 0.2500 at row 3"  # what a hidden check's message must never show a student
OUTCOMES = [
    CheckResult("1", "binary_loss_if", "the loss of one example", 2.0, "passed"),
    CheckResult("1", "binary_loss_if", "the mean over examples", 1.0, "failed", message="Exercise 1: expected 1, got 2"),
    CheckResult("1", "binary_loss_if", "any label set", 1.0, "passed", "hidden"),
    CheckResult("3", "softmax", "the same on a GPU", 1.0, "skipped", message="skipped: CUDA is not available here"),
    CheckResult("3", "softmax", "rows of any width", 2.0, "failed", "hidden", f"Exercise 3, softmax: {SECRET}"),
    CheckResult("3", "softmax", "autograd follows it", 1.5, "error", "hidden", f"not graded: timeout; {SECRET}"),
]
BY_NAME = {r.name: r for r in OUTCOMES}
SCORE, MOST = 3.0, 7.5  # passed: 2 + 1; every check but the skipped one: 2 + 1 + 1 + 2 + 1.5


def test_the_score_table_sums_by_the_one_rule() -> None:
    assert (total(OUTCOMES), max_total(OUTCOMES)) == (SCORE, MOST)
    assert [(r.score, r.max_score) for r in OUTCOMES] == [(2, 2), (0, 1), (1, 1), (0, 0), (0, 2), (0, 1.5)]
    assert results_of(r.to_entry() for r in OUTCOMES) == OUTCOMES  # a batch record keeps every field
    with pytest.raises(ValueError):
        CheckResult("1", "f", "t", 1.0, "visible")


def _agree(read: dict[str, dict], statuses: dict[str, str], fields: tuple[str, ...]) -> None:
    """Every check `read` lists agrees with the table on `fields`; statuses in the format's words."""
    for name, got in read.items():
        want = BY_NAME[name]
        expected = {"score": want.score, "max_score": want.max_score, "status": statuses[want.status],
                    "visibility": want.visibility}
        assert {f: got[f] for f in fields} == {f: expected[f] for f in fields}, name


def test_gradescope() -> None:
    payload = result_formats.gradescope(OUTCOMES)
    read = {t["name"]: {"score": t["score"], "max_score": t["max_score"], "status": t.get("status", "skipped"),
                        "visibility": {"visible": "public", "hidden": "hidden"}[t["visibility"]]} for t in payload["tests"]}
    assert list(read) == list(BY_NAME) and payload["score"] == SCORE == sum(t["score"] for t in payload["tests"])
    assert sum(t["max_score"] for t in payload["tests"]) == MOST
    _agree(read, {"passed": "passed", "failed": "failed", "error": "failed", "skipped": "skipped"},
           ("score", "max_score", "status", "visibility"))
    skipped = next(t for t in payload["tests"] if "status" not in t)
    assert skipped["output"].startswith("skipped") and skipped["max_score"] == 0
    assert set(result_formats.GRADESCOPE_STATUS.values()) <= {"passed", "failed", None}  # Gradescope's own words


def test_batch_results_json_is_the_same_gradescope_payload() -> None:
    """The batch writes results.json from its record's entries: the same payload, hidden stays hidden."""
    record = {"student": "ada", "status": "graded", "message": "", "seconds": 1.0,
              "checks": [r.to_entry() for r in OUTCOMES]}
    assert outputs.gradescope_payload(record) == result_formats.gradescope(OUTCOMES)
    stopped = dict(record, status="timeout", message="stopped after 120 s")
    assert outputs.gradescope_payload(stopped)["output"] == "timeout: stopped after 120 s"
    old = [dict(e, visibility="visible" if e["visibility"] == "public" else e["visibility"]) for e in record["checks"]]
    assert results_of(old) == OUTCOMES  # records written before the score table read the same


def test_classroom() -> None:
    result = result_formats.classroom(OUTCOMES)
    read = {t["name"]: {"score": t["score"], "max_score": t["max_score"], "status": t["status"]} for t in result["tests"]}
    assert list(read) == [r.name for r in OUTCOMES if r.status != "skipped"]  # the reporter would show it failed
    _agree(read, {"passed": "pass", "failed": "fail", "error": "error"}, ("score", "max_score", "status"))
    assert result["max_score"] == MOST and sum(t["score"] for t in result["tests"]) == SCORE
    assert result["status"] == "fail" and result_formats.classroom([])["status"] == "error"
    for test in result["tests"]:
        hidden = BY_NAME[test["name"]].hidden and BY_NAME[test["name"]].message
        assert (test["message"] == _(HIDDEN_MESSAGE)) if hidden else test["message"] == BY_NAME[test["name"]].message


def test_gradebook_row() -> None:
    record = {"student": "=HYPERLINK(1)", "status": "graded", "message": "-1", "seconds": 2.0,
              "checks": [r.to_entry() for r in OUTCOMES]}
    (row,) = csv.DictReader(io.StringIO(outputs.gradebook_csv([record])))
    assert (float(row["total"]), float(row["max_score"])) == (SCORE, MOST)
    assert row["student"] == "'=HYPERLINK(1)" and row["message"] == "'-1"  # formula escaping kept
    read = {n: {"score": 0.0 if row[n] == "skipped" else float(row[n]), "status": "skipped" if row[n] == "skipped" else "ran"}
            for n in BY_NAME}
    _agree(read, {"passed": "ran", "failed": "ran", "error": "ran", "skipped": "skipped"}, ("score", "status"))


CHECK_LINE = re.compile(r"^  (\w+) +(.+)  ([\d.]+)/([\d.]+)(  \(hidden\))?$")


def test_nbgrader_cells() -> None:
    """Each exercise's cell: its score, and one line per check with status, points and visibility."""
    read, scores = {}, {}
    for ex_id in ("1", "3"):
        mine = [r for r in OUTCOMES if r.exercise == ex_id]
        points = sum(r.worth for r in mine)  # the cell's max, fixed when nbgrader generates the assignment
        scores[ex_id], text = result_formats.nbgrader_cell(ex_id, mine, points)
        assert text.startswith(f"logreg-kit, Exercise {label(ex_id)} ({BY_ID[ex_id].title}): {scores[ex_id]:g}/{points:g}")
        assert SECRET not in text  # the student reads this cell
        for line in text.splitlines():
            if m := CHECK_LINE.match(line):
                read[m[2]] = {"status": m[1], "score": float(m[3]), "max_score": float(m[4]),
                              "visibility": "hidden" if m[5] else "public"}
    assert list(read) == list(BY_NAME) and sum(scores.values()) == SCORE
    _agree(read, {s: s for s in ("passed", "failed", "skipped", "error")}, ("score", "max_score", "status", "visibility"))
    assert "1 skipped, not run on this machine" in result_formats.nbgrader_cell("3", OUTCOMES[3:], 4.5)[1]


def test_pytest_summary() -> None:
    lines = result_formats.summary_lines("solutions", OUTCOMES)
    rows = {line[2:18].strip(): line for line in lines[1:] if line[2:18].strip() in ("1", "3")}
    for ex_id, row in rows.items():
        mine = [r for r in OUTCOMES if r.exercise == ex_id]
        assert row.split()[-1 if ex_id == "1" else -3] == f"{total(mine):g}/{max_total(mine):g}", row
    assert "(1 skipped)" in rows["3"]
    assert any(line.startswith("  total") and line.endswith(f"{SCORE:g}/{MOST:g}") for line in lines)
    assert "1 check worth 1 point skipped here, not counted: CUDA is not available here" in lines[-1]
    assert SECRET not in "\n".join(lines)


def gpu_skips(*worth: float) -> list[CheckResult]:
    """Skipped CUDA checks worth these points each."""
    return [CheckResult("3", "softmax", f"the same on a GPU ({i})", w, "skipped", message="skipped: CUDA is not available here")
            for i, w in enumerate(worth)]


@pytest.mark.parametrize("lang, worth, said", [
    ("en", (1.0,), "1 check worth 1 point skipped here, not counted: CUDA is not available here"),
    ("en", (1.0, 1.5), "2 checks worth 2.5 points skipped here, not counted: CUDA is not available here"),
    ("en", (0.5,), "1 check worth 0.5 points skipped here"),
    ("zh_CN", (1.0,), "本机跳过了 1 项检查（共 1 分），不计入总分："),
    ("zh_CN", (1.0, 1.5), "本机跳过了 2 项检查（共 2.5 分），不计入总分："),
])
def test_the_skipped_line_says_its_plurals(lang: str, worth: tuple[float, ...], said: str) -> None:
    """One check and one point, two checks and 2.5 points: each in its language's plural, no "(s)"."""
    with speaking(lang):
        line = result_formats.summary_lines("solutions", gpu_skips(*worth))[-1]
    assert said in line and "(s)" not in line, line


@pytest.mark.parametrize("lang, checks, points, said", [
    ("en", 1, 1.0, "1 hidden check worth 1 more point runs when your work is graded; it is not part of this self-check"),
    ("en", 14, 19.5, "14 hidden checks worth 19.5 more points run when your work is graded; they are not part"),
    ("zh_CN", 1, 1.0, "另有 1 项隐藏检查（共 1 分）会在正式评分时运行"),
    ("zh_CN", 14, 19.5, "另有 14 项隐藏检查（共 19.5 分）会在正式评分时运行"),
])
def test_the_hidden_checks_line_says_its_plurals(tmp_path, lang: str, checks: int, points: float, said: str) -> None:
    (tmp_path / INDEX).write_text(json.dumps({"hidden": {"checks": checks, "points": points}}))
    with speaking(lang):
        (line,) = hidden_note(tmp_path)
    assert said in line and "(s)" not in line, line


def test_points_take_the_plural_of_their_number() -> None:
    with speaking("en"):
        assert [said_points(p) for p in (0, 1, 1.0, 0.5, 2, 4.5)] == \
            ["0 points", "1 point", "1 point", "0.5 points", "2 points", "4.5 points"]
    with speaking("zh_CN"):
        assert [said_points(p) for p in (1, 4.5)] == ["1 分", "4.5 分"]


def test_classroom_names_are_said_in_the_language_graded_in() -> None:
    """The tests' names are the display names (the reporter only shows them); statuses, keys and
    scores are the same in every language."""
    checks = [c for c in CHECKS if c.exercise in ("3", "3x") and c.visibility == "public"]
    by_lang = {}
    for lang in ("en", "zh_CN"):
        with speaking(lang):
            graded = [CheckResult(c.exercise, c.function, c.title, c.points, "passed", heading=c.heading) for c in checks]
            by_lang[lang] = result_formats.classroom(graded)
            assert [t["name"] for t in by_lang[lang]["tests"]] == [c.display_name for c in checks]
    en, zh = by_lang["en"], by_lang["zh_CN"]
    assert [t["name"] for t in en["tests"]] == [c.name for c in checks]  # English: the names as before
    assert all(CJK.search(t["name"]) for t in zh["tests"]), zh["tests"]
    assert any(t["name"].startswith("3（扩展）") for t in zh["tests"])
    strip = [{k: v for k, v in t.items() if k != "name"} for t in zh["tests"]]
    assert strip == [{k: v for k, v in t.items() if k != "name"} for t in en["tests"]]
    assert {k: v for k, v in zh.items() if k != "tests"} == {k: v for k, v in en.items() if k != "tests"}


def test_feedback_page_hides_hidden_messages() -> None:
    record = {"student": "ada", "status": "graded", "message": "", "seconds": 1.0, "score": SCORE, "max_score": MOST,
              "checks": [r.to_entry() for r in OUTCOMES]}
    page = html.render(record)
    assert SECRET not in page and "expected 1, got 2" in page and page.count(_(HIDDEN_MESSAGE)) == 2


def test_a_hidden_check_that_never_ran_is_hidden_in_the_batch_plan() -> None:
    from logreg_kit.batch.grading import planned_entries
    from logreg_kit.checks import CHECKS

    planned = {e["name"]: e for e in planned_entries()}
    assert {n for n, e in planned.items() if e["visibility"] == "hidden"} == {c.name for c in CHECKS if c.visibility == "hidden"}
    assert all(e["status"] in ("error", "skipped") and e["score"] == 0 for e in planned.values())
    payload = result_formats.gradescope(results_of(planned.values()))
    assert {t["name"] for t in payload["tests"] if t["visibility"] == "hidden"} == \
        {c.name for c in CHECKS if c.visibility == "hidden"}


def test_declared_totals_are_one_table() -> None:
    from logreg_kit.checks import CHECKS
    from logreg_kit.notebook_build import exercise_points
    from logreg_kit.release import hidden_summary

    table = declared_points(CHECKS)
    assert sum(row.total for row in table.values()) == sum(c.points for c in CHECKS)
    assert all(exercise_points(ex) == row.total for ex, row in table.items())
    assert hidden_summary(CHECKS)["points"] == sum(c.points for c in CHECKS if c.visibility == "hidden")


@pytest.mark.parametrize("cell", ["\uff1dHYPERLINK(1)", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "=1", "@x"])
def test_csv_text_guards_ascii_and_full_width_formula_starts(cell: str) -> None:
    assert result_formats.csv_text(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["s123", "\uff41bc", "1-2"])
def test_csv_text_keeps_plain_cells(cell: str) -> None:
    assert result_formats.csv_text(cell) == cell
