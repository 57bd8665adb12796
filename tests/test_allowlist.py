"""The from-scratch rule as an allowlist (logreg_kit/scratch.py): what it reads and how it decides,
on source text alone (the mutants and the sandbox attack suite grade the same holes end to end)."""
from pathlib import Path

import pytest

from logreg_kit.exercises import EXERCISES
from logreg_kit.paths import SOLUTIONS
from logreg_kit.scratch import allowlist_violations, read_sources

REFERENCE = {p.name: p.read_text() for p in SOLUTIONS.glob("*.py")}
SOFTMAX_BODY = "    e = torch.exp(x)\n    return e / e.sum(dim=1)[:, None]"


def judged(exercise: str, edits: dict[str, str] | None = None, body: str | None = None) -> str:
    """The messages for `exercise` on the reference with whole files replaced and/or softmax's body."""
    files = dict(REFERENCE) | (edits or {})
    if body is not None:
        files["softmax.py"] = files["softmax.py"].replace(SOFTMAX_BODY, body, 1)
    return "\n".join(allowlist_violations(tuple(sorted(files.items())), exercise))


def test_the_reference_breaks_no_rule() -> None:
    for ex in EXERCISES:
        assert judged(ex.id) == "", ex.id


@pytest.mark.parametrize("body, message", [
    ("    return torch.nn.functional.softmin(-x, dim=1)", "line 13 uses torch.nn.functional.softmin"),
    ("    return x.softmax(1)", "uses torch.Tensor.softmax, which exercise 3 asks you to write yourself"),
    ("    return type(x).softmax(x, 1)", "uses torch.Tensor.softmax"),
    ("    return getattr(torch, 'soft' + 'max')(x, 1)", "uses getattr(): reflection"),
    ("    return vars(torch)['softmax'](x, 1)", "uses vars(): reflection"),
    ("    return torch.__dict__['softmax'](x, 1)", "uses .__dict__: reflection"),
    ("    object.__setattr__(x, 'y', 1)\n    return x", "uses .__setattr__: reflection"),
    ("    return torch.sys.modules['torch'].softmax(x, 1)", "uses torch.sys.modules: reflection"),
    ("    import importlib\n    return x", "imports importlib, which a submission may not import"),
    ("    import logreg_kit\n    return x", "imports logreg_kit"),
    ("    return [torch][0].softmax(x, 1)", "uses torch, which is not among what exercise 3 may use"),
    ("    open('/etc/passwd')\n    return x", "uses open()"),
    ("    return getattr(x, 'softmax')(1)", "uses torch.Tensor.softmax"),
    ("    return getattr(x, '__class__').softmax(x, 1)", "uses .__class__: reflection"),
    ("    return __builtins__['eval']('x')", "uses __builtins__: reflection"),
])
def test_what_exercise_3_may_not_reach(body: str, message: str) -> None:
    assert message in judged("3", body=body)


def test_own_code_is_followed_into_other_files_and_left_alone_where_plain() -> None:
    helper = "import torch\n\n\ndef rows(x):\n    return x.exp() / x.exp().sum(dim=1, keepdim=True)\n"
    softmax = REFERENCE["softmax.py"].replace("import torch\n", "import torch\n\nfrom .helpers import rows\n", 1)
    assert judged("3", {"helpers.py": helper, "softmax.py": softmax}, "    return rows(x)") == ""
    cheat = helper.replace("x.exp() / x.exp().sum(dim=1, keepdim=True)", "torch.nn.functional.softmin(-x, 1)")
    assert "helpers.py line 5 uses torch.nn.functional.softmin" in judged(
        "3", {"helpers.py": cheat, "softmax.py": softmax}, "    return rows(x)")
    assert judged("4", {"helpers.py": cheat, "softmax.py": softmax}, "    return rows(x)") == ""  # 3's, not 4's


def test_a_module_level_change_to_a_library_fails_its_module() -> None:
    swapped = REFERENCE["softmax.py"] + "\ntorch.exp = torch.nn.functional.softmin\n"
    assert "changes torch.exp, a library's own attribute" in judged("3x", {"softmax.py": swapped})
    assert "softmax.py line 31 changes torch.exp" in judged("4", {"softmax.py": swapped})  # logreg.py imports it
    assert judged("5a", {"softmax.py": swapped}) == ""  # sgd.py does not


def test_names_a_student_binds_are_not_builtins() -> None:
    own_sum = "    sum = torch.exp(x)\n    return sum / sum.sum(dim=1, keepdim=True)"
    assert judged("3", body=own_sum) == ""
    assert "uses the builtin input()" in judged("3", body="    input()\n    return x")


def test_every_file_is_read_as_python_decodes_it(tmp_path: Path) -> None:
    (tmp_path / "softmax.py").write_bytes(b"# -*- coding: utf-7 -*-\n# +AAo-import os\n")
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n")
    (tmp_path / "broken.py").write_bytes(b"# -*- coding: no-such-codec -*-\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.py").write_text("import os\n")
    found = read_sources(tmp_path, 2**20)
    assert found["softmax.py"].splitlines()[2] == "import os"  # what Python runs, not what UTF-8 shows
    assert found["latin.py"].endswith("'\u00e9'\n") and found["broken.py"] is None
    assert "__pycache__/x.py" not in found
    softmax = (tmp_path / "softmax.py").read_bytes().decode("utf-7")
    assert "softmax.py line 3 imports os" in judged("3", {"softmax.py": softmax})


def test_a_name_bound_by_a_walrus_at_module_level_is_the_exercises_code() -> None:
    """`(softmax := ...)` is an expression statement that rebinds an exercise name (the notebook
    converter keeps such statements): the rule reads it like `softmax = ...`."""
    walrus = REFERENCE["softmax.py"] + "\n(softmax := lambda x: torch.nn.functional.softmin(-x, dim=1))\n"
    assert "uses torch.nn.functional.softmin" in judged("3", {"softmax.py": walrus})
    nested = REFERENCE["softmax.py"] + "\nprint([softmax := lambda x: torch.nn.functional.softmin(-x, dim=1)])\n"
    assert "uses torch.nn.functional.softmin" in judged("3", {"softmax.py": nested})
