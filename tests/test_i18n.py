"""Feedback in the student's language (issue 19): one gettext catalogue per language, complete,
current and compiled; every message renders with its parameters; the language changes the words,
never the points."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from logreg_kit import catalogue, i18n
from logreg_kit.backend import LocalBackend
from logreg_kit.checks import CHECKS
from logreg_kit.exercises import STUB_RAISES, is_stub_message, stub_message
from logreg_kit.feedback import NOT_IMPLEMENTED
from logreg_kit.harness import Report, grade
from logreg_kit.i18n import UnknownLanguage, available_languages, language_from_environment, normalise, speaking
from logreg_kit.probes import explain, is_untouched_stub
from tests.conftest import ROOT, make_submission
from tests.mutants import MUTANTS

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)([!:][^{}]*)?\}")  # a {name}, {name:.3g} or {name!r:.60} left unfilled
# One mutant per exercise, each failing in a different way (values, static if, from-scratch rule,
# non-finite, type, shape, parameters, training): graded in every language.
RENDERED = ("binary: wrong sign for label 1", "categorical if: vectorised, no if",
            "categorical: one-hot summed on the wrong axis", "softmax: over dim 0", "softmax: calls F.softmax",
            "log_softmax: naive, overflows for large logits", "get_weights: not wrapped in nn.Parameter",
            "LogReg: view that mixes the batch", "nll_loss: off-by-one label", "SGD: lr ignored",
            "fit: one epoch only", "accuracy: returns a tensor")
WRONG_SOFTMAX = "softmax: over dim 0"


def test_two_languages_ship() -> None:
    assert available_languages()[:1] == ("en",) and "zh_CN" in available_languages()
    assert catalogue.languages() == sorted(available_languages())  # every .po has its .mo and back


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every msgid the code marks (_, N_, ngettext), extracted by Babel with babel.cfg."""
    return catalogue.extract(tmp_path_factory.mktemp("pot") / "logreg_kit.pot")


@pytest.fixture(scope="module")
def wanted(template: Path) -> dict[str, str]:
    return catalogue.read(template)


@pytest.mark.parametrize("lang", catalogue.languages())
def test_catalogue_has_no_missing_and_no_unused_entry(lang: str, wanted: dict[str, str]) -> None:
    have = catalogue.read(catalogue.po_path(lang))
    assert not sorted(set(wanted) - set(have)), "missing: run `python -m logreg_kit.catalogue update` and translate"
    assert not sorted(set(have) - set(wanted)), "unused: run `python -m logreg_kit.catalogue update`"
    if lang == i18n.SOURCE_LANGUAGE:
        assert not [m for m, s in have.items() if s and s != m], "the English catalogue says what the code says"
    else:
        assert not [m for m, s in have.items() if not s], f"untranslated entries in {lang}"


@pytest.mark.parametrize("lang", catalogue.languages())
def test_translations_keep_every_placeholder(lang: str) -> None:
    """Same {names} with the same format specs: a translation can reorder them, never drop or add one."""
    have = catalogue.read(catalogue.po_path(lang))
    differ = [m for m, s in have.items() if s and sorted(PLACEHOLDER.findall(m)) != sorted(PLACEHOLDER.findall(s))]
    assert not differ


def test_committed_mo_is_the_compiled_po(tmp_path: Path) -> None:
    assert catalogue.stale_compiled(tmp_path / "compiled") == []


def _sample(spec: str) -> object:
    """A value that the format spec of a placeholder takes ({n:,} an int, {x:.3g} a float, else text)."""
    if spec.endswith((",", ",}")) or spec.endswith(",d"):
        return 1234567
    if re.search(r"[eEfFgG%]$", spec):
        return 0.125
    return "X"


@pytest.mark.parametrize("lang", available_languages())
def test_every_message_renders_with_its_parameters(lang: str, wanted: dict[str, str], template: Path) -> None:
    """Every msgid that takes values (Babel's python-brace-format), said in `lang` with a value for
    each placeholder: no KeyError, no placeholder left; every other one said as it is. For a
    translation, the words are the catalogue's, not the English."""
    formats = catalogue.brace_formats(template)
    assert "hint: {hint}" in formats
    with speaking(lang):
        for msgid in wanted:
            params = {name: _sample(spec) for name, spec in PLACEHOLDER.findall(msgid)} if msgid in formats else {}
            said = i18n._(msgid, **params)
            assert msgid not in formats or not PLACEHOLDER.search(said), (msgid, said)
            if lang == "zh_CN":  # Chinese, or code and numbers only: never three English words in a row
                assert CJK.search(said) or not re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", said), (msgid, said)


