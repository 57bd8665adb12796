"""A submission must not poison the sandbox template's deferred warm-up (review finding F1).

The template imports torch._dynamo (its warm-up) right after it forked its first worker, beside that
worker's calls. An attacker graded first swaps the inductor cache folder for a file while the import
runs, so the import fails, then puts a folder back so that tmp looks as it did. The template must not
call itself warm after that, and the grader must replace it before the next submission: the victim
graded next by the same batch worker keeps its full marks (the `meta` device checks included).
"""
import csv
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from logreg_kit.sandbox import bwrap_path

from .conftest import ROOT
from .sandbox_support import SOLUTIONS, reference_copy

pytestmark = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")

BATCH_TIMEOUT_S = 900

# Imported by the attacker's package (through torch.hub's names: the from-scratch rule refuses `import os`):
# breaks the cache folder at once; when its first `meta` operation then fails (a cold worker: the template
# is importing torch._dynamo beside it), it leaves the folder broken until its first loss call has spun a
# while, then puts a fresh folder back, so that tmp looks as it did at the reap.
POISON = textwrap.dedent('''
    import torch

    cache = torch.hub.Path("/tmp/torchinductor")
    pending = [False]


    def restore():
        try:
            cache.unlink()
            cache.mkdir()
        except Exception:
            pass


    try:
        cache.rmdir()
        cache.write_text("not a folder")
        pending[0] = True
    except Exception:
        pass
    if pending[0]:
        try:
            torch.empty(2, device="meta").exp()
            pending[0] = False  # the template was warm already
            restore()
        except FileExistsError:
            pass
        except Exception:
            pending[0] = False
            restore()


    def later():
        if pending[0]:
            pending[0] = False
            total = 0
            for i in range(30_000_000):
                total += i
            restore()
''')


def attacker(dest: Path) -> Path:
    folder = reference_copy(dest)
    (folder / "helper.py").write_text(POISON)
    init = folder / "__init__.py"
    init.write_text(init.read_text() + "from . import helper  # noqa\n")
    losses = folder / "losses.py"
    head = "    ### BEGIN SOLUTION\n"
    text = losses.read_text()
    assert text.count(head) >= 1
    losses.write_text(text.replace(head, "    from .helper import later\n    later()\n" + head, 1))
    return folder


def test_poisoned_warm_up_does_not_reach_the_next_submission(tmp_path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    attacker(folder / "a_attacker")
    reference_copy(folder / "b_victim")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "logreg_kit", "grade", str(folder), "--out", str(out), "--jobs", "1",
                          "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=BATCH_TIMEOUT_S)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    victim = rows["b_victim"]
    assert victim["status"] == "graded" and float(victim["total"]) == float(victim["max_score"]), victim
