"""A generated sample class: the reference with typical bugs, hangs, crashes and bad files.

`logreg-kit sample-class --out DIR --n 10` writes one submission per student, cycling through
KINDS (folders, .zip files and .ipynb notebooks), for the README, the tests and the benchmarks.
"""
import shutil
import zipfile
from pathlib import Path

from ..cells import NOTEBOOK


SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"

# kind -> (module, old text, new text) edits to the reference; "" module means none.
EDITS: dict[str, list[tuple[str, str, str]]] = {
    "correct": [],
    "softmax_dim0": [("softmax", "e.sum(dim=1)[:, None]", "e.sum(dim=0)[None, :]")],
    "sgd_ascent": [("sgd", "p -= self.lr * p.grad", "p += self.lr * p.grad")],
    "nll_sum": [("sgd", "log_probs[torch.arange(len(y)), y].mean()", "log_probs[torch.arange(len(y)), y].sum()")],
    "fit_no_step": [("sgd", "            opt.step()\n", "")],
    "uses_nn_linear": [("logreg", "log_softmax(x @ self.l1_w + self.l1_b)",
                        "log_softmax(nn.functional.linear(x, self.l1_w.T, self.l1_b))")],
    # hangs at import: only the per-submission time limit stops it
    "hang": [("softmax", "import torch\n", "import torch\n\nwhile True:\n    pass\n")],
    # the grading process dies in fit: checks before it keep their points
    "crash": [("sgd", "    losses = []\n", "    import os\n    os._exit(3)\n    losses = []\n")],
}
# the cycle of a class: mostly correct or buggy, one hang, one crash, one unreadable zip
KINDS = ("correct", "softmax_dim0", "correct_zip", "sgd_ascent", "notebook", "hang",
         "nll_sum", "crash", "fit_no_step", "malformed_zip", "correct", "uses_nn_linear")


def write_folder(dest: Path, kind: str) -> Path:
    """The reference with the edits of `kind`, as a student folder."""
    shutil.copytree(SOLUTIONS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for module, old, new in EDITS[kind]:
        path = dest / f"{module}.py"
        text = path.read_text()
        if old not in text:
            raise ValueError(f"sample edit {kind!r} does not apply to {module}.py: {old!r}")
        path.write_text(text.replace(old, new, 1))
    return dest


def write_zip(dest: Path, kind: str) -> Path:
    """A zip as students make it: a top folder, plus macOS litter."""
    staging = dest.with_suffix(".staging")
    write_folder(staging, kind)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(staging.rglob("*")):
            zf.write(path, f"assignments/{path.relative_to(staging)}")
        zf.writestr("__MACOSX/assignments/._losses.py", b"\x00\x05\x16\x07")
    shutil.rmtree(staging)
    return dest


def write_notebook(dest: Path) -> Path:
    """The course's source notebook (the lesson with the reference in its solution cells)."""
    shutil.copyfile(NOTEBOOK, dest)
    return dest


def make_class(out: Path, n: int) -> list[Path]:
    """Write n submissions into `out`, named sNNN_KIND[.zip|.ipynb]; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        stem = out / f"s{i + 1:03d}_{kind}"
        if kind == "correct_zip":
            made.append(write_zip(stem.with_suffix(".zip"), "correct"))
        elif kind == "notebook":
            made.append(write_notebook(stem.with_suffix(".ipynb")))
        elif kind == "malformed_zip":
            stem.with_suffix(".zip").write_bytes(b"PK\x03\x04 this is not really a zip file")
            made.append(stem.with_suffix(".zip"))
        else:
            made.append(write_folder(stem, kind))
    return made
