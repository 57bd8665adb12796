"""Implementations under test: the exercise modules of a package, a folder or a namespace.

An implementation answers four questions: what object does a name refer to (`get`),
what is the source text of a module (`source`), is a file part of it (`owns`), and
which of its globals can be swapped for trusted stand-ins while one exercise is
tested apart from the others (`substituted`).
"""
import importlib
import importlib.util
import itertools
import sys
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .exercises import MODULE_OF, MODULES

_counter = itertools.count()


class ImplementationError(Exception):
    """A name the checks need cannot be had: its module failed to import, or it is missing."""


def describe_import_error(module: str, err: BaseException) -> str:
    """One line on why `module.py` could not be imported, with the student's line number."""
    if isinstance(err, SyntaxError):
        where = f"line {err.lineno}" if err.lineno else "unknown line"
        return f"{module}.py has a syntax error at {where}: {err.msg}"
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.endswith(f"{module}.py")]
    where = f" (line {frames[-1].lineno})" if frames else ""
    return f"{module}.py could not be imported: {type(err).__name__}: {err}{where}"


def _placeholder(module: str, why: str) -> types.ModuleType:
    """Stands in for a module that failed to import, so the modules importing from it still load;
    each of its names raises ImplementationError when called."""
    stand_in = types.ModuleType(module)

    def make(name: str) -> Any:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise ImplementationError(f"{name} is unavailable: {why}")

        return unavailable

    for name, home in MODULE_OF.items():
        if home == module:
            setattr(stand_in, name, make(name))
    return stand_in


class PackageImplementation:
    """The four exercise modules of an importable package or of a folder holding a copy of one."""

    def __init__(self, target: str | Path) -> None:
        self.label = str(target)
        self.root, self.package = self._locate(target)
        self.modules: dict[str, types.ModuleType] = {}
        self.errors: dict[str, str] = {}
        for module in MODULES:
            try:
                self.modules[module] = importlib.import_module(f"{self.package}.{module}")
            except BaseException as err:  # noqa: BLE001 - any failure is the submission's
                if isinstance(err, KeyboardInterrupt) and not self._raised_in_module(err, module):
                    raise
                self.errors[module] = describe_import_error(module, err)
                sys.modules[f"{self.package}.{module}"] = _placeholder(module, self.errors[module])

    def _raised_in_module(self, err: BaseException, module: str) -> bool:
        return any(f.filename == str(self.root / f"{module}.py") for f in traceback.extract_tb(err.__traceback__))

    @staticmethod
    def _locate(target: str | Path) -> tuple[Path, str]:
        """(folder, import name): a folder is loaded as a fresh package under a unique name."""
        path = Path(target)
        if not path.is_dir():
            spec = importlib.util.find_spec(str(target))
            if spec is None or not spec.submodule_search_locations:
                raise ImplementationError(f"{target}: neither a folder nor an importable package")
            return Path(list(spec.submodule_search_locations)[0]).resolve(), str(target)
        root = path.resolve()
        name = f"logreg_submission_{next(_counter)}"
        init = root / "__init__.py"
        package = types.ModuleType(name)
        package.__path__ = [str(root)]
        package.__file__ = str(init)
        package.__package__ = name
        sys.modules[name] = package
        if init.is_file():
            try:
                exec(compile(init.read_text(errors="replace"), str(init), "exec"), package.__dict__)
            except Exception:  # noqa: BLE001 - a broken __init__ must not hide the modules
                pass
        return root, name

    def get(self, name: str) -> Any:
        module = MODULE_OF[name]
        if module in self.errors:
            raise ImplementationError(self.errors[module])
        if not hasattr(self.modules[module], name):
            raise ImplementationError(f"{name} is not defined in {module}.py")
        return getattr(self.modules[module], name)

    def source(self, module: str) -> str | None:
        path = self.root / f"{module}.py"
        try:
            return path.read_text()
        except (OSError, UnicodeDecodeError):
            return None

    def owns(self, filename: str) -> bool:
        return filename.startswith(str(self.root) + "/")

    @contextmanager
    def substituted(self, **stand_ins: Any) -> Iterator[None]:
        """Swap module globals for trusted stand-ins (e.g. log_softmax inside logreg.py)."""
        saved: list[tuple[dict[str, Any], str, Any]] = []
        for module in self.modules.values():
            for name, value in stand_ins.items():
                if name in module.__dict__:
                    saved.append((module.__dict__, name, module.__dict__[name]))
                    module.__dict__[name] = value
        try:
            yield
        finally:
            for namespace, name, value in saved:
                namespace[name] = value
