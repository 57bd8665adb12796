"""`logreg-kit watch [TARGET]` (in the student bundle: `python -m logreg_kit.watch`): a warm loop.

Started once, it grades TARGET (the `assignments/` folder, a copy of it, or a notebook), then polls
the files' modification times; when a module (or a notebook's solution cell) changes, it re-grades
only the exercises that module's code can change (the student's own helper modules count: a change
reaches the exercises whose modules import them, transitively; a change of __init__.py, every one) and prints the same points table as `pytest
grader/`. The sandbox template (bwrap, torch imported) and this process's imports stay warm
between saves, so a re-grade costs a fork and the checks' own work.
"""
import argparse
import ast
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from .checks import CHECKS, SETTINGS, Check
from .exercises import EXERCISES, MODULES, said_label
from .factory import open_backend
from .harness import Outcome, Report, run_check
from .i18n import N_, UnknownLanguage, _, available_languages, set_language
from .intake import take_in
from .recorded import hidden_note, hidden_points
from .sandbox.availability import bwrap_status
from .sandbox.launcher import Sandbox

POLL_S = 0.3
WATCH_THREADS = 1  # torch threads of the student's code: as in the self-check (pytest_plugin.SELF_CHECK_THREADS)


PACKAGE_INIT = "__init__"  # the package's own __init__.py: imported before any of its modules


def module_texts(folder: Path) -> dict[str, str]:
    """Module name -> source text of every .py file of a package folder (the exercise modules, '' for a
    missing file; the student's own helpers and subpackages by dotted name; __init__.py as PACKAGE_INIT)."""
    texts = {m: "" for m in MODULES}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        if len(parts) > 1 and parts[-1] == PACKAGE_INIT:
            parts = parts[:-1]  # a subpackage's __init__.py: the subpackage itself
        texts[".".join(parts)] = path.read_text(errors="replace")
    return texts


def imported_modules(source: str, known: Iterable[str] = MODULES) -> set[str]:
    """The modules of `known` (dotted names in the package) a module's source imports, relative or by
    its package; importing a submodule imports its parent packages too."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    known = set(known)
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            named |= {node.module or ""} | {f"{node.module}.{a.name}" if node.module else a.name for a in node.names}
        elif isinstance(node, ast.Import):
            named |= {a.name for a in node.names}
    found = {m for m in known for n in named if n == m or n.endswith(f".{m}")}
    return found | {p for m in found for p in _parents(m) if p in known}


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


ALL = frozenset({"*"})  # every name of a module (its change could not be narrowed to names)
# Names through which code reaches other names without spelling them: a module using one of them
# depends on every name of the modules it imports.
DYNAMIC_NAMES = frozenset({"globals", "vars", "locals", "eval", "exec", "compile", "getattr", "__import__",
                           "importlib", "sys", "__builtins__"})
DYNAMIC_ATTRIBUTES = frozenset({"__dict__", "__globals__", "__builtins__"})  # `model.eval()` is no lookup


def _bound(statement: ast.stmt) -> set[str] | None:
    """The names a top-level statement binds; None for one that binds no name we can list (an `if`,
    a loop, a `with`, an expression, a star import)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        names = {(a.asname or a.name).split(".")[0] for a in statement.names}
        return None if "*" in names else names
    targets = statement.targets if isinstance(statement, ast.Assign) else [getattr(statement, "target", None)]
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and all(isinstance(t, ast.Name) for t in targets):
        return {t.id for t in targets}
    return None


def _definitions(source: str) -> dict[str, tuple[str, ...]] | None:
    """Top-level name -> the dumps of the statements binding it; other statements under '' (a
    docstring or comment changes nothing here: comments are not in the tree). None: no valid Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: dict[str, tuple[str, ...]] = {}
    for statement in tree.body:
        for name in _bound(statement) or {""}:
            found[name] = found.get(name, ()) + (ast.dump(statement),)
    return found


def changed_names(before: str, after: str) -> frozenset[str]:
    """The top-level names whose binding statements differ between two versions of a module; ALL when
    a statement that binds no listed name changed, or either version is not valid Python."""
    old, new = _definitions(before), _definitions(after)
    if old is None or new is None or old.get("") != new.get(""):
        return ALL
    return frozenset(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))


def _loads(node: ast.AST) -> set[str]:
    """The names code under `node` reads (a DYNAMIC_ATTRIBUTES attribute reads as "globals")."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute) and sub.attr in DYNAMIC_ATTRIBUTES:
            found.add("globals")
        elif isinstance(sub, ast.ImportFrom):
            found |= {a.name for a in sub.names}
    return found


def reached_names(source: str, incoming: frozenset[str]) -> tuple[frozenset[str], bool]:
    """How a change of the names `incoming` of the modules a module imports reaches it (its source):
    (the names of its namespace that change: those its statements bind from reading a changed name,
    transitively, and the changed names a star import passes on; whether its own code reads a changed
    name). ALL and True when `incoming` is ALL, or some are and the module reaches names dynamically
    or a statement that binds no listed name reads one."""
    if not incoming:
        return frozenset(), False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ALL, True
    if incoming == ALL or _loads(tree) & DYNAMIC_NAMES:
        return ALL, True
    star = any(isinstance(st, ast.ImportFrom) and any(a.name == "*" for a in st.names) for st in tree.body)
    statements = [(_bound(st), _loads(st)) for st in tree.body
                  if not (isinstance(st, ast.ImportFrom) and any(a.name == "*" for a in st.names))]
    reached: set[str] = set()
    reads, grew = False, True
    while grew:
        grew = False
        for bound, loads in statements:
            if loads & (incoming | reached):
                if bound is None:
                    return ALL, True
                reads = True
                grew |= not bound <= reached
                reached |= bound
    return frozenset(reached | (incoming if star else set())), reads


