"""Review B's holes in the from-scratch rule: code the static reading never linked to an exercise.

Each spelling below hid a replaced library function in a name bound where `exercise_code` did not look
(inside `if`/`try`/`for`/`while`/`match` bodies, by a walrus, by `global` in a function, by a star
import of the submission's own module) or in a function no exercise seemed to reach. The unit tests
read the source alone; the sandbox tests grade the reviewer's folders (a1-a4, as edits on the
reference) end to end, and each must earn nothing on the exercises it fakes.
"""
import pytest

from logreg_kit.paths import SOLUTIONS
from logreg_kit.sandbox import bwrap_path
from logreg_kit.scratch import allowlist_violations

from .conftest import make_submission
from .sandbox_support import failures, graded, points

REFERENCE = {p.name: p.read_text() for p in SOLUTIONS.glob("*.py")}
SOFTMAX_BODY = "    e = torch.exp(x)\n    return e / e.sum(dim=1)[:, None]"
NLL_BODY = "    return -log_probs[torch.arange(len(y)), y].mean()"


def judged(exercise: str, top: str = "", body: str = "    return _sm(x, 1)", extra: dict[str, str] | None = None) -> str:
    """The messages for `exercise` with `top` appended to softmax.py and softmax's body replaced."""
    softmax = REFERENCE["softmax.py"].replace(SOFTMAX_BODY, body, 1) + "\n\n" + top
    files = REFERENCE | {"softmax.py": softmax} | (extra or {})
    return "\n".join(allowlist_violations(tuple(sorted(files.items())), exercise))


@pytest.mark.parametrize("top", [
    "(_sm := torch.nn.functional.softmax)\n",
    "try:\n    _sm = torch.nn.functional.softmax\nexcept ImportError:\n    pass\n",
    "for _ in range(1):\n    _sm = torch.nn.functional.softmax\n",
    "while True:\n    _sm = torch.nn.functional.softmax\n    break\n",
    "match 1:\n    case _:\n        _sm = torch.nn.functional.softmax\n",
    "def _setup():\n    global _sm\n    _sm = torch.nn.functional.softmax\n\n\n_setup()\n",
    "if True:\n    def _sm(x, dim):\n        return torch.nn.functional.softmax(x, dim)\n",
], ids=["walrus", "try body", "for body", "while body", "match case", "global in function", "def in if"])
def test_a_name_bound_inside_a_compound_statement_is_read(top: str) -> None:
    assert "uses torch.nn.functional.softmax, which exercise 3 asks you to write yourself" in judged("3", top)


def test_a_decorator_bound_in_an_if_is_read() -> None:
    top = "if True:\n    def _deco(f):\n        return lambda x: torch.nn.functional.softmax(x, 1)\n"
    softmax = REFERENCE["softmax.py"].replace("def softmax(", "@_deco\ndef softmax(", 1)
    softmax = softmax.replace("import torch\n", "import torch\n\n" + top, 1)
    files = REFERENCE | {"softmax.py": softmax}
    assert "uses torch.nn.functional.softmax" in "\n".join(allowlist_violations(tuple(sorted(files.items())), "3"))


def test_a_helper_file_binding_inside_if_true_is_read() -> None:
    helper = "import torch\n\nif True:\n    def rows(x, dim):\n        return torch.nn.functional.softmax(x, dim)\n"
    found = judged("3", "from .helpers import rows as _sm\n", extra={"helpers.py": helper})
    assert "helpers.py line 5 uses torch.nn.functional.softmax" in found


def test_a_star_import_of_an_own_module_carries_its_aliases() -> None:
    sgd = REFERENCE["sgd.py"].replace("from torch import nn\n", "from torch import nn\n\nfrom .softmax import *\n", 1)
    sgd = sgd.replace(NLL_BODY, "    return T.nn.functional.nll_loss(log_probs, y)", 1)
    files = REFERENCE | {"sgd.py": sgd, "softmax.py": REFERENCE["softmax.py"] + "\nT = torch\n"}
    found = "\n".join(allowlist_violations(tuple(sorted(files.items())), "5a"))
    assert "uses torch.nn.functional.nll_loss, which exercise 5a asks you to write yourself" in found


