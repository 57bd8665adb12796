"""The per-student feedback report: one self-contained HTML file (inline CSS, SVG and PNG).

It shows the score per exercise, every check's outcome and message, the loss of every
minibatch of the student's training run (an inline SVG chart), and the validation digits their
model got wrong with the true and predicted labels (small inline PNGs; the worker sends their
pixels). Drawn with the standard library only: no matplotlib, no torch in the grading parent. Its words
are said in the language the run speaks (`--lang`); everything from the submission is escaped.
"""
import base64
import html
import math
import struct
import zlib
from typing import Any

from ..exercises import BY_ID, said_label
from ..i18n import N_, _, current_language
from ..result_formats import SAID_STATUS
from ..results import by_exercise, max_total, results_of, total
from .outputs import said_status

DIGIT_SIDE = 28
DIGIT_SCALE = 3  # each pixel drawn 3x3 in the report
CHART_W, CHART_H, MARGIN = 640, 260, 48
MAX_POINTS = 800  # longer loss curves are thinned to this many points
CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem;margin-bottom:.2rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.passed{color:#1a7f37} .failed,.error{color:#c62828} .skipped{color:#777}
.check{margin:.4rem 0;padding:.4rem .7rem;border-left:4px solid #ddd} .check.failed,.check.error{border-color:#c62828;background:#fff5f5}
.check.passed{border-color:#1a7f37} pre{white-space:pre-wrap;margin:.3rem 0 0;font-size:.85rem}
.banner{padding:.6rem .8rem;background:#fff3cd;border:1px solid #e0c36b;margin:1rem 0}
.digits{display:flex;flex-wrap:wrap;gap:.6rem} .digits figure{margin:0;text-align:center;font-size:.75rem;color:#c62828}
.digits img{image-rendering:pixelated;border:1px solid #ddd}
svg text{font-size:11px;fill:#444}
"""


TRUE_GOT = N_("true {true}, got {got}")
NO_LOSSES = N_("(no finite losses to draw)")
FEEDBACK_TITLE = N_("Feedback: {student}")
FEEDBACK_HEADING = N_("logreg-kit feedback: {student}")
SCORE = N_("score")
GRADED_IN = N_("graded in {seconds} s")
POINTS_HEADING = N_("Points per exercise")
EXERCISE = N_("exercise")
POINTS = N_("points")
TRAINING_RUN = N_("Your training run")
ACCURACY = N_("validation accuracy of your model:")
WRONG_DIGITS = N_("Validation digits your model got wrong")
EVERY_CHECK = N_("Every check")


def png_grey(pixels: bytes, width: int, height: int) -> bytes:
    """An 8-bit greyscale PNG of `pixels` (row by row, width*height bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + pixels[r * width:(r + 1) * width] for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def digit_img(pixels_hex: str) -> str:
    """An <img> of one digit (784 grey levels as hex, 0 = background), dark ink on white."""
    ink = bytes(255 - v for v in bytes.fromhex(pixels_hex)[: DIGIT_SIDE * DIGIT_SIDE])
    data = base64.b64encode(png_grey(ink.ljust(DIGIT_SIDE * DIGIT_SIDE, b"\xff"), DIGIT_SIDE, DIGIT_SIDE)).decode("ascii")
    side = DIGIT_SIDE * DIGIT_SCALE
    alt = html.escape(_("digit"), quote=True)
    return f"<img alt='{alt}' width='{side}' height='{side}' src='data:image/png;base64,{data}'>"


def digits_grid(misclassified: list[list[int]], pixels: list[str]) -> str:
    """The misclassified digits ([index, true label, predicted label] each) with their labels."""
    cells = [f"<figure>{digit_img(hexed)}<figcaption>{html.escape(_(TRUE_GOT, true=true, got=pred))}"
             "</figcaption></figure>"
             for (_index, true, pred), hexed in zip(misclassified, pixels)]
    return "<div class='digits'>" + "".join(cells) + "</div>"


def loss_chart(losses: list[float]) -> str:
    """An inline SVG line chart of the loss of every minibatch (non-finite values left out)."""
    step = max(1, len(losses) // MAX_POINTS)
    points = [(i + 1, v) for i, v in enumerate(losses) if i % step == 0 and math.isfinite(v)]
    if not points:
        return f"<p>{html.escape(_(NO_LOSSES))}</p>"
    low, high = min(v for _i, v in points), max(v for _i, v in points)
    span, n = (high - low) or 1.0, len(losses)
    w, h = CHART_W - 2 * MARGIN, CHART_H - 2 * MARGIN

    def xy(i: float, v: float) -> str:
        return f"{MARGIN + (i - 1) / max(n - 1, 1) * w:.1f},{MARGIN + (high - v) / span * h:.1f}"

    line = " ".join(xy(i, v) for i, v in points)
    aria = html.escape(_("training loss per minibatch"), quote=True)
    x_axis, caption = html.escape(_("minibatch")), html.escape(_("your fit(): training loss of every minibatch"))
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{CHART_W}' height='{CHART_H}' role='img' "
            f"aria-label='{aria}'>"
            f"<rect x='{MARGIN}' y='{MARGIN}' width='{w}' height='{h}' fill='none' stroke='#ccc'/>"
            f"<polyline fill='none' stroke='#1f6feb' stroke-width='1.2' points='{line}'/>"
            f"<text x='{MARGIN - 4}' y='{MARGIN + 4}' text-anchor='end'>{high:.3g}</text>"
            f"<text x='{MARGIN - 4}' y='{MARGIN + h}' text-anchor='end'>{low:.3g}</text>"
            f"<text x='{MARGIN}' y='{MARGIN + h + 16}'>1</text>"
            f"<text x='{MARGIN + w}' y='{MARGIN + h + 16}' text-anchor='end'>{n}</text>"
            f"<text x='{MARGIN + w / 2}' y='{MARGIN + h + 32}' text-anchor='middle'>{x_axis}</text>"
            f"<text x='{MARGIN + w / 2}' y='{MARGIN - 14}' text-anchor='middle'>{caption}</text>"
            "</svg>")


def _exercise_rows(record: dict[str, Any]) -> str:
    rows = []
    for ex_id, results in by_exercise(results_of(record["checks"])).items():
        got, most = total(results), max_total(results)
        if most > 0:
            css = "passed" if got >= most else "failed"
            rows.append(f"<tr><td>{html.escape(said_label(ex_id))}</td><td>{html.escape(_(BY_ID[ex_id].title))}</td>"
                        f"<td class='{css}'>{got:g} / {most:g}</td></tr>")
    return "\n".join(rows)


def _check_blocks(record: dict[str, Any]) -> str:
    """Every check: status, name, points and its message as the student may read it (a hidden
    check's own message is for the instructor: results.CheckResult.student_message)."""
    blocks = []
    for r in results_of(record["checks"]):
        text = r.student_message()
        message = f"<pre>{html.escape(text)}</pre>" if text else ""
        status = html.escape(_(SAID_STATUS[r.status]))
        blocks.append(f"<div class='check {r.status}'><span class='{r.status}'>{status}</span> "
                      f"<b>{html.escape(r.display_name)}</b> ({r.score:g}/{r.max_score:g}){message}</div>")
    return "\n".join(blocks)


def page_language() -> str:
    """The <html lang> of a page said now: "en", "zh-CN" (BCP 47 from the catalogue's name)."""
    return current_language().replace("_", "-")


def render(record: dict[str, Any]) -> str:
    """The report for one record (see outputs.py for the record's fields), in the language spoken now."""
    art = record.get("artifacts") or {}
    seconds = f"{record['seconds']:.1f}"
    parts = [
        f"<!doctype html><html lang='{page_language()}'><head><meta charset='utf-8'>"
        f"<title>{html.escape(_(FEEDBACK_TITLE, student=record['student']))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(_(FEEDBACK_HEADING, student=record['student']))}</h1>",
        (f"<p class='sub'>{html.escape(_(SCORE))} <b>{record['score']:g} / {record['max_score']:g}</b> &middot; "
         f"{html.escape(said_status(record['status']))} &middot; {html.escape(_(GRADED_IN, seconds=seconds))}</p>"),
    ]
    if record["message"]:
        parts.append(f"<div class='banner'>{html.escape(record['message'])}</div>")
    parts += [f"<h2>{html.escape(_(POINTS_HEADING))}</h2><table><tr><th>{html.escape(_(EXERCISE))}</th><th></th>"
              f"<th>{html.escape(_(POINTS))}</th></tr>", _exercise_rows(record), "</table>"]
    if art.get("losses"):
        parts.append(f"<h2>{html.escape(_(TRAINING_RUN))}</h2>{loss_chart(art['losses'])}")
    if "accuracy" in art:
        accuracy = f"<b>{art['accuracy']:.1%}</b>"
        parts.append(f"<p>{html.escape(_(ACCURACY))} {accuracy}</p>")
    if art.get("misclassified") and art.get("pixels"):
        parts.append(f"<h2>{html.escape(_(WRONG_DIGITS))}</h2>"
                     f"{digits_grid(art['misclassified'], art['pixels'])}")
    parts += [f"<h2>{html.escape(_(EVERY_CHECK))}</h2>", _check_blocks(record), "</body></html>"]
    return "\n".join(parts)
