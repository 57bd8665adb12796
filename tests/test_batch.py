"""Batch grading: a small class end to end, resume after kill -9, the Gradescope bundle, intake."""
import base64
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import struct
import time
import zipfile
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from logreg_kit.batch import sample
from logreg_kit.batch.intake import IntakeError, Submission, collect, extract_zip, prepare, student_id, student_ids
from logreg_kit.batch.memo import MemoBackend, stable_key
from logreg_kit.checks import CHECKS

from .conftest import ROOT

TIMEOUT_S = "180"  # per submission in these tests (each call has its own 60 s limit in the sandbox)


def run_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logreg_kit", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def small_class(folder: Path) -> Path:
    """A correct zip, a buggy folder, a notebook, a hang and a malformed zip."""
    folder.mkdir()
    sample.write_zip(folder / "ada.zip", "correct")
    sample.write_folder(folder / "bob", "softmax_dim0")
    sample.write_notebook(folder / "cyd.ipynb")
    sample.write_folder(folder / "dee", "hang")
    (folder / "eve.zip").write_bytes(b"PK\x03\x04 not a zip")
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    base = tmp_path_factory.mktemp("batch")
    out = base / "out"
    run = run_cli("grade", str(small_class(base / "class")), "--out", str(out), "--jobs", "2",
                  "--timeout", TIMEOUT_S, "--quiet")
    return out, run


def records(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (out / "records").glob("*.json")}


def test_class_statuses_and_scores(graded) -> None:
    out, run = graded
    assert run.returncode == 0, run.stderr[-3000:]
    got = records(out)
    assert {s: r["status"] for s, r in got.items()} == {
        "ada": "graded", "bob": "graded", "cyd": "graded", "dee": "graded", "eve": "malformed"}
    assert got["ada"]["score"] == got["ada"]["max_score"] == got["cyd"]["score"] > 40
    lost = {e["exercise"] for e in got["bob"]["checks"] if e["score"] < e["max_score"]}
    assert lost == {"3"}
    # dee hangs while importing softmax.py: the sandbox stops the import once and every check that
    # runs code fails with that reason; the source-only checks (ex 1 and 2a: "written with an if") keep theirs
    hung = [e for e in got["dee"]["checks"] if "importing your modules took more than" in e["output"]]
    assert hung and all(e["score"] == 0 for e in hung)
    assert 0 < got["dee"]["score"] < 10
    assert "importing your modules took more than 10 s" in got["dee"]["message"]
    assert "not a valid zip file" in got["eve"]["message"]
    assert "full marks" in run.stdout and "1 malformed" in run.stdout


def test_gradebook_rows_and_columns(graded) -> None:
    out, _ = graded
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["student"] for r in rows] == ["ada", "bob", "cyd", "dee", "eve"]
    names = [c.name for c in CHECKS]
    assert list(rows[0]) == ["student", "status", "total", "max_score", *names, "seconds", "message"]
    bob = rows[1]
    assert float(bob["total"]) == sum(float(bob[n]) for n in names if bob[n] != "skipped") < float(bob["max_score"])
    unrun = {c.name for c in CHECKS if c.needs == "cuda" and not torch.cuda.is_available()}
    assert {n for n in names if bob[n] == "skipped"} == unrun  # skipped, not 0: they are not in max_score
    assert float(rows[0]["max_score"]) == sum(c.points for c in CHECKS if c.name not in unrun)


