"""class.html: the class overview (overview.py's summary) as one offline page.

Inline CSS and SVG only: no script, no network. Every string that comes from a submission
(student ids, messages, code) is HTML-escaped. Headings, column labels and captions are said in
the language the run speaks (`--lang`); class.json keeps its keys and identifiers in English.
"""
import html
from typing import Any

from ..i18n import N_, _, ngettext
from .html import CSS as REPORT_CSS, page_language
from .outputs import said_exercise, said_status
from .overview import said_kind

BAR_W, BAR_GAP, HIST_H, HIST_MARGIN = 48, 6, 180, 28
SIMILAR_SHOWN = 20  # pairs drawn side by side; class.json lists them all
ROWS_SHOWN = 10  # rows of a long table shown open; the rest fold under <details>
CSS = REPORT_CSS + """
body{max-width:80rem} .bar{fill:#4a78c2} .pair{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
.pair pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.8rem;max-height:24rem}
mark{background:#ffd54f} .note{color:#555;font-style:italic} td.n{text-align:right}
"""


NONE = N_("None.")
IDENTICAL_TO = N_("{student}: identical to the {what}")
NOT_COMPARED = N_("Not compared (nothing of their own to compare):")
NO_PAIR = N_("No pair above the threshold.")
SCORE_DISTRIBUTION = N_("Score distribution")
PER_EXERCISE = N_("Per exercise")
BY_FAILURE_RATE = N_("Checks by failure rate")
MISTAKES_GROUPED = N_("Mistakes grouped")
INCIDENTS = N_("Time-outs, crashes and unreadable submissions")
SIMILAR = N_("Similar submissions")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def histogram_svg(bins: list[dict[str, Any]]) -> str:
    """Students per score band as an inline SVG bar chart."""
    most = max((b["count"] for b in bins), default=0) or 1
    width = len(bins) * (BAR_W + BAR_GAP) + HIST_MARGIN
    label = esc(_("score histogram"))
    parts = [f"<svg id='histogram' role='img' aria-label='{label}' width='{width}' "
             f"height='{HIST_H + 2 * HIST_MARGIN}' xmlns='http://www.w3.org/2000/svg'>"]
    for i, b in enumerate(bins):
        h = HIST_H * b["count"] / most
        x, y = HIST_MARGIN / 2 + i * (BAR_W + BAR_GAP), HIST_MARGIN + HIST_H - h
        band = f"{b['low']:.0%}-{b['high']:.0%}"
        title = esc(ngettext("{n} student at {band}", "{n} students at {band}", b["count"], band=band))
        parts.append(f"<rect class='bar' x='{x:.0f}' y='{y:.1f}' width='{BAR_W}' height='{h:.1f}'>"
                     f"<title>{title}</title></rect>")
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
        more = esc(_("{n} more", n=len(rows) - shown))
        page += (f"<details><summary>{more}</summary>"
                 f"<table class='{table_id}-more'>{header}{body(rows[shown:])}</table></details>")
    return page


def _td(value: Any, number: bool = False) -> str:
    return f"<td class='n'>{esc(value)}</td>" if number else f"<td>{esc(value)}</td>"


def exercises_table(summary: dict[str, Any]) -> str:
    rows = [[_td(said_exercise(e["exercise"])), _td(_(e["title"])), _td(f"{e['mean']:.2f}", True),
             _td(f"{e['full_share']:.0%}", True)] for e in summary["exercises"]]
    return _table("exercises", heads(_("exercise"), "", _("mean points"), _("full marks")), rows, shown=len(rows))


def heads(*labels: str) -> list[str]:
    """Column labels, escaped like every cell (a translation is text, never markup)."""
    return [esc(label) for label in labels]


def failures_table(summary: dict[str, Any]) -> str:
    rows = [[_td(c.get("shown", c["check"])), _td(c["failed"], True), _td(c["ran"], True), _td(f"{c['rate']:.0%}", True),
             _td(", ".join(c["students"]))] for c in summary["checks"] if c["failed"]]
    return _table("failures", heads(_("check"), _("failed"), _("ran"), _("rate"), _("students")), rows)


