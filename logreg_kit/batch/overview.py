"""The class overview: what a class got right and wrong, from the records of a batch.

`summarise(records, similar)` gives the plain data written as `class.json` (and drawn as
`class.html` by overview_html.py, printed by `terminal_table`):

- `histogram`: the share of students per band of the total score;
- `exercises`: per exercise, mean points and the share with full marks;
- `checks`: per check, how many students it ran for and how many failed it, by failure rate;
- `mistakes`: a check's failures grouped by what went wrong: the message's kind (wrong shape,
  NaN, time-out, from-scratch call, ...) and its text with numbers and identifiers normalised,
  so that the same mistake made by 31 students is one line with 31 names;
- `incidents`: submissions that timed out, crashed or could not be read, with the message;
- `similarity`: what similarity.py found (pairs, submissions marked reference or stubs).

Torch-free: it runs in the `grade` parent and in `merge`.
"""
import re
from collections import defaultdict
from typing import Any

from ..i18n import N_, _, prefixes
from ..results import CheckResult
from .outputs import STATUSES, pass_rates, said_status

HISTOGRAM_BINS = 10
INCIDENTS = ("timeout", "crashed", "malformed", "error")
NOT_GRADED = N_("not graded: {reason}")  # pool.py's words for a check a stopped or dead submission never ran
FACTOR_TOLERANCE = 1e-3  # a ratio this close to a whole number (not 0 or 1) is "off by a factor"
MAX_GROUP_TEXT = 300
HEADING, HINT = N_("Exercise {exercise}, {function}: {title}"), N_("hint: {hint}")  # as harness.failure_message says them

_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_])")
_QUOTED = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"")
_EXPECTED_GOT = re.compile(r"expected ([-+]?[\d.]+(?:[eE][-+]?\d+)?), got ([-+]?[\d.]+(?:[eE][-+]?\d+)?)")
# (kind, words that name it), tried in order on the lower-cased message; each kind's words in English,
# then in Chinese, so that a class graded with --lang zh_CN is grouped alike. A kind is an English
# identifier in class.json, said in the reader's language by said_kind.
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (N_("time-out"), ("timed out", "took more than", "stopped after", "time limit", "超时", "用了超过", "时间限制")),
    (N_("not implemented"), ("notimplementederror", "not implemented", "尚未实现")),
    (N_("from-scratch call"), ("asks you to write yourself", "must be plain code", "library function", "from scratch",
                           "要求你自己实现", "静态读懂的普通代码")),
    (N_("tampering"), ("reaches into the running grader", "may not inspect", "imports the grader", "触及正在运行的评分程序",
                   "不得查看或修改评分程序", "导入了评分程序")),
    (N_("crash"), ("died", "exit code", "killed", "crashed", "signal", "退出码", "被终止", "信号", "进程结束了")),
    (N_("exception"), ("your code raised", "error:", "exception", "抛出了")),
    (N_("missing structure"), ("has no `", "has no registered", "中没有条件依赖于", "没有已注册的参数")),
    (N_("NaN or inf"), ("nan", "inf at", "not finite", "non-finite", "不是有限值", "非有限元素")),
    (N_("wrong shape"), ("shape", "形状")),
    (N_("wrong dtype"), ("dtype", "float64", "expected a python float", "数据类型", "期望一个 python float")),
    (N_("wrong device"), ("device", "meta", "设备")),
    (N_("wrong dim"), ("dim=", "dim ", "over dim", "sum to one", "sums to", "之和为 1")),
    (N_("wrong type"), ("expected a torch.tensor", "expected a numpy", "got none", "returned none", "期望一个 torch.tensor",
                    "期望一个 numpy", "实际为 none")),
)
_CASE = re.compile(r"\s*(\[[^\]]*\]|\(hypothesis case:.*)$")  # which case failed: not what went wrong


def detail(output: str) -> str:
    """The part of a check's message that says what went wrong: without the header line
    ("Exercise 3, softmax: ...") and the hint, whatever their wording."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith(prefixes(HEADING)):
        lines = lines[1:]
    return " ".join(line for line in lines if not line.lower().startswith(tuple(h.lower() for h in prefixes(HINT))))


def normalise(text: str) -> str:
    """Identifiers in quotes become X and numbers #, so messages that differ only there match."""
    return _NUMBER.sub("#", _QUOTED.sub("X", text))[:MAX_GROUP_TEXT]


def factor(text: str) -> str | None:
    """"x2", "x1/2", ... when `expected E, got G` has G/E (or E/G) a whole number other than 1."""
    for want, got in _EXPECTED_GOT.findall(text):
        try:
            e, g = float(want), float(got)
        except ValueError:
            continue
        if e == 0 or g == 0:
            continue
        for ratio, shown in ((g / e, "x{}"), (e / g, "x1/{}")):
            whole = round(ratio)
            if abs(whole) > 1 and abs(ratio - whole) <= FACTOR_TOLERANCE * abs(whole):
                return shown.format(whole)
    return None


def mistake_kind(text: str) -> str:
    """The kind of a failure message (KINDS), "off by a factor xN", or "wrong values"."""
    text = _CASE.sub("", text)
    lowered = text.lower()
    for kind, words in KINDS:
        if any(w in lowered for w in words):
            return kind
    found = factor(text)
    return f"{OFF_BY_PREFIX}{found}" if found else WRONG_VALUES


