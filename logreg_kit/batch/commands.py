"""The instructor commands: grade, check, sample-class, gradescope-bundle (wired into logreg_kit/cli.py)."""
import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..i18n import N_, UnknownLanguage, _, available_languages, ngettext, set_language


def add_parsers(verbs: Any) -> None:
    """Register the batch subcommands on the kit's argparse subparsers."""
    g = verbs.add_parser("grade", help="grade a class of submissions (folders, .zip, .ipynb) in parallel")
    g.add_argument("submissions", nargs="+", help="submission folders, .zip files, .ipynb notebooks, or folders of them")
    g.add_argument("--out", required=True, help="output folder (gradebook.csv, class.html and class.json, per-student results.json and feedback.html)")
    g.add_argument("--jobs", type=int, default=0, help="submissions graded at once (default: number of cores)")
    g.add_argument("--timeout", type=float, default=None, help="seconds per submission before it is stopped (default 120)")
    g.add_argument("--data", default="embedded", help="'embedded' (default) or a folder of MNIST IDX files")
    g.add_argument("--regrade", nargs="?", const="all", default=None, metavar="CHECK",
                   help="grade again everything already graded in --out, or only the checks whose name contains CHECK "
                        "(without it, a resumed run regrades the checks whose code, reference or settings changed)")
    g.add_argument("--shard", default=None, metavar="K/N", help="grade only the K-th of N deterministic slices of the class")
    g.add_argument("--no-memo", action="store_true", help="do not memoise the reference's answers (for benchmarks)")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--allow-weak-sandbox", action="store_true",
                   help="grade even where bwrap cannot start (student code then runs in a plain subprocess)")
    add_lang_argument(g)
    g.set_defaults(run=cmd_grade)

    c = verbs.add_parser("check", help="grade your own folder (default assignments/) with the same feedback as pytest")
    c.add_argument("target", nargs="?", default="assignments", help="folder, .zip or .ipynb (default: assignments)")
    c.add_argument("--data", default="embedded")
    add_lang_argument(c)
    c.set_defaults(run=cmd_check)

    s = verbs.add_parser("sample-class", help="write a sample class of generated submissions (some buggy, one hangs)")
    s.add_argument("--out", required=True)
    s.add_argument("--n", type=int, default=10)
    s.set_defaults(run=cmd_sample_class)

    m = verbs.add_parser("merge", help="join the outputs of `grade --shard K/N` into one gradebook and overview")
    m.add_argument("outs", nargs="+", help="the --out folders of the shards")
    m.add_argument("--out", required=True, help="the folder to write the joined output to")
    add_lang_argument(m)
    m.set_defaults(run=cmd_merge)

    b = verbs.add_parser("gradescope-bundle", help="write a Gradescope autograder zip (setup.sh, run_autograder)")
    b.add_argument("--out", required=True, help="the zip to write")
    b.set_defaults(run=cmd_bundle)


def add_lang_argument(verb: argparse.ArgumentParser) -> None:
    verb.add_argument("--lang", default=None, metavar="LANG",
                      help=f"the language of the feedback: {', '.join(available_languages())} (default: from LANGUAGE, "
                           "LC_ALL, LC_MESSAGES or LANG, else en)")


def speak(args: argparse.Namespace, verb: str) -> bool:
    """Set the feedback's language from --lang (else the locale variables); False, with the languages
    there are on stderr, for one this kit has no catalogue for."""
    try:
        args.lang = set_language(getattr(args, "lang", None))
    except UnknownLanguage as err:
        print(f"logreg-kit {verb}: {err}", file=sys.stderr)
        return False
    return True