def test_results_json_and_feedback_report(graded) -> None:
    out, _ = graded
    for student in ("ada", "bob", "cyd", "dee", "eve"):
        payload = json.loads((out / student / "results.json").read_text())
        assert payload["score"] == sum(t["score"] for t in payload["tests"])
        assert len(payload["tests"]) == len(CHECKS)
    art = records(out)["ada"]["artifacts"]
    assert len(art["losses"]) == 5 * 63 and art["misclassified"]
    assert all(true != pred for _, true, pred in art["misclassified"])
    page = (out / "bob" / "feedback.html").read_text()
    shown = len(records(out)["bob"]["artifacts"]["misclassified"])
    assert page.count("data:image/png;base64,") == shown > 0 and page.count("<svg") == 1
    assert "<style>" in page and "src='http" not in page and "<link" not in page
    assert "pixels" not in records(out)["bob"]["artifacts"]  # drawn into the report, not kept in the record
    assert "Exercise 3, softmax" in page and "hint:" in page


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and grey levels of an 8-bit greyscale PNG, each chunk's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        assert struct.unpack(">I", data[pos + 8 + size:pos + 12 + size])[0] == zlib.crc32(kind + body)
        chunks[kind] = body
        pos += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0) and b"IEND" in chunks
    rows = zlib.decompress(chunks[b"IDAT"])
    assert all(rows[r * (width + 1)] == 0 for r in range(height))  # filter byte: none
    return width, height, b"".join(rows[r * (width + 1) + 1:(r + 1) * (width + 1)] for r in range(height))


def test_report_pictures_are_valid_png_and_svg() -> None:
    from logreg_kit.batch.html import digits_grid, loss_chart, png_grey

    pixels = bytes((7 * i) % 256 for i in range(28 * 28))
    assert _png_pixels(png_grey(pixels, 28, 28)) == (28, 28, pixels)
    grid = digits_grid([[5, 3, 8]], [pixels.hex()])
    encoded = grid.split("base64,")[1].split("'")[0]
    assert _png_pixels(base64.b64decode(encoded))[2] == bytes(255 - v for v in pixels)  # dark ink on white
    assert "true 3, got 8" in grid
    chart = loss_chart([2.3, 1.0, float("nan"), 0.5])
    assert chart.startswith("<svg") and chart.count(",") == 3 and "nan" not in chart  # three finite points
    assert "(no finite losses" in loss_chart([float("inf")])


def test_resume_after_kill_9(tmp_path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    for name, kind in (("a1", "crash"), ("a2", "correct"), ("a3", "sgd_ascent")):
        sample.write_folder(folder / name, kind)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "logreg_kit", "grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet",
           "--timeout", TIMEOUT_S]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not list((out / "records").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    assert 1 <= len(first) < 3
    rerun = run_cli("grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet", "--timeout", TIMEOUT_S)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{len(first)} already graded" in rerun.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json") if p.name in first} == first
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["a1", "a2", "a3"]
    # the crash ends the sandboxed worker of one call only: the checks that do not call fit keep their points
    assert rows["a1"]["status"] == "graded" and 0 < float(rows["a1"]["total"]) < float(rows["a1"]["max_score"])
    assert rows["a2"]["total"] == rows["a2"]["max_score"]


def test_gradescope_bundle_runs_locally(tmp_path) -> None:
    bundle = tmp_path / "autograder.zip"
    assert run_cli("gradescope-bundle", "--out", str(bundle)).returncode == 0
    source = tmp_path / "source"
    with zipfile.ZipFile(bundle) as zf:
        assert {"setup.sh", "run_autograder", "kit/pyproject.toml", "kit/logreg_kit/batch/autograder.py"} <= set(zf.namelist())
        zf.extractall(source)
    submission = tmp_path / "submission"
    sample.write_folder(submission, "nll_sum")
    results = tmp_path / "results" / "results.json"
    env = {**os.environ, "LOGREG_KIT_SOURCE": str(source / "kit"), "LOGREG_KIT_SUBMISSION": str(submission),
           "LOGREG_KIT_RESULTS": str(results), "LOGREG_KIT_PYTHON": sys.executable}
    run = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    payload = json.loads(results.read_text())
    assert payload["tests"][0]["name"].startswith("1 binary_loss_if: ")
    failed = {t["name"].split(":")[0] for t in payload["tests"] if t.get("status") == "failed"}
    assert failed == {"5a nll_loss"}
    assert payload["score"] == sum(t["score"] for t in payload["tests"]) < sum(t["max_score"] for t in payload["tests"])