@pytest.mark.parametrize("helper, message", [
    ("def _never():\n    import logreg_kit.tripwire as tw\n    tw._banned = frozenset()\n", "imports logreg_kit"),
    ("def _never():\n    import os\n    return os\n", "imports os, which a submission may not import"),
    ("def _never(f):\n    return f.__globals__\n", "uses .__globals__"),
    ("def _never():\n    return torch._C.DisableTorchFunction()\n", "uses torch._C, a library's private name"),
], ids=["logreg_kit", "os", "__globals__", "torch._C"])
def test_a_function_no_exercise_reaches_is_still_read(helper: str, message: str) -> None:
    assert message in judged("3", helper, body=SOFTMAX_BODY)
    assert message in judged("4", helper, body=SOFTMAX_BODY)  # logreg.py imports softmax.py


def test_a_name_the_grader_cannot_find_is_a_violation() -> None:
    assert "uses `_nowhere`, which the grader cannot find where it is defined" in judged("3", body="    return _nowhere(x)")


# The reviewer's folders, as edits on the reference: each earned 56/56 on integ.
A1 = {"softmax": [("import torch\n", "import torch\nimport torch.nn.functional as F\n\nif True:\n"
                   "    def _lib(x):\n        orig = torch.Tensor.softmax.__wrapped__\n"
                   "        with torch._C.DisableTorchFunction():\n            return orig(x, 1)\n"),
                  (SOFTMAX_BODY, "    return _lib(x)")]}
A2 = {"sgd": [("from torch import nn\n", "from torch import nn\nimport torch.nn.functional as F\n\nif True:\n"
               "    def _lib_nll(log_probs, y):\n        with torch._C.DisableTorchFunction():\n"
               "            return F.nll_loss.__wrapped__(log_probs, y)\n"),
              (NLL_BODY, "    return _lib_nll(log_probs, y)")]}
A3 = {"softmax": [("import torch\n", "import torch\nimport torch.nn.functional as F\n\n\ndef _off(name, x):\n"
                   "    import logreg_kit.tripwire as tw\n    saved, tw._banned = tw._banned, frozenset()\n"
                   "    try:\n        return getattr(F, name)(x, 1)\n    finally:\n        tw._banned = saved\n\n\n"
                   "if True:\n    _use = _off\n"),
                  (SOFTMAX_BODY, "    return _use('softmax', x)")]}
A4 = {"softmax": [("import torch\n", "import torch\n\nT = torch\n")],
      "sgd": [("from torch import nn\n", "from torch import nn\n\nfrom .softmax import *  # noqa: F403\n"),
              (NLL_BODY, "    return T._C._nn.nll_loss_nd(log_probs, y, None, 1, -100)")]}
REVIEW_B = {"a1 if-block softmax": (A1, "3"), "a2 if-block nll_loss": (A2, "5a"),
            "a3 never-read def blanks the tripwire": (A3, "3"), "a4 star-import alias": (A4, "5a")}


@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap (bwrap) is not installed: the sandbox tests need it")
@pytest.mark.parametrize("name", list(REVIEW_B))
def test_review_b_attack_earns_nothing_in_the_sandbox(name, sandbox, tmp_path) -> None:
    edits, exercise = REVIEW_B[name]
    report = graded(sandbox, make_submission(tmp_path / "sub", edits), {exercise})
    assert points(report, exercise) == 0, failures(report)


def test_a_kernels_cells_without_their_imports_are_not_unresolved_names() -> None:
    cell = (("softmax.py", "def softmax(x):\n    e = torch.exp(x)\n    return e / e.sum(1, keepdim=True)\n"),)
    assert allowlist_violations(cell, "3", complete=False) == ()  # the notebook kernel's self-check
    assert "uses `torch`, which the grader cannot find" in "\n".join(allowlist_violations(cell, "3"))
