"""The backend factory: which backend grades a target, chosen above the backends themselves.

The kit's own reference (the bare name `solutions`, found by the kit's own path, never in the
working directory) runs in this process (`backend.LocalBackend`); anything else, a folder called
`solutions` given as a path included, runs in the hardened sandbox (`sandbox.remote.RemoteBackend`)
unless `in_process` is asked for (debugging only: student code then shares the grader's process).

The factory opens package targets only: what a student handed in (a notebook, a zip, a repository)
is turned into one by the one intake first (`intake.take_in`). `open_submission` is the two steps
together, as the pytest plugin and `logreg-kit check` take them.
"""
import atexit
from pathlib import Path
from typing import Any

from .backend import Backend, LocalBackend, UnavailableBackend
from .i18n import _
from .impl import REFERENCE, ImplementationError
from .intake import IntakeError, Package, Released, take_in
from .paths import student_code_unsandboxed
from .sandbox.remote import RemoteBackend


def open_backend(target: str | Path | Package, in_process: bool = False, sandbox: Any = None) -> Backend:
    """The backend for a package target (or a Package from the intake, labelled by what was handed in).
    `sandbox`: a `sandbox.Sandbox` already started (say, while this process imported torch) for the
    sandboxed route to use; its owner closes it."""
    if isinstance(target, Package):
        backend = open_backend(target.target, in_process, sandbox)
        if target.label != target.target:
            backend.label = backend.label.replace(target.target, target.label)
        return backend
    if Path(target).is_file():
        raise ValueError(_("{target} is a file, not a package folder: take it in first (logreg_kit.intake.take_in)",
                           target=target))
    if isinstance(target, str) and target == REFERENCE:  # the kit's own, by its path
        return LocalBackend(target)
    if in_process:  # debugging only: the student's code runs here, with this user's rights
        student_code_unsandboxed()  # before its import: its atexit hooks run before ours
        return LocalBackend(str(target))
    return RemoteBackend(target, sandbox=sandbox)


def open_submission(source: str | Path, in_process: bool = False, sandbox: Any = None,
                    released: Released | None = None) -> Backend:
    """The backend for whatever was handed in: the one intake, then `open_backend`. A submission that
    cannot be taken in or opened becomes an UnavailableBackend (every check fails with the reason).
    A temporary folder the intake made is removed when this process ends."""
    try:
        package = take_in(source, released=released)
    except IntakeError as err:
        return UnavailableBackend(str(source), _("the submission could not be opened: {why}", why=err))
    if package.made is not None:
        atexit.register(package.discard)
    try:
        return open_backend(package, in_process, sandbox)
    except (ValueError, ImplementationError, OSError) as err:
        return UnavailableBackend(str(source), _("the submission could not be opened: {why}", why=err))


def open_backend_or_explain(target: str, in_process: bool = False, sandbox: Any = None) -> Backend:
    """`open_submission` under the name the pytest plugin knew (kept for its callers)."""
    return open_submission(target, in_process, sandbox)