def test_check_command_on_the_stubs() -> None:
    run = run_cli("check", "assignments")
    assert run.returncode == 1
    assert "FAILED   3 softmax: " in run.stdout and "not implemented yet (Exercise 3: softmax)" in run.stdout
    assert "total" in run.stdout


# --- intake and memo (no grading) -------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.py", "/etc/evil.py", "a/../../evil.py"])
def test_zip_path_traversal_is_refused(tmp_path, member) -> None:
    with pytest.raises(IntakeError, match="outside the submission"):
        extract_zip(_zip(tmp_path / "s.zip", {member: b"x"}), tmp_path / "dest")
    assert not (tmp_path / "evil.py").exists()


def test_zip_litter_ignored_and_size_limited(tmp_path) -> None:
    archive = _zip(tmp_path / "s.zip", {"sub/losses.py": b"X = 1\n", "__MACOSX/sub/._losses.py": b"junk"})
    folder = prepare(Submission("s", archive), tmp_path / "work")
    assert folder.name == "sub" and [p.name for p in folder.iterdir()] == ["losses.py"]
    big = _zip(tmp_path / "big.zip", {"losses.py": b"0" * (21 * 1024 * 1024)})
    with pytest.raises(IntakeError, match="limit"):
        extract_zip(big, tmp_path / "dest")


def test_notebook_that_is_not_json(tmp_path) -> None:
    bad = tmp_path / "nb.ipynb"
    bad.write_text("{not json")
    with pytest.raises(IntakeError, match="not a Jupyter notebook"):
        prepare(Submission("nb", bad), tmp_path / "work")


def test_student_ids_and_class_folder(tmp_path) -> None:
    (tmp_path / "x y.zip").write_bytes(b"")
    (tmp_path / "z.ipynb").write_text("{}")
    (tmp_path / "notes.txt").write_text("")  # not a submission: a row of its own, refused (malformed) by prepare
    for litter in (".DS_Store", "._z.ipynb", "__MACOSX", ".git", "__pycache__", ".ipynb_checkpoints"):
        (tmp_path / litter).mkdir()
    assert [s.student for s in collect([tmp_path])] == ["notes.txt", "x_y", "z"]
    assert student_id(Path("a/b/Jo.Smith.ipynb")) == "Jo.Smith"


def test_student_ids_are_unique_safe_and_never_an_output_name() -> None:
    names = ["Alice", "alice", "a b", "a_b", "a_b-2", "gradebook.csv", "records", "Records.zip", "@SUM(1+1)",
             "-2+3", ".hidden", "__x", "x.zip", "X.ipynb", "..", "=HYPERLINK(1).zip"]
    ids = student_ids([Path(n) for n in names])
    assert ids == ["Alice", "alice-2", "a_b", "a_b-3", "a_b-2", "student-gradebook.csv", "student-records",
                   "student-Records-2", "SUM_1+1_", "2+3", "hidden", "x", "x-2", "X-3", "unnamed", "HYPERLINK_1_"]
    assert len({i.casefold() for i in ids}) == len(ids)


def test_memo_key_is_stable_and_answers_are_copies() -> None:
    a = torch.arange(6.0).reshape(2, 3)
    assert stable_key("call", ("f", a, [1, 2.0])) == stable_key("call", ("f", a.clone(), [1, 2.0]))
    assert stable_key("call", ("f", a)) != stable_key("call", ("f", a.double()))
    assert stable_key("call", ("f", a)) != stable_key("call", ("f", a.T.contiguous()))

    class Counting:
        label, calls = "ref", 0

        def run(self, exercises, probe, *args):
            self.calls += 1
            return {"out": args[0] * 2}

    inner = Counting()
    memo = MemoBackend(inner)
    first = memo.run((), "p", a)
    first["out"].zero_()
    assert torch.equal(memo.run((), "p", a.clone())["out"], a * 2) and inner.calls == 1
    memo.run((), "p", a + 1)
    assert inner.calls == 2 and memo.hits == 1


