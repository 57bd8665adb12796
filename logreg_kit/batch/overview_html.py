"""class.html: the class overview (overview.py's summary) as one offline page.

Inline CSS and SVG only: no script, no network. Every string that comes from a submission
(student ids, messages, code) is HTML-escaped.
"""
import html
from typing import Any

from .html import CSS as REPORT_CSS

BAR_W, BAR_GAP, HIST_H, HIST_MARGIN = 48, 6, 180, 28
SIMILAR_SHOWN = 20  # pairs drawn side by side; class.json lists them all
ROWS_SHOWN = 10  # rows of a long table shown open; the rest fold under <details>
CSS = REPORT_CSS + """
body{max-width:80rem} .bar{fill:#4a78c2} .pair{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.pair pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.8rem;max-height:24rem}
mark{background:#ffd54f} .note{color:#555;font-style:italic} td.n{text-align:right}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def histogram_svg(bins: list[dict[str, Any]]) -> str:
    """Students per score band as an inline SVG bar chart."""
    most = max((b["count"] for b in bins), default=0) or 1
    width = len(bins) * (BAR_W + BAR_GAP) + HIST_MARGIN
    parts = [f"<svg id='histogram' role='img' aria-label='score histogram' width='{width}' "
             f"height='{HIST_H + 2 * HIST_MARGIN}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, b in enumerate(bins):
        h = HIST_H * b["count"] / most
        x, y = HIST_MARGIN / 2 + i * (BAR_W + BAR_GAP), HIST_MARGIN + HIST_H - h
        parts.append(f"<rect class='bar' x='{x:.0f}' y='{y:.1f}' width='{BAR_W}' height='{h:.1f}'>"
                     f"<title>{b['count']} student(s) at {b['low']:.0%}-{b['high']:.0%}</title></rect>")
        parts.append(f"<text x='{x + BAR_W / 2:.0f}' y='{y - 4:.1f}' text-anchor='middle'>{b['count']}</text>")
        parts.append(f"<text x='{x + BAR_W / 2:.0f}' y='{HIST_MARGIN + HIST_H + 16}' text-anchor='middle'>"
                     f"{b['low']:.0%}</text>")
    return "".join(parts) + "</svg>"


def _table(table_id: str, head: list[str], rows: list[list[str]], shown: int = ROWS_SHOWN) -> str:
    """A table whose cells are already escaped; rows past ROWS_SHOWN fold under <details>."""
    header = "<thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>"

    def body(part: list[list[str]]) -> str:
        return "<tbody>" + "".join("<tr>" + "".join(row) + "</tr>" for row in part) + "</tbody>"

    page = f"<table id='{table_id}'>{header}{body(rows[:shown])}</table>"
    if len(rows) > shown:
        page += (f"<details><summary>{len(rows) - shown} more</summary>"
                 f"<table class='{table_id}-more'>{header}{body(rows[shown:])}</table></details>")
    return page


def _td(value: Any, number: bool = False) -> str:
    return f"<td class='n'>{esc(value)}</td>" if number else f"<td>{esc(value)}</td>"


def exercises_table(summary: dict[str, Any]) -> str:
    rows = [[_td(e["exercise"]), _td(e["title"]), _td(f"{e['mean']:.2f}", True), _td(f"{e['full_share']:.0%}", True)]
            for e in summary["exercises"]]
    return _table("exercises", ["exercise", "", "mean points", "full marks"], rows, shown=len(rows))


def failures_table(summary: dict[str, Any]) -> str:
    rows = [[_td(c["check"]), _td(c["failed"], True), _td(c["ran"], True), _td(f"{c['rate']:.0%}", True),
             _td(", ".join(c["students"]))] for c in summary["checks"] if c["failed"]]
    return _table("failures", ["check", "failed", "ran", "rate", "students"], rows)


def mistakes_table(summary: dict[str, Any]) -> str:
    rows = [[_td(m["count"], True), _td(m["check"]), _td(m["kind"]), f"<td><code>{esc(m['example'])}</code></td>",
             _td(", ".join(m["students"]))] for m in summary["mistakes"]]
    return _table("mistakes", ["students", "check", "kind", "what went wrong (first example)", "who"], rows)


def incidents_list(summary: dict[str, Any]) -> str:
    if not summary["incidents"]:
        return "<p>None.</p>"
    items = "".join(f"<li><b>{esc(i['student'])}</b> ({esc(i['status'])}): {esc(i['message'])}</li>"
                    for i in summary["incidents"])
    return f"<ul id='incidents'>{items}</ul>"


def highlighted(code: str, spans: list[list[int]]) -> str:
    """`code` escaped, with the overlapping spans in <mark>."""
    out, at = [], 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(code))
        if start >= end:
            continue
        out.append(esc(code[at:start]) + "<mark>" + esc(code[start:end]) + "</mark>")
        at = end
    return "".join(out) + esc(code[at:])


def similarity_section(similar: dict[str, Any]) -> str:
    marks = similar.get("marks", {})
    marked = "".join(f"<li>{esc(s)}: identical to the {esc(m)}</li>" for s, m in sorted(marks.items()))
    parts = ["<p class='note'>A flagged pair is a prompt to look, not a verdict: students may share a "
             "common approach, a tutor's hint or a textbook. Only the code students wrote is compared "
             "(the stubs and the lesson's given code are left out; code that is also in the reference "
             f"is ignored). Pairs sharing at least {similar.get('threshold', 0):.0%} of their code "
             f"({similar.get('compared', 0)} submissions compared):</p>"]
    if marked:
        parts.append(f"<p>Not compared (nothing of their own to compare):</p><ul id='marked'>{marked}</ul>")
    if not similar.get("pairs"):
        parts.append("<p>No pair above the threshold.</p>")
    for p in similar.get("pairs", [])[:SIMILAR_SHOWN]:
        left, right = (highlighted(code, spans) for code, spans in zip(p["code"], p["spans"]))
        parts.append(f"<div class='similar'><h3>{esc(p['a'])} ~ {esc(p['b'])}: {p['similarity']:.0%}"
                     f"{' (identical once names and layout are normalised)' if p['identical'] else ''}</h3>"
                     f"<div class='pair'><pre>{left}</pre><pre>{right}</pre></div></div>")
    return "".join(parts)


def render_class(summary: dict[str, Any]) -> str:
    """The whole page."""
    counts = ", ".join(f"{n} {s}" for s, n in summary["statuses"].items() if n)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Class overview</title>"
        f"<style>{CSS}</style></head><body><h1>Class overview</h1>"
        f"<p class='sub'>{summary['students']} submission(s): {esc(counts)}; mean {summary['mean_score']:g} "
        f"of {summary['max_score']:g} points</p>"
        f"<h2>Score distribution</h2>{histogram_svg(summary['histogram'])}"
        f"<h2>Per exercise</h2>{exercises_table(summary)}"
        f"<h2>Checks by failure rate</h2>{failures_table(summary)}"
        f"<h2>Mistakes grouped</h2>{mistakes_table(summary)}"
        f"<h2>Time-outs, crashes and unreadable submissions</h2>{incidents_list(summary)}"
        f"<h2 id='similarity'>Similar submissions</h2>{similarity_section(summary['similarity'])}"
        "</body></html>"
    )