def mistakes_table(summary: dict[str, Any]) -> str:
    rows = [[_td(m["count"], True), _td(m.get("shown", m["check"])), _td(said_kind(m["kind"])),
             f"<td><code>{esc(m['example'])}</code></td>",
             _td(", ".join(m["students"]))] for m in summary["mistakes"]]
    return _table("mistakes", heads(_("students"), _("check"), _("kind"), _("what went wrong (first example)"), _("who")),
                  rows)


def incidents_list(summary: dict[str, Any]) -> str:
    if not summary["incidents"]:
        return f"<p>{esc(_(NONE))}</p>"
    items = "".join(f"<li><b>{esc(i['student'])}</b> ({esc(said_status(i['status']))}): {esc(i['message'])}</li>"
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
    marked = "".join(f"<li>{esc(_(IDENTICAL_TO, student=s, what=_(MARKS.get(m, m))))}</li>"
                     for s, m in sorted(marks.items()))
    threshold = f"{similar.get('threshold', 0):.0%}"
    note = _("A flagged pair is a prompt to look, not a verdict: students may share a common approach, a tutor's hint or "
             "a textbook. Only the code students wrote is compared (the stubs and the lesson's given code are left out; "
             "code that is also in the reference is ignored). Pairs sharing at least {threshold} of their code "
             "({compared} submissions compared):", threshold=threshold, compared=similar.get("compared", 0))
    parts = [f"<p class='note'>{esc(note)}</p>"]
    if marked:
        parts.append(f"<p>{esc(_(NOT_COMPARED))}</p><ul id='marked'>{marked}</ul>")
    if not similar.get("pairs"):
        parts.append(f"<p>{esc(_(NO_PAIR))}</p>")
    for p in similar.get("pairs", [])[:SIMILAR_SHOWN]:
        left, right = (highlighted(code, spans) for code, spans in zip(p["code"], p["spans"]))
        parts.append(f"<div class='similar'><h3>{esc(p['a'])} ~ {esc(p['b'])}: {p['similarity']:.0%}"
                     f"{' ' + esc(_(IDENTICAL)) if p['identical'] else ''}</h3>"
                     f"<div class='pair'><pre>{left}</pre><pre>{right}</pre></div></div>")
    return "".join(parts)


IDENTICAL = N_("(identical once names and layout are normalised)")
MARKS = {"reference": N_("reference"), "stubs": N_("stubs")}  # what similarity.py found a submission identical to


def render_class(summary: dict[str, Any]) -> str:
    """The whole page, its words in the language spoken now."""
    counts = ", ".join(f"{n} {said_status(s)}" for s, n in summary["statuses"].items() if n)
    title = esc(_("Class overview"))
    mean, most = f"{summary['mean_score']:g}", f"{summary['max_score']:g}"
    sub = ngettext("{n} submission: {statuses}; mean {mean} of {most} points",
                   "{n} submissions: {statuses}; mean {mean} of {most} points",
                   summary["students"], statuses=counts, mean=mean, most=most)
    return (
        f"<!doctype html><html lang='{page_language()}'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{CSS}</style></head><body><h1>{title}</h1>"
        f"<p class='sub'>{esc(sub)}</p>"
        f"<h2>{esc(_(SCORE_DISTRIBUTION))}</h2>{histogram_svg(summary['histogram'])}"
        f"<h2>{esc(_(PER_EXERCISE))}</h2>{exercises_table(summary)}"
        f"<h2>{esc(_(BY_FAILURE_RATE))}</h2>{failures_table(summary)}"
        f"<h2>{esc(_(MISTAKES_GROUPED))}</h2>{mistakes_table(summary)}"
        f"<h2>{esc(_(INCIDENTS))}</h2>{incidents_list(summary)}"
        f"<h2 id='similarity'>{esc(_(SIMILAR))}</h2>{similarity_section(summary['similarity'])}"
        "</body></html>"
    )