def _failures(report: Report) -> list[str]:
    return [o.message for o in report.outcomes if o.status == "failed"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Report]]:
    """Each RENDERED mutant graded (in this process) on its own exercises' checks, in every language."""
    reports: dict[str, dict[str, Report]] = {}
    for mutant in (m for m in MUTANTS if m.name in RENDERED):
        folder = make_submission(tmp_path_factory.mktemp("mutant") / "submission", mutant.edits)
        checks = [c for c in CHECKS if c.exercise in mutant.loses - {"5e"}]
        reports[mutant.name] = {}
        for lang in available_languages():
            with speaking(lang):
                reports[mutant.name][lang] = grade(LocalBackend(str(folder)), checks)
    return reports


def test_rendered_mutants_are_in_the_catalogue() -> None:
    assert set(RENDERED) <= {m.name for m in MUTANTS}


@pytest.mark.parametrize("name", RENDERED)
def test_a_failure_says_the_same_in_every_language(name: str, graded: dict[str, dict[str, Report]]) -> None:
    """Same checks failed, same points; the Chinese feedback is Chinese from the heading to the hint
    (code, numbers and shapes as they are), every placeholder filled."""
    by_lang = graded[name]
    verdicts = {lang: [(o.check.name, o.status, o.score) for o in r.outcomes] for lang, r in by_lang.items()}
    assert len({json.dumps(v) for v in verdicts.values()}) == 1, verdicts
    english, chinese = _failures(by_lang["en"]), _failures(by_lang["zh_CN"])
    assert english and len(english) == len(chinese)
    for en, zh in zip(english, chinese):
        assert not CJK.search(en) and not PLACEHOLDER.search(en) and not PLACEHOLDER.search(zh), (en, zh)
        heading, *detail, hint = zh.splitlines()
        assert heading.startswith("练习 ") and CJK.search(heading.split("：", 1)[1]), zh
        assert hint.startswith("  提示：") and CJK.search(hint), zh
        assert CJK.search("\n".join(detail)), zh


def test_the_wrong_softmax_reads_whole_in_chinese(graded: dict[str, dict[str, Report]]) -> None:
    """Issue 19's case: what was checked, expected vs got, the hint, all in Chinese; same points."""
    en, zh = graded[WRONG_SOFTMAX]["en"], graded[WRONG_SOFTMAX]["zh_CN"]
    assert (en.score, en.max_score) == (zh.score, zh.max_score) and zh.score < zh.max_score
    first = _failures(zh)[0]
    assert "练习 3，softmax：在随机 logits 上与参考实现一致" in first
    assert "期望" in first and "实际为" in first and "容差" in first
    assert "提示：你的每一列之和为 1" in first  # the recognised mistake, in words


def test_the_sandboxed_worker_speaks_the_graders_language(sandbox) -> None:
    """Messages made in the worker (an untouched stub raising NotImplementedError) come back in the
    grading process's language; the stub's hint and the not-started status are recognised in it."""
    from logreg_kit.sandbox import RemoteBackend

    checks = [c for c in CHECKS if c.exercise == "5a" and c.visibility == "public"][:1]
    with speaking("zh_CN"):
        backend = RemoteBackend(ROOT / "assignments", sandbox)
        try:
            report = grade(backend, checks)
        finally:
            backend.close()
    message = _failures(report)[0]
    assert "\n  尚未实现" in message and "提示：这个函数还是练习的桩代码" in message, message
    assert report.all_stubs


