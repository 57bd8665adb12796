"""`logreg-kit watch`: a save re-grades only what it can change, in a warm sandbox, with the same table."""
import os
import shutil
import time
from pathlib import Path

from logreg_kit.checks import CHECKS
from logreg_kit.exercises import EXERCISES, MODULES
from logreg_kit.watch import Watcher, affected_exercises, module_texts

from .conftest import ROOT


def texts_of(**sources: str) -> dict[str, str]:
    return {m: sources.get(m, "") for m in MODULES}


def test_a_change_reaches_the_modules_that_import_it() -> None:
    texts = texts_of(logreg="from .softmax import log_softmax\n", sgd="import torch\n")
    assert affected_exercises({"losses"}, texts) == {"1", "2a", "2b"}
    assert affected_exercises({"softmax"}, texts) == {"3", "3x", "4", "5e"}  # logreg imports softmax
    assert affected_exercises({"sgd"}, texts) == {ex.id for ex in EXERCISES if ex.module == "sgd"} >= {"5a", "5e"}
    assert affected_exercises({"softmax"}, texts_of()) == {"3", "3x"}


def save(path: Path, text: str) -> None:
    """Write and move the mtime on, as an editor's save does (two saves within a tick still differ)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_watcher_regrades_only_the_changed_exercise(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    watcher = Watcher(folder)
    try:
        first = watcher.grade()
        full = watcher.report()
        assert full.score == full.max_score > 0 and len(first) == len(full.outcomes)
        assert watcher.changed() is None

        softmax = folder / "softmax.py"
        save(softmax, softmax.read_text().replace("e.sum(dim=1)[:, None]", "e.sum(dim=0)[None, :]"))
        changed = watcher.changed()
        assert changed == {"softmax"}
        exercises = affected_exercises(changed, module_texts(folder))
        ran = watcher.grade(exercises)
        assert {o.check.exercise for o in ran} == exercises and len(ran) < len(first)
        report = watcher.report()
        lost = {ex for ex, (got, most) in report.by_exercise().items() if got < most}
        assert "3" in lost and not lost & {"1", "2a", "2b", "5a", "5b", "5c", "5d"}
        assert len(report.outcomes) == len(full.outcomes) and "points per exercise" in "\n".join(report.summary_lines())

        save(softmax, (ROOT / "solutions" / "softmax.py").read_text())
        start = time.monotonic()
        watcher.grade(affected_exercises(watcher.changed() or set(), module_texts(folder)))
        assert watcher.report().score == full.score, time.monotonic() - start
    finally:
        watcher.close()


def test_with_the_texts_before_a_save_only_readers_of_a_changed_name_count() -> None:
    """A notebook's modules star-import every earlier cell; only a module whose code reads a name
    whose definition changed (directly, through its own names, or re-exported) is re-graded."""
    before = texts_of(losses="def f(x):\n    return x\n\ndef g(x):\n    return 2 * x\n",
                      softmax="from .losses import *\n\ndef softmax(x):\n    return g(x)\n",
                      logreg="from .losses import *\nfrom .softmax import *\n\ndef get_weights(n):\n    return softmax(n)\n",
                      sgd="from .losses import *\nfrom .softmax import *\nfrom .logreg import *\n\ndef fit(m):\n    return m.eval()\n")

    def after(**changes: str) -> set[str]:
        texts = {**before, **changes}
        return affected_exercises({m for m in changes}, texts, before)

    losses = before["losses"]
    assert after(losses=losses + "# a comment\n") == {"1", "2a", "2b"}
    assert after(losses=losses.replace("return x", "return -x")) == {"1", "2a", "2b"}  # f: nobody reads it
    # g is read by softmax, whose softmax is read by logreg (through sgd's star import of softmax too)
    assert after(losses=losses.replace("2 * x", "3 * x")) == {"1", "2a", "2b", "3", "3x", "4", "5e"}
    assert after(losses="def f(:\n") == {ex.id for ex in EXERCISES}  # not Python: everything after it
    dynamic = {**before, "sgd": before["sgd"] + "\ndef h():\n    return globals()['f']\n"}
    assert affected_exercises({"losses"}, {**dynamic, "losses": losses + "X = 1\n"}, dynamic) >= {"5a", "5e"}
    assert affected_exercises({"losses"}, {**before, "losses": losses + "X = 1\n"}) == {ex.id for ex in EXERCISES}


def test_a_helper_module_reaches_the_exercises_that_import_it_transitively() -> None:
    """The student's own modules count (review F3): helpers.py imported by sgd.py, deep.py imported by
    helpers.py, a subpackage; a change of __init__.py re-grades every exercise."""
    texts = {**texts_of(sgd="from .helpers import nll\n", logreg="from .tools.mat import mm\n"),
             "helpers": "from .deep import k\n\ndef nll(lp, y):\n    return k(lp)\n", "deep": "def k(x):\n    return x\n",
             "tools": "", "tools.mat": "def mm(a, b):\n    return a @ b\n", "__init__": ""}
    sgd = {ex.id for ex in EXERCISES if ex.module == "sgd"}
    assert affected_exercises({"helpers"}, texts) == sgd
    assert affected_exercises({"deep"}, texts) == sgd
    assert affected_exercises({"tools.mat"}, texts) == {"4", "5e"}
    assert affected_exercises({"__init__"}, texts) == {ex.id for ex in EXERCISES}
    edited = {**texts, "deep": "def k(x):\n    return -x\n"}
    assert affected_exercises({"deep"}, edited, texts) == sgd  # read through helpers.nll


def test_watcher_regrades_after_a_save_of_a_helper_module(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    shutil.copytree(ROOT / "solutions", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "helpers.py").write_text("import torch\n\ndef nll(lp, y):\n    return -lp[torch.arange(len(y)), y].mean()\n")
    sgd = folder / "sgd.py"
    source = sgd.read_text()
    assert "    return -log_probs[torch.arange(len(y)), y].mean()\n" in source
    sgd.write_text(source.replace("    return -log_probs[torch.arange(len(y)), y].mean()\n", "    return nll(log_probs, y)\n")
                   .replace("import torch\n", "import torch\nfrom .helpers import nll\n", 1))
    watcher = Watcher(folder, checks=[c for c in CHECKS if c.exercise == "5a" and c.visibility == "public"])
    try:
        watcher.grade()
        full = watcher.report()
        assert full.score == full.max_score > 0
        save(folder / "helpers.py", "import torch\n\ndef nll(lp, y):\n    return lp.sum() * 0\n")
        changed = watcher.changed()
        assert changed == {"helpers"} and "5a" in watcher.affected(changed)
        watcher.grade(watcher.affected(changed))
        assert watcher.report().score < full.score
    finally:
        watcher.close()
