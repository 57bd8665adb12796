"""The per-student feedback report: one self-contained HTML file (inline CSS, images as base64 PNG).

It shows the score per exercise, every check's outcome and message, the loss of every
minibatch of the student's training run, and the validation digits their model got wrong
with the true and predicted labels (the images come from the grader's own data).
"""
import base64
import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..checks.registry import grader_data  # noqa: E402
from ..exercises import BY_ID, label  # noqa: E402

GRID_COLUMNS = 8
CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem;margin-bottom:.2rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.passed{color:#1a7f37} .failed{color:#c62828} .skipped{color:#777}
.check{margin:.4rem 0;padding:.4rem .7rem;border-left:4px solid #ddd} .check.failed{border-color:#c62828;background:#fff5f5}
.check.passed{border-color:#1a7f37} pre{white-space:pre-wrap;margin:.3rem 0 0;font-size:.85rem}
.banner{padding:.6rem .8rem;background:#fff3cd;border:1px solid #e0c36b;margin:1rem 0}
img{max-width:100%}
"""


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def loss_curve_png(losses: list[float]) -> str:
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(range(1, len(losses) + 1), losses, lw=1)
    ax.set_xlabel("minibatch")
    ax.set_ylabel("training loss")
    ax.set_title("your fit(): loss of every minibatch")
    ax.grid(alpha=0.3)
    return _png(fig)


def digits_png(misclassified: list[list[int]]) -> str:
    """A grid of validation digits: [index, true label, predicted label] each."""
    x = grader_data().x_valid
    rows = (len(misclassified) + GRID_COLUMNS - 1) // GRID_COLUMNS
    fig, axes = plt.subplots(rows, GRID_COLUMNS, figsize=(GRID_COLUMNS * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (index, true, pred) in zip(axes.flat, misclassified):
        ax.imshow(x[index].reshape(28, 28).numpy(), cmap="gray_r")
        ax.set_title(f"true {true}, got {pred}", fontsize=7, color="#c62828")
    return _png(fig)


def _exercise_rows(record: dict[str, Any]) -> str:
    table: dict[str, list[float]] = {}
    for e in record["checks"]:
        got = table.setdefault(e["exercise"], [0.0, 0.0])
        got[0] += e["score"]
        got[1] += e["max_score"]
    rows = []
    for ex_id, (got, most) in table.items():
        if most > 0:
            css = "passed" if got >= most else "failed"
            rows.append(f"<tr><td>{html.escape(label(ex_id))}</td><td>{html.escape(BY_ID[ex_id].title)}</td>"
                        f"<td class='{css}'>{got:g} / {most:g}</td></tr>")
    return "\n".join(rows)


def _check_blocks(record: dict[str, Any]) -> str:
    blocks = []
    for e in record["checks"]:
        status = e["status"]
        points = f"{e['score']:g}/{e['max_score']:g}"
        message = f"<pre>{html.escape(e.get('output') or '')}</pre>" if e.get("output") else ""
        blocks.append(f"<div class='check {status}'><span class='{status}'>{status}</span> "
                      f"<b>{html.escape(e['name'])}</b> ({points}){message}</div>")
    return "\n".join(blocks)


def render(record: dict[str, Any]) -> str:
    """The report for one record (see outputs.py for the record's fields)."""
    art = record.get("artifacts") or {}
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Feedback: {html.escape(record['student'])}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>logreg-kit feedback: {html.escape(record['student'])}</h1>",
        f"<p class='sub'>score <b>{record['score']:g} / {record['max_score']:g}</b> &middot; {html.escape(record['status'])}"
        f" &middot; graded in {record['seconds']:.1f} s</p>",
    ]
    if record["message"]:
        parts.append(f"<div class='banner'>{html.escape(record['message'])}</div>")
    parts += ["<h2>Points per exercise</h2><table><tr><th>exercise</th><th></th><th>points</th></tr>",
              _exercise_rows(record), "</table>"]
    if art.get("losses"):
        parts.append(f"<h2>Your training run</h2><img alt='training loss' src='data:image/png;base64,{loss_curve_png(art['losses'])}'>")
    if "accuracy" in art:
        parts.append(f"<p>validation accuracy of your model: <b>{art['accuracy']:.1%}</b></p>")
    if art.get("misclassified"):
        parts.append("<h2>Validation digits your model got wrong</h2>"
                     f"<img alt='misclassified digits' src='data:image/png;base64,{digits_png(art['misclassified'])}'>")
    parts += ["<h2>Every check</h2>", _check_blocks(record), "</body></html>"]
    return "\n".join(parts)
