"""The Chinese student bundle (`logreg-kit release --lang zh_CN`): its README, stubs' docstrings and
notebook in Chinese, the same code and checks as the English bundle, and a self-check that speaks
Chinese by default and gives the English bundle's points.

The helpers and the new-student set-up are test_release.py's; one module fixture here sets up the
Chinese bundle from its own README in a new venv (about a minute, most of it installing torch).
"""
import ast
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from logreg_kit import build, cli, i18n, notebook_build, release
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import STUB_RAISES
from logreg_kit.localised import mo_bytes, mo_entries, only_said, paragraphs, speaking, translate_docstrings

from .conftest import ROOT
from .test_release import bash_block, fresh_copy, full_grader_public_total, sh

LANG = "zh_CN"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Words every English failure message has and no Chinese one should: what was checked, expected vs got, the hint.
ENGLISH_WORDS = re.compile(r"\b(expected|got|hint|values|differ|elements|the|your|should|where)\b", re.IGNORECASE)
NO_LANGUAGE_ASKED = {"LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
WRONG_SOFTMAX = ("return e / e.sum(dim=1)[:, None]", "return e / e.sum()")  # divides by the whole tensor's sum
# The Chinese feedback itself (check messages, hints) comes with the grading catalogue of issue 19's
# other half; until the check titles are in the zh_CN catalogue, the self-check cannot speak Chinese.
FEEDBACK_IN_CATALOGUE = pytest.mark.skipif(
    not all(c.title.encode() in mo_entries((ROOT / "logreg_kit/locale/zh_CN/LC_MESSAGES/logreg_kit.mo").read_bytes())
            for c in CHECKS if c.exercise == "3"),
    reason="the check messages are not in the zh_CN catalogue yet")


@pytest.fixture(scope="module")
def zh_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Chinese bundle, built by the command line as an instructor builds it."""
    out = tmp_path_factory.mktemp("release-zh") / "student"
    assert cli.main(["release", "--out", str(out), "--lang", LANG]) == 0
    return out


# --- what the Chinese bundle holds ------------------------------------------------------------------

def untranslated(text: str) -> list[str]:
    """The docstring paragraphs of Python `text` with no Chinese in them."""
    nodes = [n for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))]
    docs = [ast.get_docstring(n, clean=False) for n in nodes]
    return [p for doc in docs if doc for p in paragraphs(doc) if not CJK.search(p)]


def notebook_cells(folder: Path) -> list[dict]:
    return json.loads((folder / release.STUDENT_NOTEBOOK).read_text())["cells"]


def notebook_untranslated(cells: list[dict]) -> list[str]:
    """Paragraphs of markdown cells, and code cells' docstring paragraphs and comment lines, with no
    Chinese in them."""
    found = []
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            found += [p for p in source.split("\n\n") if not CJK.search(p)]
            continue
        code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
        found += untranslated(code)
        found += [line for line in code.splitlines() if line.lstrip().startswith("# ") and not CJK.search(line)]
    return found


def test_chinese_stubs_and_notebook_leave_no_english_paragraph(zh_bundle: Path) -> None:
    stubs = {p.name: p.read_text() for p in sorted((zh_bundle / "assignments").glob("*.py"))}
    assert set(stubs) == set(build.render_assignments()) and all(untranslated(t) == [] for t in stubs.values())
    assert all(t.startswith("# 练习文件") for t in stubs.values() if t.startswith("#"))
    assert notebook_untranslated(notebook_cells(zh_bundle)) == []
    # the detector sees the English bundle's paragraphs
    english = build.render_assignments()
    assert len([p for t in english.values() for p in untranslated(t)]) >= 30
    english_cells = json.loads(release.student_notebook())["cells"]
    assert len(notebook_untranslated(english_cells)) >= 20


def test_english_stubs_and_course_notebook_stay_as_generated() -> None:
    """The zh build goes through the catalogue; the English one is today's text, whatever the locale."""
    with speaking(LANG):
        assert build.stale_files() == [] and not notebook_build.notebook_is_stale()
        assert release.student_readme(lang="en") == release.student_readme()
    assert build.render_assignments(lang=LANG) != build.render_assignments()


def without_docstrings(text: str) -> str:
    """The code of a stub with its docstrings and its stubs' NotImplementedError messages blanked
    (both said in the bundle's language)."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body[0].value.value = ""
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == "NotImplementedError":
            node.exc.args = []
    return ast.dump(tree)


def without_strings(text: str) -> str:
    """The code of a notebook cell with every string constant blanked (comments never reach the AST)."""
    tree = ast.parse("\n".join(line for line in text.splitlines() if not line.startswith("%")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def test_chinese_bundle_is_the_english_code_with_translated_texts(zh_bundle: Path) -> None:
    """The same grader, kit modules and stub code as the English bundle (so the same checks grade
    either); only docstrings, comments, printed strings, markdown and the README differ."""
    zh = release.bundle_texts(lang=LANG)
    en = release.bundle_texts()
    code = [name for name in en if name.startswith(("grader/", "logreg_kit/")) or name == "pyproject.toml"]
    assert [name for name in code if zh[name] != en[name]] == []
    assert set(zh) ^ set(en) == {"logreg_kit/locale/bundle_language"} and zh["logreg_kit/locale/bundle_language"] == f"{LANG}\n"
    for name in build.render_assignments():
        assert without_docstrings(zh[f"assignments/{name}"]) == without_docstrings(en[f"assignments/{name}"]), name
    zh_cells, en_cells = (json.loads(t[release.STUDENT_NOTEBOOK])["cells"] for t in (zh, en))
    assert [(c["id"], c["cell_type"], c["metadata"]) for c in zh_cells] == [(c["id"], c["cell_type"], c["metadata"]) for c in en_cells]
    for a, b in zip(zh_cells, en_cells):
        if a["cell_type"] == "code":
            assert without_strings("".join(a["source"])) == without_strings("".join(b["source"])), a["id"]
    assert (zh_bundle / "logreg_kit" / "locale" / LANG / "LC_MESSAGES" / "logreg_kit.mo").is_file()


def test_chinese_readme_keeps_every_command(zh_bundle: Path) -> None:
    """The README is Chinese prose around the English bundle's commands, points and table."""
    zh, en = (zh_bundle / "README.md").read_text(), release.student_readme()
    code = re.compile(r"`[^`\n]+`|^\.venv\S*.*?(?=   #|$)", re.MULTILINE)
    with speaking(LANG):  # the stub the README names, as the Chinese stubs raise it
        stub = f'`raise NotImplementedError("{i18n._(STUB_RAISES, exercise="N", function="...")}")`'
    assert stub == '`raise NotImplementedError("练习 N：...")`' and stub in zh
    english_stub = '`raise NotImplementedError("Exercise N: ...")`'
    assert sorted(set(code.findall(zh))) == sorted({stub if c == english_stub else c for c in code.findall(en)})
    assert len([line for line in zh.splitlines() if line.startswith("| ")]) == len([line for line in en.splitlines() if line.startswith("| ")])
    prose = [line for line in zh.splitlines() if line and not line.startswith(("```", ".venv", "python3", "|"))]
    assert [line for line in prose if not CJK.search(line) and ENGLISH_WORDS.search(line)] == []


STUB_RAISE = re.compile(r'^( *)raise NotImplementedError\("(.*)"\)$', re.MULTILINE)


def test_chinese_stubs_raise_in_chinese_and_english_ones_as_before() -> None:
    """Every stub of the Chinese bundle raises "练习 N：function" where the English one raises
    "Exercise N: function", at the same place; the English stubs are assignments/ as committed."""
    en, zh = build.render_assignments(), build.render_assignments(lang=LANG)
    for name in en:
        en_raises, zh_raises = STUB_RAISE.findall(en[name]), STUB_RAISE.findall(zh[name])
        assert len(en_raises) == len(zh_raises), name
        for (en_indent, en_text), (zh_indent, zh_text) in zip(en_raises, zh_raises):
            number, function = re.fullmatch(r"Exercise (\w+): ([\w.]+)", en_text).groups()
            assert (zh_indent, zh_text) == (en_indent, f"练习 {number}：{function}")
        assert (ROOT / "assignments" / name).read_text() == en[name]
    assert sum(len(STUB_RAISE.findall(t)) for t in zh.values()) >= 10
    cells = notebook_build.stub_cells(lang=LANG)
    assert all("raise NotImplementedError(\"练习 " in cell for cell in cells.values()), cells


def chinese_stubs(dest: Path) -> Path:
    """The Chinese bundle's assignments/, untouched."""
    dest.mkdir(parents=True)
    for name, text in build.render_assignments(lang=LANG).items():
        (dest / name).write_text(text)
    return dest


@pytest.mark.parametrize("lang", ["en", LANG])
def test_untouched_chinese_stubs_score_0_as_not_implemented(lang: str, tmp_path: Path) -> None:
    """Graded in either language, every check of the Chinese stubs fails as "not implemented yet"
    with the stub's hint: no traceback, no "your code raised", the submission not started."""
    from logreg_kit.backend import LocalBackend
    from logreg_kit.feedback import NOT_IMPLEMENTED
    from logreg_kit.harness import STUB_HINT, grade

    folder = chinese_stubs(tmp_path / "assignments")
    with speaking(lang):
        report = grade(LocalBackend(str(folder)), [c for c in CHECKS if c.visibility == "public" and c.needs != "cuda"])
        stub, hint = i18n._(NOT_IMPLEMENTED), i18n._(STUB_HINT)
        raised = i18n._("your code raised {error}{where}", error="NotImplementedError", where="")
    assert report.score == 0 and report.all_stubs
    for outcome in report.outcomes:
        assert outcome.status == "failed" and f"\n  {stub}" in outcome.message and hint in outcome.message, outcome.message
        assert "Traceback" not in outcome.message and raised not in outcome.message, outcome.message
    assert any("练习 3：softmax" in o.message for o in report.outcomes)  # the stub's own words, as it raised them


def test_the_sandbox_knows_the_chinese_stubs(sandbox, tmp_path: Path) -> None:
    """In the sandboxed worker too (where a stub's error is worded): graded in English, the Chinese
    stubs are not implemented yet, not an exception of the student's."""
    from logreg_kit.harness import grade
    from logreg_kit.sandbox import RemoteBackend

    folder = chinese_stubs(tmp_path / "assignments")
    checks = [c for c in CHECKS if c.exercise in ("3", "5a") and c.visibility == "public" and c.needs != "cuda"]
    with speaking("en"):
        backend = RemoteBackend(folder, sandbox)
        try:
            report = grade(backend, checks)
        finally:
            backend.close()
    assert report.score == 0 and report.all_stubs, [o.message for o in report.outcomes]
    assert all("\n  not implemented yet (练习 " in o.message for o in report.outcomes), [o.message for o in report.outcomes]


@pytest.mark.parametrize("lang, one, many", [
    ("en", ["its 1 CUDA check (1 point) is skipped", "1 hidden check worth 2 points that is not in this folder"],
     [r"worth \d+ points on a machine without a GPU", r"its \d+ CUDA checks \(\d+ points\) are skipped",
      r"\d+ hidden checks worth \d+ points that are not in this folder: \d+ points in all"]),
    (LANG, ["其中 1 项 CUDA 检查（1 分）", "另外还有 1 项不在本文件夹中的隐藏检查，共 2 分"],
     [r"自测共 \d+ 分", r"其中 \d+ 项 CUDA 检查（\d+ 分）", r"另外还有 \d+ 项不在本文件夹中的隐藏检查，共 \d+ 分：总计 \d+ 分"]),
])
def test_the_readmes_points_say_their_plurals(lang: str, one: list[str], many: list[str]) -> None:
    """One CUDA check and one hidden check (2 points), then the lesson's several: each said in the
    language's plural."""
    one_each = [c for c in CHECKS if c.visibility == "public" and c.needs != "cuda"] + \
        [c for c in CHECKS if c.needs == "cuda"][:1] + [c for c in CHECKS if c.visibility == "hidden" and c.points == 2][:1]
    assert len([c for c in CHECKS if c.needs == "cuda"]) > 1 and len([c for c in CHECKS if c.visibility == "hidden"]) > 1
    readme = " ".join(release.student_readme(one_each, lang=lang).split())
    assert "(s)" not in readme and all(text in readme for text in one), (one, readme)
    readme = " ".join(release.student_readme(CHECKS, lang=lang).split())
    assert "(s)" not in readme and all(re.search(pattern, readme) for pattern in many), (many, readme)


def test_translated_docstrings_keep_code_and_layout() -> None:
    source = 'def f(x):\n    """Summary.\n\n    x: (N, 784) float32.\n    """\n    return x  # keep\n\n\nclass C:\n    """One line."""\n'
    with speaking("en"):
        assert translate_docstrings(source) == source
    table = {"Summary.": "概述。", "x: (N, 784) float32.": 'x: (N, 784) float32，"""引号"""和\\反斜杠。', "One line.": "一行。"}
    import logreg_kit.localised as localised

    saved = localised._
    localised._ = lambda text, **params: table.get(text, text)
    try:
        out = translate_docstrings(source)
    finally:
        localised._ = saved
    assert ast.get_docstring(ast.parse(out).body[0]) == f'概述。\n\n{table["x: (N, 784) float32."]}'
    assert "    return x  # keep\n" in out and ast.get_docstring(ast.parse(out).body[1]) == "一行。"


def test_release_refuses_a_language_without_a_catalogue(tmp_path: Path) -> None:
    with pytest.raises(release.ReleaseError, match="available: en, zh_CN"):
        release.release(tmp_path / "out", lang="xx")
    assert not (tmp_path / "out").exists()


def test_a_bundle_speaks_its_own_language_unless_asked_otherwise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "BUNDLE_LANGUAGE_FILE", tmp_path / "bundle_language")
    assert i18n.language_from_environment({"LANG": "C.UTF-8"}) == "en"  # the kit: no bundle language
    (tmp_path / "bundle_language").write_text("zh_CN\n")
    assert i18n.language_from_environment({}) == "zh_CN"
    assert i18n.language_from_environment({"LANG": "C.UTF-8", "LC_ALL": "POSIX"}) == "zh_CN"  # C: no translation asked
    assert i18n.language_from_environment({"LC_ALL": "C", "LANG": "en_US.UTF-8"}) == "zh_CN"  # LC_ALL decides, as in gettext
    assert i18n.language_from_environment({"LANG": "en_US.UTF-8"}) == "en"  # a locale variable overrides
    assert i18n.language_from_environment({"LANGUAGE": "en", "LANG": "zh_CN.UTF-8"}) == "en"