def test_reference_answers_survive_a_restart(tmp_path, monkeypatch) -> None:
    from logreg_kit.backend import MemoBackend
    from logreg_kit.batch.refcache import ReferenceCache, fingerprint
    from logreg_kit.probes import Foreign

    source = tmp_path / "ref.py"
    source.write_text("ANSWER = 1\n")

    class Inner:
        label, calls = "fake reference", 0
        impl = SimpleNamespace(files=lambda: [source])  # the files the answers come from

        def run(self, exercises, probe, *args):
            Inner.calls += 1
            return {"t": torch.arange(6.0).reshape(2, 3), "pair": (1, [2.5, None]), "odd": Foreign("Gen")}

    monkeypatch.setenv("LOGREG_KIT_CACHE", str(tmp_path))
    first = MemoBackend(Inner())
    answer = first.run(("3",), "call", "softmax", torch.ones(2, 3))
    cache = ReferenceCache(first, "embedded")
    assert cache.load() == 0 and cache.save() and not cache.save()  # nothing new: not written again
    second = MemoBackend(Inner())
    assert ReferenceCache(second, "embedded").load() == 1
    again = second.run(("3",), "call", "softmax", torch.ones(2, 3))
    assert Inner.calls == 1 and second.hits == 1  # answered from disk, the reference never ran
    assert torch.equal(again["t"], answer["t"]) and again["pair"] == (1, [2.5, None]) and again["odd"].type_name == "Gen"
    assert ReferenceCache(MemoBackend(Inner()), str(tmp_path)).load() == 0  # another data setting: another file
    assert fingerprint("embedded", [source]) != fingerprint(str(tmp_path), [source])
    source.write_text("ANSWER = 2\n")  # other reference code: another file
    assert ReferenceCache(MemoBackend(Inner()), "embedded").load() == 0
    monkeypatch.setenv("LOGREG_KIT_CACHE", "off")
    assert ReferenceCache(MemoBackend(Inner()), "embedded").path is None


