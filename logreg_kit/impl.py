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
from .i18n import _
from .paths import SOLUTIONS

_counter = itertools.count()
REFERENCE = "solutions"  # the target name of the kit's own reference, found by the kit's path only
REFERENCE_PACKAGE = "logreg_kit_reference"  # its import name: no `solutions` on sys.path can stand in


class ImplementationError(Exception):
    """A name the checks need cannot be had: its module failed to import, or it is missing."""


def describe_import_error(module: str, err: BaseException) -> str:
    """One line on why `module.py` could not be imported, with the student's line number ("line N"
    is written alike in every language: notebooks.in_cells names the notebook's cell from it)."""
    file = module + ".py"
    if isinstance(err, SyntaxError):
        where = f"line {err.lineno}" if err.lineno else _("unknown line")
        return _("{file} has a syntax error at {where}: {error}", file=file, where=where, error=err.msg)
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.endswith(file)]
    error = f"{type(err).__name__}: {err}"
    if frames:
        where = f"line {frames[-1].lineno}"
        return _("{file} could not be imported: {error} ({where})", file=file, error=error, where=where)
    return _("{file} could not be imported: {error}", file=file, error=error)


def _placeholder(module: str, why: str) -> types.ModuleType:
    """Stands in for a module that failed to import, so the modules importing from it still load;
    each of its names raises ImplementationError when called."""
    stand_in = types.ModuleType(module)

    def make(name: str) -> Any:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise ImplementationError(_("{name} is unavailable: {why}", name=name, why=why))

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
                self.modules[module] = self._checked(importlib.import_module(f"{self.package}.{module}"))
            except BaseException as err:  # noqa: BLE001 - any failure is the submission's
                if isinstance(err, KeyboardInterrupt) and not self._raised_in_module(err, module):
                    raise
                self.errors[module] = describe_import_error(module, err)
                sys.modules[f"{self.package}.{module}"] = _placeholder(module, self.errors[module])

    def _raised_in_module(self, err: BaseException, module: str) -> bool:
        return any(f.filename == str(self.root / f"{module}.py") for f in traceback.extract_tb(err.__traceback__))

    def _checked(self, module: types.ModuleType) -> types.ModuleType:
        """The reference's modules must be the files of the kit's own solutions/."""
        if self.package == REFERENCE_PACKAGE and Path(module.__file__ or "").resolve().parent != self.root:
            raise ImplementationError(_("{module} was loaded from {file}, not from {root}", module=module.__name__,
                                        file=module.__file__, root=self.root))
        return module

    @staticmethod
    def _locate(target: str | Path) -> tuple[Path, str]:
        """(folder, import name): the kit's reference for the bare name `solutions` (never a
        `solutions` folder or package of the working directory: pass a path to grade one of
        those); a folder is loaded as a fresh package under a unique name."""
        if isinstance(target, str) and target == REFERENCE:
            return _reference_package()
        path = Path(target)
        if not path.is_dir():
            spec = importlib.util.find_spec(str(target))
            if spec is None or not spec.submodule_search_locations:
                raise ImplementationError(_("{target}: neither a folder nor an importable package", target=target))
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

    def files(self) -> list[Path]:
        """The source files of the modules that were loaded (what the reference's answers come from)."""
        package = sys.modules.get(self.package)
        modules = [*self.modules.values(), *([package] if package is not None else [])]
        return sorted({Path(m.__file__) for m in modules if getattr(m, "__file__", None) and Path(m.__file__).is_file()})

    def get(self, name: str) -> Any:
        module = MODULE_OF[name]
        if module in self.errors:
            raise ImplementationError(self.errors[module])
        if not hasattr(self.modules[module], name):
            raise ImplementationError(_("{name} is not defined in {file}", name=name, file=module + ".py"))
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


def _reference_package() -> tuple[Path, str]:
    """The kit's own solutions/ (beside logreg_kit/), imported by file path under a private name."""
    root = SOLUTIONS.resolve()
    init = root / "__init__.py"
    if not init.is_file():
        raise ImplementationError(f"the kit's reference is not here ({root}: no such package); "
                                  "a student bundle grades against its recorded answers instead")
    loaded = sys.modules.get(REFERENCE_PACKAGE)
    if loaded is None or Path(getattr(loaded, "__file__", "") or "").resolve() != init:
        spec = importlib.util.spec_from_file_location(REFERENCE_PACKAGE, init, submodule_search_locations=[str(root)])
        if spec is None or spec.loader is None:
            raise ImplementationError(f"{init} cannot be imported")
        package = importlib.util.module_from_spec(spec)
        sys.modules[REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    return root, REFERENCE_PACKAGE