def test_chinese_bundle_packages_its_catalogues(zh_bundle: Path, tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    folder = fresh_copy(zh_bundle, tmp_path / "student")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path / "wheel"), str(folder)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"logreg_kit/locale/bundle_language", f"logreg_kit/locale/{LANG}/LC_MESSAGES/logreg_kit.mo"} <= set(names)


def test_bundle_catalogues_hold_only_the_bundles_messages(zh_bundle: Path) -> None:
    """The shipped catalogues are cut down to what the bundle's code says: no hidden check's title
    or hint (the kit's catalogue has them), no reference docstring (one names the solution markers)."""
    public = {text for c in CHECKS if c.visibility == "public" for text in (c.title, c.hint)}
    hidden = {text.encode() for c in CHECKS if c.visibility == "hidden" for text in (c.title, c.hint)} - {t.encode() for t in public}
    for path in sorted(p.relative_to(ROOT) for p in ROOT.glob("logreg_kit/locale/*/LC_MESSAGES/logreg_kit.mo")):
        lang = path.parts[2]
        kit, shipped = mo_entries((ROOT / path).read_bytes()), mo_entries((zh_bundle / path).read_bytes())
        assert set(shipped) <= set(kit) and all(shipped[k] == kit[k] for k in shipped)
        if lang == i18n.SOURCE_LANGUAGE:
            continue  # English is the msgids themselves: its catalogue holds only its header
        assert [k for k in kit if b"BEGIN SOLUTION" in k] and not [k for k in shipped if b"BEGIN SOLUTION" in k]
        assert not hidden & set(shipped), lang  # whatever of them the kit's catalogue holds
        assert STUB_RAISES.encode() in shipped, lang  # the bundle's self-check knows its stubs in this language
        assert {t.encode() for t in public} & set(kit) <= set(shipped), lang  # the public checks' texts ship