def cmd_grade(args: argparse.Namespace) -> int:
    """Grade a class. This process never imports torch (see pool.py): it starts faster, and the
    workers it forks start from a process without torch's threads."""
    import tqdm as tqdm_module

    # lazy: the batch modules load when this verb runs, not for every `logreg-kit` command
    from .html import render
    from .insight import Regrades, in_shard, parse_shard, write_overview
    from .intake import ACCEPTED, collect, content_digest, is_accepted
    from .outputs import load_records, summary_table, write_gradebook, write_record
    from .pool import SUBMISSION_TIMEOUT_S, BatchError, Options, grade_class

    from ..sandbox.availability import WeakSandboxError, require_sandbox  # lazy, as above

    if not speak(args, "grade"):
        return 2

    try:
        weak = require_sandbox(args.allow_weak_sandbox, "--allow-weak-sandbox").weak_line()
    except WeakSandboxError as err:
        print(f"logreg-kit grade: {err}", file=sys.stderr)
        return 2
    if weak:
        print(weak, file=sys.stderr, flush=True)
    tqdm_module.tqdm.monitor_interval = 0  # no monitor thread: workers are forked from this process
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subs = everyone = collect(args.submissions)
    if args.shard:
        try:
            k, n = parse_shard(args.shard)
        except ValueError as err:
            print(f"logreg-kit grade: {err}", file=sys.stderr)
            return 2
        subs = [s for s in subs if in_shard(s.student, k, n)]
    subs = [replace(s, digest=content_digest(s.source)) for s in subs]
    present = {s.student for s in everyone}
    records = load_records(out)
    regrades = Regrades({s.student: records[s.student] for s in subs if _graded_before(records.get(s.student), s.source)},
                        args.regrade)
    todo = subs  # regrades decides, once the checks are known, which records are current
    named = {e["name"] for r in regrades.previous.values() for e in r["checks"]}
    if args.regrade not in (None, "all") and named and not any(args.regrade.lower() in n.lower() for n in named):
        print("logreg-kit grade: " + _("--regrade {check}: no check name contains it", check=repr(args.regrade)),
              file=sys.stderr)
        return 2
    options = Options(args.jobs, args.timeout or SUBMISSION_TIMEOUT_S, args.data, not args.no_memo, args.lang)
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(todo) or 1))
    print(planned_line(len(subs), len(regrades.previous), out, len(todo), jobs), flush=True)
    refused = [s.source.name for s in subs if not is_accepted(s.source)]
    if refused:
        listed = ascii(refused[:5])[1:-1] + (", ..." if len(refused) > 5 else "")
        print(ngettext("{n} entry is not a submission ({names}): it gets a malformed row (accepted: {accepted})",
                       "{n} entries are not a submission ({names}): each gets a malformed row (accepted: {accepted})",
                       len(refused), names=listed, accepted=_(ACCEPTED)), flush=True)
    bar = tqdm_module.tqdm(total=len(todo), unit="sub", disable=args.quiet or not todo, dynamic_ncols=True)
    regrades.on_current = lambda: bar.update(1)

    def on_record(record: dict[str, Any]) -> None:
        try:
            page = render(record)
        except Exception as err:  # noqa: BLE001 - a report that cannot be drawn must not lose the row
            failed = _("feedback report failed: {error}", error=err)
            record["message"] = "; ".join(m for m in (record["message"], failed) if m)
            page = None
        (record.get("artifacts") or {}).pop("pixels", None)  # drawn in the report; the record keeps indices
        write_record(out, record, page)
        records[record["student"]] = record
        write_gradebook(out, gradebook_rows(records, present))
        bar.set_postfix_str(f"{record['student']}: {record['status']} {record['score']:g}/{record['max_score']:g}")
        bar.update(1)

    try:
        if todo:
            grade_class(todo, out, options, on_record, regrades)
    except BatchError as err:
        bar.close()
        print(f"logreg-kit grade: {err}", file=sys.stderr)
        return 2
    bar.close()
    print(summary_table([records[s.student] for s in subs if s.student in records]))
    print(_("resumed: {summary}", summary=regrades.summary()))
    print(write_overview(out, [records[s.student] for s in subs if s.student in records]))
    absent = sorted(set(records) - present)
    if absent:
        listed = ", ".join(absent[:5]) + (", ..." if len(absent) > 5 else "")
        print(ngettext("{n} row of the gradebook is an earlier record of a submission not in this run's class folder "
                       "({names}): kept, with a note",
                       "{n} rows of the gradebook are earlier records of submissions not in this run's class folder "
                       "({names}): kept, with a note", len(absent), names=listed), flush=True)
    gradebook = write_gradebook(out, gradebook_rows(records, present))
    print(_("gradebook: {gradebook}; reports: {out}/STUDENT/feedback.html and results.json; class overview: "
            "{out}/class.html and class.json", gradebook=gradebook, out=out))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    # lazy: the batch modules load when this verb runs
    from .insight import MergeError, merge, write_overview
    from .outputs import summary_table

    if not speak(args, "merge"):
        return 2
    out = Path(args.out)
    try:
        records = merge([Path(o) for o in args.outs], out)
    except (MergeError, OSError, ValueError) as err:
        print(f"logreg-kit merge: {err}", file=sys.stderr)
        return 2
    print(summary_table(records))
    print(write_overview(out, records))
    print(_("gradebook: {gradebook}; class overview: {out}/class.html and class.json", gradebook=out / "gradebook.csv",
            out=out))
    return 0


