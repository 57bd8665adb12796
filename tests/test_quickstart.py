"""A new user's first commands: the README's Quick start is what CI runs, and nbgrader's commands
work as written with no venv activated."""
import os
import sysconfig
from pathlib import Path

import pytest

from .conftest import ROOT


def bash_block(markdown: str, heading: str) -> list[str]:
    """The commands of the first ```bash block after `heading`, trailing comments dropped."""
    block = markdown.split(heading, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readmes_quick_start_as_written() -> None:
    readme = bash_block((ROOT / "README.md").read_text(), "## Quick start")
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert len(readme) == 2 and ci[-2:] == readme
    assert not [line for line in ci if "activate" in line or "export PATH" in line]


def test_readme_nbgrader_commands_call_the_venvs_nbgrader() -> None:
    commands = bash_block((ROOT / "README.md").read_text(), "## Instructors: nbgrader")
    assert commands[0] == "cd course"
    assert commands[1:] and all(c.startswith("../.venv/bin/nbgrader ") for c in commands[1:]), commands
    if Path(sysconfig.get_path("scripts")) == ROOT / ".venv" / "bin":  # the kit's own venv: the script is there
        pytest.importorskip("nbgrader")
        assert os.access(ROOT / "course" / "../.venv/bin/nbgrader", os.X_OK)


def test_nbgrader_config_puts_this_interpreters_scripts_first(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nbgrader")
    from logreg_kit.nbgrader_plugin import interpreter_scripts_on_path

    scripts = sysconfig.get_path("scripts")
    monkeypatch.setenv("PATH", os.pathsep.join(["/usr/bin", scripts, "/bin"]))
    assert interpreter_scripts_on_path() == scripts
    assert os.environ["PATH"].split(os.pathsep) == [scripts, "/usr/bin", "/bin"]
    assert os.access(Path(scripts) / "alembic", os.X_OK)  # what nbgrader runs by name