def _closed(source: str, names: frozenset[str]) -> frozenset[str]:
    """`names` of a module and its names that read them (reached_names within the module itself)."""
    reached, _unused = reached_names(source, names)
    return ALL if ALL in (names, reached) else names | reached


def affected_exercises(changed: set[str], texts: dict[str, str], before: dict[str, str] | None = None) -> set[str]:
    """The exercises whose checks can change when the modules in `changed` change: theirs, those of
    every module importing them (transitively), and every check that runs their code (`uses`).
    With `before` (the modules' texts before the save), an importing module counts only when its code
    reads a name whose definition changed (a notebook's modules star-import every earlier cell: a
    comment, or a fix inside one function, no longer re-grades every exercise after it)."""
    if PACKAGE_INIT in changed:  # run before every module of the package: every exercise
        return {ex.id for ex in EXERCISES}
    if before is None:
        reach = {m: ALL for m in changed}
    else:  # what changed in the text, and what reads it within the same module
        reach = {m: _closed(texts.get(m, ""), changed_names(before.get(m, ""), texts.get(m, ""))) for m in changed}
    affected, todo = set(changed), list(reach)
    known = set(texts) | set(changed)
    while todo:
        source = todo.pop()
        for m, text in texts.items():
            if m == source or source not in imported_modules(text, known):
                continue
            names, reads = reached_names(text, reach[source])
            affected |= {m} if reads else set()
            old = reach.get(m)
            new = names if old is None else ALL if ALL in (names, old) else old | names
            if names and new != old:
                reach[m] = new
                todo.append(m)
    exercises = {ex.id for ex in EXERCISES if ex.module in affected}
    # a check that runs other exercises' code (the pipeline's runs 4 and 5a-5d) is re-graded with them
    return exercises | {c.exercise for c in CHECKS if exercises & set(c.uses)}


class Watcher:
    """The warm state: one sandbox template, the latest outcome of every check, the files' state."""

    def __init__(self, target: Path, sandbox: Sandbox | None = None, checks: list[Check] = CHECKS) -> None:
        self.target = Path(target)
        self.checks = checks
        self.sandbox = sandbox if sandbox is not None else Sandbox(wait=False, threads=WATCH_THREADS)
        self.work = Path(tempfile.mkdtemp(prefix="logreg_watch_"))
        self.outcomes: dict[str, Outcome] = {}
        self.stamp = self._stamp()
        self.texts = module_texts(self._folder())
        self.before = self.texts

    def _stamp(self) -> tuple[tuple[str, int, int], ...]:
        """(name, mtime, size) of the files that make the submission: cheap to poll."""
        paths = [self.target] if self.target.is_file() else sorted(self.target.rglob("*.py"))
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
        changed = {m for m in texts.keys() | self.texts.keys() if texts.get(m) != self.texts.get(m)}
        self.before, self.texts = self.texts, texts
        return changed

    def affected(self, changed: set[str]) -> set[str]:
        """The exercises the last save (`changed`, from changed()) can change (affected_exercises, by name)."""
        return affected_exercises(changed, self.texts, self.before)

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
            print(_("FAILED {check}", check=outcome.check.display_name) + "\n" +
                  "\n".join("    " + line for line in outcome.message.splitlines()))
    print("\n".join(report.summary_lines(hidden_points()) + hidden_note()))
    print(_("[{what}: {count} check(s) in {seconds:.2f} s; watching {target}, Ctrl-C to stop]", what=_(what), count=len(ran),
            seconds=seconds, target=report.label), flush=True)


def watch(target: Path, poll_s: float = POLL_S, rounds: int | None = None) -> Watcher:
    """Grade `target`, then re-grade what changes on every save (`rounds`: stop after that many re-grades)."""
    weak = bwrap_status().weak_line()
    if weak:
        print(weak, flush=True)
    watcher = Watcher(target)
    try:
        start = time.monotonic()
        show(watcher.grade(), watcher.report(), time.monotonic() - start, N_("graded"))
        done = 0
        while rounds is None or done < rounds:
            time.sleep(poll_s)
            changed = watcher.changed()
            if not changed:
                continue
            exercises = watcher.affected(changed)
            names = ", ".join(said_label(e) for e in sorted(exercises))
            files = ", ".join(sorted(m + ".py" for m in changed))
            print("\n" + _("changed: {files}; re-grading exercise(s) {exercises}", files=files, exercises=names), flush=True)
            start = time.monotonic()
            show(watcher.grade(exercises), watcher.report(), time.monotonic() - start, N_("re-graded"))
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
    parser.add_argument("--lang", default=None, help=f"the language of the feedback: {', '.join(available_languages())} "
                        "(default: from LANGUAGE, LC_ALL, LC_MESSAGES or LANG, else en)")
    args = parser.parse_args(argv)
    try:
        set_language(args.lang)
    except UnknownLanguage as err:
        parser.error(str(err))
    SETTINGS.data = args.data
    watch(Path(args.target), args.poll)
    return 0


if __name__ == "__main__":
    sys.exit(main())