def test_trusted_grading_worker_memory_is_bounded() -> None:
    """The batch's grading worker caps its own address space (worker_main calls bound_memory
    first): an allocation past GRADER_MEMORY_BYTES fails there instead of taking the machine."""
    code = ("from logreg_kit.batch.worker import GRADER_MEMORY_BYTES, bound_memory\n"
            "bound_memory()\n"
            "try:\n    bytearray(GRADER_MEMORY_BYTES)\nexcept MemoryError:\n    print('bounded')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "bounded", run.stderr[-2000:]


# --- a class that attacks the intake and the reference ------------------------------------------

def _fake_reference(dest: Path, marker: Path) -> Path:
    """Wrong code (softmax over dim 0) that leaves `marker` if it ever runs outside the sandbox."""
    sample.write_folder(dest, "softmax_dim0")
    losses = dest / "losses.py"
    losses.write_text(f"try:\n    open({str(marker)!r}, 'w').write('ran')\nexcept OSError:\n    pass\n" + losses.read_text())
    return dest


# At import (in the sandbox): /tmp/work becomes a dangling link and /tmp holds folders nested past
# PATH_MAX, which the template cannot clean: it must be restarted before the next student.
TMP_WRECKER = """import os, shutil
try:
    os.chdir('/tmp')
    for _ in range(3000):
        os.mkdir('dd')
        os.chdir('dd')
    os.chdir('/')
    shutil.rmtree('/tmp/work', ignore_errors=True)
    os.symlink('/nowhere', '/tmp/work')
except OSError:
    pass
"""


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory) -> tuple[Path, Path, Path, subprocess.CompletedProcess]:
    """Graded from a working directory that holds a fake `solutions/`: a class folder with another
    fake called `solutions`, a link to the kit's reference, a zip whose member lies inside another,
    a notebook of 200,000 `[`, one that wrecks the sandbox's /tmp, and an honest submission after them."""
    base = tmp_path_factory.mktemp("hostile")
    cwd, marker, cache = base / "cwd", base / "fake-reference-ran", base / "cache"
    folder = cwd / "class"
    folder.mkdir(parents=True)
    _fake_reference(cwd / "solutions", marker)
    _fake_reference(folder / "solutions", marker)
    (folder / "linked").symlink_to(ROOT / "solutions", target_is_directory=True)
    _zip(folder / "clash.zip", {"losses.py": b"X = 1\n", "losses.py/inner.py": b"Y = 2\n"})
    (folder / "deep.ipynb").write_text("[" * 200_000)
    wrecker = sample.write_folder(folder / "tmp-wrecker", "correct")
    (wrecker / "losses.py").write_text(TMP_WRECKER + (wrecker / "losses.py").read_text())
    sample.write_folder(folder / "zz-honest", "correct")
    env = {**os.environ, "LOGREG_KIT_CACHE": str(cache)}
    run = subprocess.run([sys.executable, "-m", "logreg_kit", "grade", "class", "--out", str(base / "out"), "--jobs", "1",
                          "--quiet", "--timeout", TIMEOUT_S], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    return base / "out", marker, cache, run


def test_intake_failures_are_malformed_records_and_the_batch_goes_on(hostile_class) -> None:
    out, _, _, run = hostile_class
    assert run.returncode == 0, run.stderr[-3000:]
    got = records(out)
    assert {s: r["status"] for s, r in got.items()} == {
        "solutions": "graded", "linked": "malformed", "clash": "malformed", "deep": "malformed",
        "tmp-wrecker": "graded", "zz-honest": "graded"}
    assert "linked is a symbolic link" in got["linked"]["message"] and got["linked"]["score"] == 0
    assert "'losses.py/inner.py' lies inside 'losses.py'" in got["clash"]["message"]
    assert "not a Jupyter notebook" in got["deep"]["message"] and "RecursionError" in got["deep"]["message"]
    assert got["zz-honest"]["score"] == got["zz-honest"]["max_score"] > 40


def test_a_student_folder_called_solutions_is_a_sandboxed_student(hostile_class) -> None:
    """Neither the working directory's `solutions/` nor the class's is taken for the reference:
    the fake never runs outside the sandbox, is graded as a student (softmax loses), the honest
    submission keeps full marks, and the reference cache holds the kit's own reference's answers."""
    out, marker, cache, _ = hostile_class
    from logreg_kit.backend import LocalBackend
    from logreg_kit.batch.refcache import fingerprint

    got = records(out)["solutions"]
    assert not marker.exists()
    # softmax over dim 0 loses 3; the module-level open() that would leave the marker is refused by the
    # allowlist, which costs the exercises of losses.py
    assert {e["exercise"] for e in got["checks"] if e["score"] < e["max_score"]} == {"1", "2a", "2b", "3"}
    kit_reference = LocalBackend("solutions").impl.files()
    assert all(path.is_relative_to(ROOT / "solutions") for path in kit_reference)
    assert [p.name for p in cache.glob("reference-*.npz")] == [f"reference-{fingerprint('embedded', kit_reference)}.npz"]


def test_intake_refuses_links_clashes_and_unreadable_notebooks(tmp_path) -> None:
    from logreg_kit.batch.intake import prepare_or_explain

    (tmp_path / "outside").mkdir()
    sample.write_folder(tmp_path / "outside" / "sub", "correct")
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "linked").symlink_to(ROOT / "solutions", target_is_directory=True)
    (folder / "holder").mkdir()
    (folder / "holder" / "inner").symlink_to(tmp_path / "outside" / "sub", target_is_directory=True)
    _zip(folder / "clash.zip", {"losses.py": b"X = 1\n", "losses.py/inner.py": b"Y = 2\n"})
    (folder / "deep.ipynb").write_text("[" * 200_000)
    (folder / "odd.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": [1, None],
                                                              "metadata": {"nbgrader": {"grade_id": "ex1"}}}]}))
    why = {s.student: prepare_or_explain(s, tmp_path / "work")[1] for s in collect([folder])}
    assert "is a symbolic link" in why["linked"]
    assert "no exercise module" in why["holder"]  # a link inside is not followed either
    assert "lies inside 'losses.py'" in why["clash"] and "RecursionError" in why["deep"]
    assert why["odd"] == ""  # odd cell sources are left out; the notebook is still converted
    direct = Submission("linked", folder / "linked")  # given on the command line, not in a class folder
    assert "is a symbolic link" in prepare_or_explain(direct, tmp_path / "work")[1]


