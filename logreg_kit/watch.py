"""`logreg-kit watch [TARGET]` (in the student bundle: `python -m logreg_kit.watch`): a warm loop.

Started once, it grades TARGET (the `assignments/` folder, a copy of it, or a notebook), then polls
the files' modification times; when a module (or a notebook's solution cell) changes, it re-grades
only the exercises that module's code can change and prints the same points table as `pytest
grader/`. The sandbox template (bwrap, torch imported) and this process's imports stay warm
between saves, so a re-grade costs a fork and the checks' own work.
"""
import argparse
import ast
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .checks import CHECKS, SETTINGS, Check
from .exercises import EXERCISES, MODULES, label
from .factory import open_backend
from .harness import Outcome, Report, run_check
from .intake import take_in
from .recorded import hidden_note, hidden_points
from .sandbox.availability import bwrap_status
from .sandbox.launcher import Sandbox

POLL_S = 0.3
PIPELINE = "5e"  # trains the student's LogReg with their nll_loss, SGD, fit and predict


def module_texts(folder: Path) -> dict[str, str]:
    """Exercise module name -> source text of a package folder ('' for a missing file)."""
    return {m: (folder / f"{m}.py").read_text(errors="replace") if (folder / f"{m}.py").is_file() else ""
            for m in MODULES}


def imported_modules(source: str) -> set[str]:
    """The exercise modules a module's source imports (relative or by its package)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module or ''}.{a.name}" for a in node.names]
            found |= {m for m in MODULES for n in names if n.split(".")[-1] == m or n.endswith(f".{m}")}
        elif isinstance(node, ast.Import):
            found |= {m for m in MODULES for a in node.names if a.name.split(".")[-1] == m}
    return found


def affected_exercises(changed: set[str], texts: dict[str, str]) -> set[str]:
    """The exercises whose checks can change when the modules in `changed` change: theirs, those of
    every module importing them (transitively), and the pipeline when any of its parts moved."""
    affected = set(changed)
    grew = True
    while grew:
        more = {m for m, text in texts.items() if imported_modules(text) & affected} - affected
        affected |= more
        grew = bool(more)
    exercises = {ex.id for ex in EXERCISES if ex.module in affected}
    pipeline_parts = {ex.module for ex in EXERCISES if ex.id in ("4", "5a", "5b", "5c", "5d")}
    if affected & pipeline_parts:
        exercises.add(PIPELINE)
    return exercises


class Watcher:
    """The warm state: one sandbox template, the latest outcome of every check, the files' state."""

    def __init__(self, target: Path, sandbox: Sandbox | None = None, checks: list[Check] = CHECKS) -> None:
        self.target = Path(target)
        self.checks = checks
        self.sandbox = sandbox if sandbox is not None else Sandbox(wait=False)
        self.work = Path(tempfile.mkdtemp(prefix="logreg_watch_"))
        self.outcomes: dict[str, Outcome] = {}
        self.stamp = self._stamp()
        self.texts = module_texts(self._folder())

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        """(name, mtime, size) of the files that make the submission: cheap to poll."""
        paths = [self.target] if self.target.is_file() else sorted(self.target.glob("*.py"))
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.exists())

    def _folder(self) -> Path:
        """The package folder to grade: the target taken in (a notebook converted afresh)."""
        return take_in(self.target, self.work, "notebook").folder

    def changed(self) -> set[str] | None:
        """Modules whose text changed since the last look; None when nothing was saved."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return None
        self.stamp = stamp
        texts = module_texts(self._folder())
        changed = {m for m in MODULES if texts[m] != self.texts[m]}
        self.texts = texts
        return changed

    def grade(self, exercises: set[str] | None = None) -> list[Outcome]:
        """Run the checks of `exercises` (None: all) on the current files; keep their outcomes."""
        backend = open_backend(str(self._folder()), sandbox=self.sandbox)
        try:
            ran = [run_check(c, backend) for c in self.checks if exercises is None or c.exercise in exercises]
        finally:
            backend.close()
        self.outcomes.update({o.check.name: o for o in ran})
        return ran

    def report(self) -> Report:
        return Report(f"{self.target} [{self.sandbox.isolation}]",
                      [self.outcomes[c.name] for c in self.checks if c.name in self.outcomes])

    def close(self) -> None:
        self.sandbox.close()
        shutil.rmtree(self.work, ignore_errors=True)


def show(ran: list[Outcome], report: Report, seconds: float, what: str) -> None:
    for outcome in ran:
        if outcome.status == "failed":
            print(f"FAILED {outcome.check.name}\n" + "\n".join("    " + l for l in outcome.message.splitlines()))
    print("\n".join(report.summary_lines(hidden_points()) + hidden_note()))
    print(f"[{what}: {len(ran)} check(s) in {seconds:.2f} s; watching {report.label}, Ctrl-C to stop]", flush=True)


def watch(target: Path, poll_s: float = POLL_S, rounds: int | None = None) -> Watcher:
    """Grade `target`, then re-grade what changes on every save (`rounds`: stop after that many re-grades)."""
    weak = bwrap_status().weak_line()
    if weak:
        print(weak, flush=True)
    watcher = Watcher(target)
    try:
        start = time.monotonic()
        show(watcher.grade(), watcher.report(), time.monotonic() - start, "graded")
        done = 0
        while rounds is None or done < rounds:
            time.sleep(poll_s)
            changed = watcher.changed()
            if not changed:
                continue
            exercises = affected_exercises(changed, watcher.texts)
            names = ", ".join(label(e) for e in sorted(exercises))
            print(f"\nchanged: {', '.join(sorted(m + '.py' for m in changed))}; re-grading exercise(s) {names}", flush=True)
            start = time.monotonic()
            show(watcher.grade(exercises), watcher.report(), time.monotonic() - start, "re-graded")
            done += 1
    except KeyboardInterrupt:
        pass
    finally:
        watcher.close()
    return watcher


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="logreg-kit watch", description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", default="assignments", help="folder or .ipynb (default: assignments)")
    parser.add_argument("--data", default="embedded")
    parser.add_argument("--poll", type=float, default=POLL_S, help="seconds between looks at the files")
    args = parser.parse_args(argv)
    SETTINGS.data = args.data
    watch(Path(args.target), args.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