def test_a_cut_catalogue_keeps_only_what_the_code_says() -> None:
    mo = mo_bytes({b"": b"Language: zh_CN\n", b"said": b"\xe8\xaf\xb4", b"secret": b"x", b"one\0many": b"y"})
    kept = mo_entries(only_said(mo, ['_("said")', 'ngettext("one", "many", n)', 'print("secret")']))
    assert kept == {b"": b"Language: zh_CN\n", b"said": "说".encode(), b"one\0many": b"y"}


# --- a Chinese student: the README's set-up in a new venv, a wrong softmax, the self-check ----------

@pytest.fixture(scope="module")
def zh_student(zh_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Chinese bundle, set up in a new venv by the commands of its README, as written."""
    folder = fresh_copy(zh_bundle, tmp_path_factory.mktemp("new-zh-student") / "logreg-student")
    with speaking(LANG):
        heading = i18n._(release.STUDENT_README[1]).splitlines()[0]
    commands = bash_block((folder / "README.md").read_text(), heading)
    assert commands == [c.split("  #")[0].strip() for c in release.SETUP_COMMANDS]
    for command in commands:
        run = sh(folder, command)
        assert run.returncode == 0, f"{command}\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
    return folder


def failure_blocks(stdout: str) -> dict[str, str]:
    """pytest's failure sections: check name -> the message under its header line."""
    blocks = re.split(r"^_+ test_check\[(.+?)\] _+$", stdout.split("= FAILURES =", 1)[-1], flags=re.MULTILINE)
    return {name: text.split("\n=", 1)[0].strip() for name, text in zip(blocks[1::2], blocks[2::2])}


def self_check(folder: Path, results: Path, *args: str, **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    run = sh(folder, f"{release.SELF_CHECK} -p no:cacheprovider --results={results} {' '.join(args)}", **env)
    assert run.returncode == 1 and results.is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(results.read_text()), run


@FEEDBACK_IN_CATALOGUE
def test_chinese_student_reads_a_wrong_softmax_in_chinese_with_the_english_points(zh_student: Path, tmp_path: Path) -> None:
    for path in (ROOT / "solutions").glob("*.py"):
        if path.name != "__init__.py":
            shutil.copyfile(path, zh_student / "assignments" / path.name)
    softmax = zh_student / "assignments" / "softmax.py"
    assert WRONG_SOFTMAX[0] in softmax.read_text()
    softmax.write_text(softmax.read_text().replace(*WRONG_SOFTMAX))

    zh, zh_run = self_check(zh_student, tmp_path / "zh.json", **NO_LANGUAGE_ASKED)  # the bundle's own language
    en, en_run = self_check(zh_student, tmp_path / "en.json", "--lang=en", **NO_LANGUAGE_ASKED)
    assert zh["score"] == en["score"] > 0
    assert full_grader_public_total(zh_student / "assignments").startswith(f"{zh['score']:g}/")
    # the same tests, in the same order, with the same points; results.json names them for the reader
    assert [(t["score"], t["max_score"]) for t in zh["tests"]] == [(t["score"], t["max_score"]) for t in en["tests"]]
    assert all(CJK.search(t["name"]) for t in zh["tests"]) and not any(CJK.search(t["name"]) for t in en["tests"])
    failed = {t["name"] for t in en["tests"] if t["score"] < t["max_score"]}
    assert failed and {c.exercise for c in CHECKS if c.name in failed} == {"3"}

    zh_blocks, en_blocks = failure_blocks(zh_run.stdout), failure_blocks(en_run.stdout)
    assert set(zh_blocks) == set(en_blocks) == failed
    for name in failed:
        assert ENGLISH_WORDS.search(en_blocks[name]), en_blocks[name]  # the detector sees English
        assert not ENGLISH_WORDS.search(zh_blocks[name]), zh_blocks[name]
        assert all(CJK.search(line) for line in zh_blocks[name].splitlines() if line.strip()), zh_blocks[name]
        numbers = re.compile(r"\d+\.\d+")
        assert sorted(numbers.findall(zh_blocks[name])) == sorted(numbers.findall(en_blocks[name]))  # expected vs got

    # a locale variable still overrides the bundle's language
    _, run = self_check(zh_student, tmp_path / "env.json", "-k", "'softmax and rows'", LANG="en_US.UTF-8", LANGUAGE="", LC_ALL="")
    (block,) = failure_blocks(run.stdout).values()
    assert ENGLISH_WORDS.search(block) and not CJK.search(block)


@FEEDBACK_IN_CATALOGUE
def test_chinese_student_self_checks_the_chinese_notebook(zh_student: Path) -> None:
    """The bundle's Chinese notebook, untouched: converted, every exercise a stub, 0 points."""
    runnable = [c for c in CHECKS if c.visibility == "public" and (c.needs != "cuda" or torch.cuda.is_available())]
    run = sh(zh_student, f"{release.SELF_CHECK} -p no:cacheprovider --impl={release.STUDENT_NOTEBOOK} "
                         f"--results=nb.json", **NO_LANGUAGE_ASKED)
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads((zh_student / "nb.json").read_text())
    assert result["score"] == 0 and len(result["tests"]) >= len(runnable)
    blocks = failure_blocks(run.stdout)
    assert blocks and all(CJK.search(text) and not ENGLISH_WORDS.search(text) for text in blocks.values()), run.stdout[-3000:]


# --- the instructor grades a Chinese bundle's repository like an English one ------------------------

def zh_repository(dest: Path, assignments: str, notebook: str) -> Path:
    """A clone of the Chinese bundle: assignments/ ("stubs": its released stubs, or a sample kind) and
    notebooks/logreg.ipynb ("worked": the reference's notebook, or "released": the Chinese one)."""
    from logreg_kit.batch import sample

    if assignments == "stubs":
        (dest / "assignments").mkdir(parents=True)
        for name, text in build.render_assignments(lang=LANG).items():
            (dest / "assignments" / name).write_text(text)
    else:
        sample.write_folder(dest / "assignments", assignments)
    (dest / "grader").mkdir()
    (dest / "notebooks").mkdir()
    if notebook == "worked":
        sample.write_notebook(dest / "notebooks" / "logreg.ipynb")
    else:
        (dest / "notebooks" / "logreg.ipynb").write_text(release.student_notebook(LANG))
    return dest


@pytest.mark.parametrize("assignments, notebook, graded, note", [
    ("stubs", "worked", "notebook", "graded notebooks/logreg.ipynb: assignments/ is still the released stubs"),
    ("correct", "released", "assignments", ""),
])
def test_a_chinese_repository_is_graded_from_what_the_student_worked_on(tmp_path, assignments, notebook, graded, note) -> None:
    """The Chinese stubs and notebook count as released ones (the intake knows every language's)."""
    from logreg_kit.batch.intake import Submission, prepare_or_explain

    repo = zh_repository(tmp_path / "lin", assignments, notebook)
    folder, why, said = prepare_or_explain(Submission("lin", repo), tmp_path / "work")
    assert why == "" and said == note
    assert folder == (repo / "assignments" if graded == "assignments" else tmp_path / "work" / "_notebooks" / "lin")


def test_the_notebooks_own_check_prints_its_score_in_the_bundles_language(capsys: pytest.CaptureFixture[str]) -> None:
    """A test cell of the Chinese notebook (self_check in the kernel) says its score in Chinese."""
    from logreg_kit import notebooks

    namespace: dict = {}
    exec("import torch\n" + (ROOT / "solutions" / "softmax.py").read_text(), namespace)
    with speaking(LANG):
        notebooks.self_check("3", namespace)
    with speaking("en"):
        notebooks.self_check("3", namespace)
    zh, en = capsys.readouterr().out.splitlines()
    assert zh.startswith("练习 3：") and "分" in zh and en.startswith("Exercise 3: ") and "points" in en
    assert zh.split("：")[1].split()[0] == en.split(": ")[1].split()[0]  # the same got/most