def test_the_language_comes_from_the_locale_variables() -> None:
    assert language_from_environment({}) == "en"
    assert language_from_environment({"LANG": "zh_CN.UTF-8"}) == "zh_CN"
    assert language_from_environment({"LANGUAGE": "fr:zh", "LANG": "en_US.UTF-8"}) == "zh_CN"
    assert language_from_environment({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "en"  # LC_ALL wins, as in gettext
    assert normalise("zh-cn") == normalise("zh_CN.UTF-8") == "zh_CN" and normalise("en_GB") == "en"


def test_an_unknown_language_names_the_available_ones() -> None:
    with pytest.raises(UnknownLanguage, match=r"'tlh'.*available: en, zh_CN"):
        i18n.set_language("tlh")
    from logreg_kit.cli import main

    assert main(["check", "assignments", "--lang", "tlh"]) == 2


def test_pytest_grader_refuses_an_unknown_language() -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "grader/", "--lang", "tlh", "--collect-only", "-q",
                          "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "available: en, zh_CN" in run.stdout + run.stderr


def test_a_third_language_is_one_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new folder with its (compiled) catalogue is found by available_languages() and spoken:
    no list of languages to edit anywhere."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    for lang in ("en", "zh_CN"):
        (tmp_path / lang).symlink_to(catalogue.LOCALE_DIR / lang)
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    french = Catalog(locale="fr")
    french.add("hint: {hint}", "indice : {hint}")
    with (tmp_path / "fr" / "LC_MESSAGES" / "logreg_kit.mo").open("wb") as fh:
        write_mo(fh, french)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    assert available_languages() == ("en", "fr", "zh_CN")
    with speaking("fr_FR.UTF-8"):
        assert i18n._("hint: {hint}", hint="x") == "indice : x"


@pytest.mark.parametrize("raised, stub", [
    (NotImplementedError("Exercise 3: softmax"), True), (NotImplementedError("练习 3：softmax"), True),
    (NotImplementedError("练习 4：LogReg.forward"), True), (NotImplementedError("Exercise 5b: SGD.step"), True),
    (NotImplementedError(), True),  # nbgrader's bare stub
    (NotImplementedError("no meta kernel"), False), (NotImplementedError("练习 3：softmax 还差一半"), False),
    (NotImplementedError("Exercise three: softmax"), False), (ValueError("Exercise 3: softmax"), False),
])
def test_an_untouched_stub_is_recognised_in_every_language(raised: BaseException, stub: bool) -> None:
    """What a stub raises, as its bundle's language says it; any other NotImplementedError is the
    student's own (an exception in their code, as before)."""
    for lang in available_languages():
        with speaking(lang):
            assert is_untouched_stub(raised) is stub, (lang, raised)
            said = explain(raised, lambda filename: True)
            assert said.startswith(i18n._(NOT_IMPLEMENTED)) is stub, said


def test_a_third_languages_stubs_are_recognised_from_its_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stub messages the grader knows are every catalogue's translation: a new catalogue adds its own."""
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    for lang in ("en", "zh_CN"):
        (tmp_path / lang).symlink_to(catalogue.LOCALE_DIR / lang)
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    french = Catalog(locale="fr")
    french.add(STUB_RAISES, "Exercice {exercise} : {function} (à écrire)")
    with (tmp_path / "fr" / "LC_MESSAGES" / "logreg_kit.mo").open("wb") as fh:
        write_mo(fh, french)
    assert not is_stub_message("Exercice 3 : softmax (à écrire)")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.every_language.cache_clear()
    try:
        with speaking("fr"):
            assert stub_message("3", "softmax") == "Exercice 3 : softmax (à écrire)"
        assert is_stub_message("Exercice 3 : softmax (à écrire)") and is_stub_message("练习 3：softmax")
        assert is_stub_message("Exercise 3: softmax") and not is_stub_message("Exercice 3 : softmax")
    finally:
        i18n.every_language.cache_clear()


def test_no_module_that_says_messages_reuses_underscore() -> None:
    """`_` is the message function wherever i18n's `_` is imported: a throwaway `_` there (a loop
    variable, an unpacked value) would make every later message in that scope call it."""
    import ast

    shadowed = []
    for path in sorted((ROOT / "logreg_kit").rglob("*.py")):
        tree = ast.parse(path.read_text())
        imports = any(isinstance(n, ast.ImportFrom) and (n.module or "").endswith("i18n") and
                      any(a.name == "_" for a in n.names) for n in tree.body)
        stores = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "_" and not isinstance(n.ctx, ast.Load)]
        stores += [n.lineno for n in ast.walk(tree) if isinstance(n, ast.arg) and n.arg == "_"]
        shadowed += [f"{path.relative_to(ROOT)}:{line}" for line in stores] if imports else []
    assert not shadowed


def test_a_checks_fingerprint_does_not_depend_on_the_language() -> None:
    """A resumed batch regrades a check whose code changed (batch/fingerprint.py hashes what the
    check reaches by name, `_` included): the language spoken, or the process, must not count."""
    from logreg_kit.batch.fingerprint import check_fingerprint

    check = next(c for c in CHECKS if c.fn.__name__ == "softmax_matches")
    with speaking("en"):
        english = check_fingerprint(check.fn)
    with speaking("zh_CN"):
        assert check_fingerprint(check.fn) == english


def test_nbgrader_takes_the_language_from_its_config() -> None:
    """`c.KitGrade.lang = "zh_CN"` in nbgrader_config.py; an unknown one stops autograde, naming the others."""
    pytest.importorskip("nbgrader")
    from nbformat.v4 import new_notebook

    from logreg_kit.nbgrader_plugin import KitGrade

    assert KitGrade.class_traits()["lang"].metadata.get("config") is True
    with speaking(None), pytest.raises(UnknownLanguage, match="available: en, zh_CN"):
        KitGrade(lang="tlh").preprocess(new_notebook(), {})
