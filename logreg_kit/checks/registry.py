"""Checks: plain functions over a Student, each with its exercise, title and points declared once."""
import ast
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch

from ..backend import Backend, StudentError
from ..data import Split, load_split
from ..exercises import BY_ID, MODULE_OF, label, said_label
from ..feedback import NOT_IMPLEMENTED, fail
from ..i18n import _, mentions
from ..recorded import default_reference
from ..tripwire import VIOLATION_WORDS


class Student:
    """The implementation under test, seen by one check: calls and probes run through its backend
    with the from-scratch rule of the exercises the check exercises."""

    def __init__(self, backend: Backend, exercises: tuple[str, ...]) -> None:
        self.backend = backend
        self.exercises = exercises
        self.artifacts: dict[str, Any] = {}  # plain data a check keeps for reports (Outcome.artifacts)

    def call(self, name: str, *args: Any) -> Any:
        """name(*args) in the implementation; returns plain data."""
        return self.backend.run(self.exercises, "call", name, *args)

    def probe(self, probe: str, *args: Any) -> Any:
        return self.backend.run(self.exercises, probe, *args)

    def call_many(self, name: str, cases: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
        """name(*args) for each args in `cases` in one round trip: ("ok", result) or ("error", message) each."""
        return self.backend.run(self.exercises, "call_many", name, cases)

    def module_tree(self, qualname: str) -> ast.Module | None:
        """The parsed module that defines `qualname` in the submitted source (never executed here)."""
        source = self.backend.source(MODULE_OF[qualname.split(".")[0]])
        try:
            return ast.parse(source) if source is not None else None
        except (SyntaxError, ValueError):
            return None

    def function_node(self, qualname: str) -> ast.FunctionDef | ast.ClassDef | None:
        """The AST of a function or class from the submitted source (never executed here)."""
        source = self.backend.source(MODULE_OF[qualname.split(".")[0]])
        if source is None:
            return None
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return None
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == qualname:
                return node
        return None


# A meta tensor holds no data, so a Python number read from one (.item(), float(), int()) raises this;
# such a number is device-free, so the code may still run on every real device: not decidable on meta.
META_HAS_NO_NUMBER = "Tensor.item() cannot be called on meta tensors"
UNDECIDED = object()  # on_meta's result when the device check cannot be decided on `meta`


def on_meta(student: Student, probe: str, *args: Any) -> Any:
    """student.probe(probe, *args) for a device check: an error raised on the `meta` device is a
    device failure (code hard-wired to one device raises there), so it gets the device hint; a
    Python number read from a tensor (META_HAS_NO_NUMBER) is no device failure: UNDECIDED, which
    the check passes."""
    try:
        return student.probe(probe, *args)
    except StudentError as err:
        if mentions(str(err), VIOLATION_WORDS) or mentions(str(err)[:60], NOT_IMPLEMENTED):  # not the device's doing
            raise
        if META_HAS_NO_NUMBER in str(err):
            return UNDECIDED
        fail(_("on the meta device: {error}", error=err), "device")


@dataclass(frozen=True)
class Check:
    """One check. `title` and `hint` are English (msgids declared with N_(); a title with
    {placeholders} keeps its msgid in `title_msgid` and its values in `title_params`); `heading` and
    `shown_hint` say them in the current language; `name` stays English: it identifies the check
    (test ids, gradebook columns, the batch's lookups) in every language."""

    exercise: str
    function: str
    title: str
    points: float
    hint: str
    fn: Callable[[Student], None]
    uses: tuple[str, ...] = ()  # exercises whose code the check runs (from-scratch rules apply)
    # "cuda": skipped with a reason where there is none; "meta": runs the student's code on the `meta`
    # device, whose first use imports torch._dynamo: a sandboxed backend runs it in a worker forked
    # after the template paid that (harness.run_check), and the self-check runs it last
    needs: str | None = None
    visibility: str = "public"
    hint_for: tuple[str, ...] = ()  # the failure kinds (feedback.KINDS) the hint is about; () for every kind
    title_msgid: str = ""  # the title as declared, when it has {placeholders} (title_params fills them)
    title_params: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return f"{label(self.exercise)} {self.function}: {self.title}"

    @property
    def heading(self) -> str:
        """What the check checks, in the current language."""
        return _(self.title_msgid, **dict(self.title_params)) if self.title_msgid else _(self.title)

    @property
    def display_name(self) -> str:
        """`name` in the current language, for a reader (a report's line, not a key)."""
        return f"{said_label(self.exercise)} {self.function}: {self.heading}"

    @property
    def shown_hint(self) -> str:
        return _(self.hint)

    @property
    def test_id(self) -> str:
        return f"{self.exercise}-{self.fn.__name__}"


CHECKS: list[Check] = []
VISIBILITIES = ("public", "hidden")


def check(
    exercise: str,
    function: str,
    title: str,
    points: float,
    hint: str,
    uses: tuple[str, ...] = (),
    needs: str | None = None,
    visibility: str = "public",
    hint_for: tuple[str, ...] = (),
    title_params: dict[str, Any] | None = None,
) -> Callable[[Callable[[Student], None]], Callable[[Student], None]]:
    """Register a check; its points, title, hint and visibility are declared here and nowhere else.

    visibility: "public" checks ship in the student bundle (`logreg-kit release`); "hidden" checks run
    only at grading time and never print expected values. hint_for: the kinds of failure
    (feedback.KINDS) the hint speaks about; a failure of another kind gets a hint about its own kind.
    title and hint are English, marked with N_() for the catalogue (said through _() when shown);
    title_params fills the title's {placeholders}.
    """
    if exercise not in BY_ID:
        raise KeyError(exercise)
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")

    def register(fn: Callable[[Student], None]) -> Callable[[Student], None]:
        params = tuple(sorted((title_params or {}).items()))
        english = title.format(**dict(params)) if params else title
        CHECKS.append(Check(exercise, function, english, points, hint, fn, uses or (exercise,), needs, visibility, hint_for,
                            title if params else "", params))
        return fn

    return register


def reference() -> Student:
    """The reference, run in this trusted process with no from-scratch rules: the solutions in the
    course repository, or the values recorded from them in a student bundle (logreg_kit.recorded)."""
    if SETTINGS.reference is None:
        SETTINGS.reference = default_reference()
    return Student(SETTINGS.reference, ())


@dataclass
class Settings:
    data: str = "embedded"
    extra: dict[str, Any] = field(default_factory=dict)
    reference: Backend | None = None  # set on first use of reference(); a recorder swaps it in


SETTINGS = Settings()


@lru_cache(maxsize=4)
def _split(source: str) -> Split:
    return load_split(source)


_SPLIT_LOCK = threading.Lock()  # one load, however many threads ask (prefetch_grader_data)


def grader_data() -> Split:
    """The grader's train/validation split (validation labels stay in this process)."""
    with _SPLIT_LOCK:
        return _split(SETTINGS.data)


def prefetch_grader_data() -> None:
    """Start-up deferral: load grader_data() in a thread now, while the first checks wait on the
    worker's answers, rather than in the first check that trains (5c, about 0.1 s)."""
    threading.Thread(target=_load_quietly, name="logreg-kit-data", daemon=True).start()


def _load_quietly() -> None:
    """grader_data() for the prefetch: a source that cannot be read is said by the checks that need it."""
    try:
        grader_data()
    except Exception:  # noqa: BLE001 - the first check that asks for the data raises it again, with its message
        pass


def random_tensor(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator) * scale
