"""Issue 19 for the instructor's side and the sandbox's explanations: the bwrap failure, the batch
commands' progress and summary lines, the class overview and feedback.html, Gradescope's test names
and the "FILE.py line N" locations come from the catalogue, so `--lang zh_CN` says them in Chinese.
The identifiers instructors key on (gradebook columns, statuses, class.json) stay English."""
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logreg_kit import result_formats
from logreg_kit.backend import LocalBackend
from logreg_kit.batch.commands import planned_line
from logreg_kit.cells import in_cells
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import label, said_label
from logreg_kit.harness import grade
from logreg_kit.i18n import speaking
from logreg_kit.sandbox.availability import check_bwrap

from .conftest import ROOT
from .test_weak_sandbox import apparmor_bin, env_with, kit  # noqa: F401 - apparmor_bin is a fixture

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_apparmor_explanation_is_said_in_the_readers_language(apparmor_bin: Path) -> None:
    """Probed once, said when read: bwrap's own line stays as bwrap said it, the rest is Chinese."""
    status = check_bwrap(str(apparmor_bin / "bwrap"))
    with speaking("zh_CN"):
        line = status.weak_line()
    assert "无法创建用户命名空间" in line and "AppArmor" in line and "setting up uid map: Permission denied" in line
    assert "cannot create a user namespace" not in line and "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in line
    with speaking("en"):
        assert "cannot create a user namespace here (bwrap: setting up uid map" in status.weak_line()
    with speaking("zh_CN"):
        assert check_bwrap(None).why == "未安装 bubblewrap（`bwrap`）"


def test_grade_refuses_in_chinese_without_bwrap(apparmor_bin: Path, tmp_path: Path) -> None:
    """`logreg-kit grade --lang zh_CN` where bwrap cannot start: the refusal, with bwrap's words, in Chinese."""
    run = kit("-m", "logreg_kit", "grade", str(ROOT / "assignments"), "--out", str(tmp_path / "out"), "--lang", "zh_CN",
              env=env_with(apparmor_bin))
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    assert "拒绝评分" in run.stderr and "无法创建用户命名空间" in run.stderr and "setting up uid map" in run.stderr


def test_the_grade_plan_forms_its_plurals() -> None:
    with speaking("en"):
        assert planned_line(1, 0, Path("out"), 1, 1).startswith("1 submission; 0 already graded in out")
        assert planned_line(3, 1, Path("out"), 3, 2).endswith("grading up to 3 with 2 jobs")
    with speaking("zh_CN"):
        assert planned_line(3, 1, Path("out"), 3, 2).startswith("3 份提交；out 中已评分 1 份")


@pytest.fixture(scope="module")
def chinese_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """`logreg-kit grade --lang zh_CN` on a class of one untouched copy of the stubs and one file
    that is not a submission (a few seconds: the stubs fail at once)."""
    base = tmp_path_factory.mktemp("zh-class")
    subs = base / "class"
    subs.mkdir()
    subprocess.run(["cp", "-r", str(ROOT / "assignments"), str(subs / "bob")], check=True)
    (subs / "notes.txt").write_text("not a submission")
    out = base / "out"
    run = subprocess.run([sys.executable, "-m", "logreg_kit", "grade", str(subs), "--out", str(out), "--lang", "zh_CN",
                          "--quiet", "--allow-weak-sandbox", "--jobs", "1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out, run


def test_grade_prints_its_lines_in_chinese(chinese_class: tuple[Path, subprocess.CompletedProcess]) -> None:
    out, run = chinese_class
    said = run.stdout
    assert "2 份提交；" in said and "1 项不是提交（'notes.txt'）" in said, said[-3000:]
    assert "满分率" in said and "平均分" in said and "提交：1 尚未开始, 1 格式不符" in said, said[-3000:]
    assert "3（扩展）" in said and "续评：0 份记录是最新的；没有重新评分" in said and "成绩表：" in said, said[-3000:]
    assert "submission(s)" not in said and "full marks" not in said and "entr" not in said


def test_the_class_overview_and_feedback_are_chinese(chinese_class: tuple[Path, subprocess.CompletedProcess]) -> None:
    out, _run = chinese_class
    page = (out / "class.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h[12][^>]*>([^<]*)<", page)
    assert headings[:3] == ["班级概览", "分数分布", "各练习"] and all(CJK.search(h) for h in headings), headings
    assert "<html lang='zh-CN'>" in page
    student = out / "bob"
    feedback = (student / "feedback.html").read_text(encoding="utf-8")
    assert "<h2>各练习得分</h2>" in feedback and "<h2>所有检查项</h2>" in feedback and "尚未开始" in feedback
    summary = json.loads((out / "class.json").read_text())
    assert {"not started", "malformed"} <= set(summary["statuses"])  # class.json keeps its identifiers


def test_gradescope_names_are_said_and_gradebook_columns_stay_english(
        chinese_class: tuple[Path, subprocess.CompletedProcess]) -> None:
    out, _run = chinese_class
    student = out / "bob"
    tests = json.loads((student / "results.json").read_text())["tests"]
    assert all(CJK.search(t["name"]) for t in tests), [t["name"] for t in tests if not CJK.search(t["name"])]
    with (out / "gradebook.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:4] == ["student", "status", "total", "max_score"]
    assert not [h for h in header if CJK.search(h)] and {c.name for c in CHECKS} >= set(header[4:-2])


def test_gradescope_name_follows_the_language_graded_in() -> None:
    """In process: one check graded in each language, written by result_formats.gradescope."""
    checks = [c for c in CHECKS if c.exercise == "3x"][:1]
    for lang in ("en", "zh_CN"):
        with speaking(lang):
            results = [o.result for o in grade(LocalBackend(str(ROOT / "assignments")), checks).outcomes]
        name = result_formats.gradescope(results)["tests"][0]["name"]
        assert (CJK.search(name) is not None) == (lang == "zh_CN"), name
        assert results[0].name == checks[0].name  # the key stays English
    with speaking("zh_CN"):
        assert said_label("3x") == "3（扩展）" and label("3x") == "3 (extension)"


def test_a_location_is_said_in_the_readers_language() -> None:
    message = "softmax.py line 6 uses torch.softmax; logreg.py has a syntax error at line 16: invalid syntax"
    with speaking("en"):
        assert in_cells(message, {}) == message
    with speaking("zh_CN"):
        said = in_cells(message, {})
    assert "softmax.py 第 6 行" in said and "at 第 16 行" in said and "torch.softmax" in said


def test_extraction_is_clean() -> None:
    """No value is formatted inside a _() call's arguments where Babel would skip the message."""
    run = subprocess.run([sys.executable, "-m", "logreg_kit.catalogue", "extract"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and "warning" not in (run.stdout + run.stderr).lower(), run.stderr[-2000:]