OFF_BY_PREFIX = "off by a factor "  # then "x2", "x1/2": the kind as class.json keeps it
OFF_BY = N_("off by a factor {factor}")
WRONG_VALUES = N_("wrong values")


def said_kind(kind: str) -> str:
    """A mistake's kind (an English identifier in class.json) in the reader's language."""
    if kind.startswith(OFF_BY_PREFIX):
        return _(OFF_BY, factor=kind.removeprefix(OFF_BY_PREFIX))
    return _(kind)


def histogram(records: list[dict[str, Any]], bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    """Students per band of the share of points: [{"low": 0.0, "high": 0.1, "count": n}, ...]
    (the last band includes full marks)."""
    counts = [0] * bins
    for record in records:
        share = record["score"] / record["max_score"] if record["max_score"] else 0.0
        counts[min(bins - 1, int(share * bins))] += 1
    return [{"low": i / bins, "high": (i + 1) / bins, "count": c} for i, c in enumerate(counts)]


def _ran(entry: dict[str, Any]) -> bool:
    return entry["status"] in ("passed", "failed") and not str(entry.get("output", "")).startswith(prefixes(NOT_GRADED))


def shown_name(entry: dict[str, Any]) -> str:
    """A record entry's check as a reader reads it (in the language it was graded in); its `name`
    stays the key."""
    return CheckResult.from_entry(entry).display_name


def check_failures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per check that ran: students it ran for, who failed it, the rate; highest rate first."""
    ran: dict[str, int] = defaultdict(int)
    failed: dict[str, list[str]] = defaultdict(list)
    exercise: dict[str, str] = {}
    shown: dict[str, str] = {}
    for record in records:
        for entry in record["checks"]:
            if _ran(entry):
                ran[entry["name"]] += 1
                exercise[entry["name"]] = entry["exercise"]
                shown[entry["name"]] = shown_name(entry)
                if entry["status"] == "failed":
                    failed[entry["name"]].append(record["student"])
    rows = [{"check": name, "shown": shown[name], "exercise": exercise[name], "ran": n, "failed": len(failed[name]),
             "rate": round(len(failed[name]) / n, 4), "students": sorted(failed[name])} for name, n in ran.items()]
    return sorted(rows, key=lambda r: (-r["rate"], -r["failed"], r["check"]))


def mistakes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failures grouped by (check, kind, normalised message); largest group first."""
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    example: dict[tuple[str, str, str], str] = {}
    shown: dict[str, str] = {}
    for record in records:
        for entry in record["checks"]:
            if _ran(entry) and entry["status"] == "failed":
                text = detail(str(entry.get("output", "")))
                key = (entry["name"], mistake_kind(text), normalise(text))
                groups[key].append(record["student"])
                shown[entry["name"]] = shown_name(entry)
                example.setdefault(key, text[:MAX_GROUP_TEXT])
    rows = [{"check": c, "shown": shown[c], "kind": k, "message": m, "example": example[(c, k, m)], "count": len(s),
             "students": sorted(s)} for (c, k, m), s in groups.items()]
    return sorted(rows, key=lambda r: (-r["count"], r["check"], r["message"]))


def summarise(records: list[dict[str, Any]], similar: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything class.json holds (see the module docstring)."""
    records = sorted(records, key=lambda r: r["student"])
    scored = [r for r in records if r["status"] != "malformed"]
    return {
        "students": len(records),
        "statuses": {s: sum(1 for r in records if r["status"] == s) for s in STATUSES},
        "max_score": max((r["max_score"] for r in records), default=0),
        "mean_score": round(sum(r["score"] for r in records) / len(records), 3) if records else 0.0,
        "histogram": histogram(records),
        "exercises": [{"exercise": ex, "title": title, "full_share": round(full, 4), "mean": round(mean, 3)}
                      for ex, title, full, mean in pass_rates(scored)],
        "checks": check_failures(scored),
        "mistakes": mistakes(scored),
        "incidents": [{"student": r["student"], "status": r["status"], "message": r["message"]}
                      for r in records if r["status"] in INCIDENTS],
        "similarity": similar or {"marks": {}, "pairs": [], "compared": 0},
    }


def terminal_table(summary: dict[str, Any], top: int = 5) -> str:
    """A few lines for the terminal: the most failed checks, the largest mistake groups, incidents."""
    lines = [_("most failed checks:")]
    lines += [f"  {row['failed']:>4}/{row['ran']:<4} {row.get('shown', row['check'])}"
              for row in summary["checks"][:top] if row["failed"]]
    lines.append(_("largest mistakes:"))
    lines += [f"  {row['count']:>4}  {row.get('shown', row['check'])}: {said_kind(row['kind'])}: {row['example'][:90]}"
              for row in summary["mistakes"][:top]]
    for incident in summary["incidents"]:
        lines.append(f"  {said_status(incident['status'])}: {incident['student']}: {incident['message'][:100]}")
    similar = summary["similarity"]
    threshold = f"{similar.get('threshold', 0):g}"
    lines.append(_("similar pairs: {n} above {threshold} (of {compared} compared; a prompt to look, not a verdict)",
                   n=len(similar["pairs"]), threshold=threshold, compared=similar["compared"]))
    lines += [f"  {p['similarity']:.0%}  {p['a']} ~ {p['b']}" for p in similar["pairs"][:top]]
    return "\n".join(lines)