def planned_line(count: int, graded: int, out: Path, todo: int, jobs: int) -> str:
    """What `grade` is about to do, in one line: "12 submissions; 3 already graded in OUT ...", plurals
    as the language forms them."""
    return _("{submissions}; {graded} already graded in {out} (checked for changes); grading up to {todo} with {jobs}",
             submissions=ngettext("{n} submission", "{n} submissions", count), graded=graded, out=out, todo=todo,
             jobs=ngettext("{n} job", "{n} jobs", jobs))


def _graded_before(record: dict[str, Any] | None, source: Path) -> bool:
    """A record of this very submission (same id and same source path): resumed, and graded
    again only where it changed (its content digest, a check: insight.Regrades)."""
    return record is not None and record.get("source") == str(source)


ABSENT_NOTE = N_("not in this run's class folder (an earlier run's record, kept)")


def gradebook_rows(records: dict[str, dict[str, Any]], present: set[str]) -> list[dict[str, Any]]:
    """Every record of the output folder, for the gradebook; a record of a submission that is not
    among this run's arguments (`present`, every shard's included) gets ABSENT_NOTE in its message
    (the record file itself is left as it is)."""
    rows = []
    for student, record in records.items():
        if student not in present:
            record = dict(record, message="; ".join(m for m in (record.get("message", ""), _(ABSENT_NOTE)) if m))
        rows.append(record)
    return rows


def cmd_check(args: argparse.Namespace) -> int:
    import tempfile

    # lazy: torch, the checks and the sandbox, for this verb only
    from ..checks import SETTINGS
    from ..factory import open_backend
    from ..harness import grade
    from ..sandbox.availability import bwrap_status
    from .intake import IntakeError, Submission, prepare, student_id

    if not speak(args, "check"):
        return 2
    SETTINGS.data = args.data
    target = Path(args.target)
    with tempfile.TemporaryDirectory() as work:
        try:
            folder = prepare(Submission(student_id(target), target), Path(work))
        except IntakeError as err:
            print(f"logreg-kit check: {err}", file=sys.stderr)
            return 2
        weak = bwrap_status().weak_line()
        if weak:
            print(weak, file=sys.stderr, flush=True)
        backend = open_backend(str(folder))
        try:
            report = grade(backend)
        finally:
            backend.close()
    report.label = str(target)
    statuses = {"passed": N_("PASSED"), "failed": N_("FAILED"), "skipped": N_("SKIPPED")}
    for outcome in report.outcomes:
        print(f"{_(statuses.get(outcome.status, outcome.status.upper())):<8} {outcome.check.display_name}")
        if outcome.status == "failed":
            print("\n".join("         " + line for line in outcome.message.splitlines()))
    print()
    print("\n".join(report.summary_lines()))
    return 0 if report.score == report.max_score else 1


def cmd_sample_class(args: argparse.Namespace) -> int:
    from .sample import make_class  # lazy: for this verb only

    made = make_class(Path(args.out), args.n)
    print(ngettext("{n} sample submission in {out}", "{n} sample submissions in {out}", len(made), out=args.out))
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    from .bundle import write_bundle  # lazy: for this verb only

    path = write_bundle(Path(args.out))
    print(_("Gradescope autograder: {path} (upload it as the assignment's autograder zip)", path=path))
    return 0