# --- what the intake grades: one submission per entry, never a guess, resumed only when unchanged --

def test_two_package_folders_at_one_depth_are_refused_whatever_the_hash_seed(tmp_path) -> None:
    """final/ (the reference) and draft/ (the stubs) in one zip: refused the same way under any
    PYTHONHASHSEED (a set's order once chose which was graded); a unique shallowest is still taken."""
    members = {f"final/{p.name}": p.read_bytes() for p in (ROOT / "solutions").glob("*.py")}
    members |= {f"draft/{p.name}": p.read_bytes() for p in (ROOT / "assignments").glob("*.py")}
    _zip(tmp_path / "zoe.zip", members)
    script = ("import sys; from pathlib import Path; from logreg_kit.batch.intake import Submission, prepare_or_explain; "
              "print(prepare_or_explain(Submission('zoe', Path(sys.argv[1])), Path(sys.argv[2]))[1])")
    said = {seed: subprocess.run([sys.executable, "-c", script, str(tmp_path / "zoe.zip"), str(tmp_path / f"w{seed}")],
                                 cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed},
                                 timeout=120).stdout.strip()
            for seed in ("1", "4")}
    assert said == {seed: "zoe.zip holds 2 submissions, draft/ and final/: hand in one" for seed in ("1", "4")}, said
    _zip(tmp_path / "deep.zip", {**{f"old/x/{n}": b"" for n in ("losses.py",)}, "final/losses.py": b"X = 1\n"})
    assert prepare(Submission("deep", tmp_path / "deep.zip"), tmp_path / "work").name == "final"


def _repository(dest: Path, assignments: str, notebook: str) -> Path:
    """A clone of the release bundle: assignments/ ("stubs" or a sample kind), grader/, and
    notebooks/logreg.ipynb ("worked": the reference's notebook, or "released": the bundle's)."""
    from logreg_kit.release import student_notebook

    if assignments == "stubs":
        shutil.copytree(ROOT / "assignments", dest / "assignments", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        sample.write_folder(dest / "assignments", assignments)
    (dest / "grader").mkdir()
    (dest / "notebooks").mkdir()
    if notebook == "worked":
        sample.write_notebook(dest / "notebooks" / "logreg.ipynb")
    else:
        (dest / "notebooks" / "logreg.ipynb").write_text(student_notebook())
    return dest


@pytest.mark.parametrize("assignments, notebook, graded, note", [
    ("stubs", "worked", "notebook", "graded notebooks/logreg.ipynb: assignments/ is still the released stubs"),
    ("correct", "worked", "assignments", "graded assignments/; notebooks/logreg.ipynb was worked on too and was not graded"),
    ("correct", "released", "assignments", ""),
])
def test_a_repository_is_graded_from_what_the_student_worked_on(tmp_path, assignments, notebook, graded, note) -> None:
    from logreg_kit.batch.intake import prepare_or_explain

    repo = _repository(tmp_path / "carol", assignments, notebook)
    folder, why, said = prepare_or_explain(Submission("carol", repo), tmp_path / "work")
    assert why == "" and said == note
    assert folder == (repo / "assignments" if graded == "assignments" else tmp_path / "work" / "_notebooks" / "carol")


@pytest.fixture(scope="module")
def changing_class(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """A class graded, then changed and graded again with the same command: `nbrepo` (a repository
    whose student worked in the notebook) leaves, `bob` replaces his stubs with the reference;
    `notes.txt` and `x.tar.gz` are not submissions, `.DS_Store` and `__MACOSX/` are litter."""
    base = tmp_path_factory.mktemp("changing")
    folder, out = base / "class", base / "out"
    folder.mkdir()
    _repository(folder / "nbrepo", "stubs", "worked")
    shutil.copytree(ROOT / "assignments", folder / "bob", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "notes.txt").write_text("hello\n")
    (folder / "x.tar.gz").write_bytes(b"\x1f\x8b")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / "__MACOSX").mkdir()
    cmd = ("grade", str(folder), "--out", str(out), "--jobs", "1", "--quiet", "--timeout", TIMEOUT_S)
    first = run_cli(*cmd)
    shutil.rmtree(folder / "nbrepo")
    shutil.rmtree(folder / "bob")
    sample.write_folder(folder / "bob", "correct")
    return out, first, run_cli(*cmd)


def test_entries_that_are_not_submissions_get_a_row_and_litter_none(changing_class) -> None:
    out, first, _ = changing_class
    assert first.returncode == 0, first.stderr[-3000:]
    got = records(out)
    assert sorted(got) == ["bob", "nbrepo", "notes.txt", "x.tar.gz"]
    for name in ("notes.txt", "x.tar.gz"):
        assert got[name]["status"] == "malformed" and got[name]["score"] == 0
        assert got[name]["message"] == f"{name}: not a submission: hand in a folder, a .zip or a .ipynb notebook"
    assert "2 entries are not a submission ('notes.txt', 'x.tar.gz')" in first.stdout


def test_a_repository_worked_in_the_notebook_is_graded_from_it(changing_class) -> None:
    out, first, _ = changing_class
    assert first.returncode == 0, first.stderr[-3000:]
    nbrepo = records(out)["nbrepo"]
    assert nbrepo["status"] == "graded" and nbrepo["score"] == nbrepo["max_score"] > 40
    assert nbrepo["message"] == "graded notebooks/logreg.ipynb: assignments/ is still the released stubs"


def test_a_changed_submission_is_regraded_and_a_departed_one_is_marked(changing_class) -> None:
    out, _, again = changing_class
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = next(line for line in again.stdout.splitlines() if line.startswith("resumed: "))
    assert "submission changed (1)" in resumed, again.stdout[-1500:]  # bob only: notes.txt and x.tar.gz did not change
    bob = records(out)["bob"]
    assert bob["status"] == "graded" and bob["score"] == bob["max_score"] > 40
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["nbrepo"]["message"].endswith("; not in this run's class folder (an earlier run's record, kept)")
    assert "not in this run's class folder" not in rows["bob"]["message"]
    assert "1 row of the gradebook is an earlier record of a submission not in this run's class folder (nbrepo)" in again.stdout


def test_resume_compares_the_content_digest(tmp_path) -> None:
    """A record is current only for the same content: any changed byte, or a record of an older
    kit without a digest, is graded again whole, and the summary says why."""
    from logreg_kit.batch.insight import Regrades
    from logreg_kit.batch.intake import content_digest

    folder = sample.write_folder(tmp_path / "bob", "correct")
    before = content_digest(folder)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"litter")
    assert content_digest(folder) == before
    (folder / "sgd.py").write_text((folder / "sgd.py").read_text() + "\n")
    changed = content_digest(folder)
    assert changed != before
    record = {"status": "graded", "checks": []}
    regrades = Regrades({"bob": dict(record, digest=before), "old": record, "same": dict(record, digest=changed)}, None)
    assert [regrades(Submission(s, folder, digest=changed), []) for s in ("bob", "old", "same")] == [None, None, False]
    assert regrades.summary() == ("1 record current; regraded 2: record without a content digest (an older kit's) (1), "
                                  "submission changed (1)")


def test_check_fingerprints_do_not_depend_on_the_hash_seed() -> None:
    """Two `grade` runs are two processes with two hash seeds: a check's fingerprint must be the same
    in both, or resume regrades everything (a check reaching a declaration holding a frozenset did)."""
    script = ("import json; from logreg_kit.checks import CHECKS; from logreg_kit.batch.fingerprint import check_fingerprint; "
              "print(json.dumps([check_fingerprint(c.fn) for c in CHECKS]))")
    said = {seed: subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                                 env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert said["1"] and said["1"] == said["2"]
