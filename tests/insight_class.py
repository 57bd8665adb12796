"""A class built from the catalogues, for the class overview's tests, benchmark and screenshot.

Thirty submissions: the reference twice, the untouched stubs, correct variants (tests/variants.py),
mutants (tests/mutants.py), and three planted copies of one wrong submission (PLANTED), the third
renamed and reformatted. The mutants are chosen so that no exercise is lost by more than
OTHERS_PER_EXERCISE of them and none loses the planted one's exercise: the planted mistake's
checks must then top the failure table (3 copies + the stubs against at most 2 + the stubs).
"""
import shutil
from collections import Counter
from pathlib import Path

from logreg_kit.paths import ASSIGNMENTS

from .conftest import make_submission
from .mutants import MUTANTS, Mutant
from .variants import VARIANTS

PLANTED = "categorical if: vectorised, no if"
PLANTED_COPIES = ("planted_a", "planted_b", "planted_c")
OTHERS_PER_EXERCISE = 2
REFERENCES = ("ref_1", "ref_2")
# the third copy: its own names and layout (what a student hiding a copy does)
RENAMES = [("    total = 0.0\n    for label, row in zip(y, p):\n        for k, prob in enumerate(row):\n"
            "            total -= np.log(prob) * (k == label)\n    return float(total / len(y))",
            "    acc = 0.0   # running sum\n\n    for cls, probs in zip(y, p):\n        for j, q in enumerate(probs):\n"
            "            acc -= np.log( q ) * ( j == cls )\n    return float( acc / len( y ) )"),
           ("    return float(np.mean(-np.log(np.asarray(p)[np.arange(len(y)), y])))",
            "    # vectorised, faster\n    return float(\n        np.mean(\n            -np.log(np.asarray(p)[np.arange(len(y)), y])\n"
            "        )\n    )")]


def planted() -> Mutant:
    return next(m for m in MUTANTS if m.name == PLANTED)


def other_mutants(limit: int) -> list[Mutant]:
    """Mutants that do not lose the planted one's exercises, at most OTHERS_PER_EXERCISE per exercise."""
    taken: Counter[str] = Counter()
    chosen = []
    for m in MUTANTS:
        if m.loses & planted().loses or any(taken[e] >= OTHERS_PER_EXERCISE for e in m.loses):
            continue
        chosen.append(m)
        taken.update(m.loses)
    return chosen[:limit]


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")[:40]


def build_class(folder: Path, size: int = 30) -> dict[str, str]:
    """Write the class into `folder`; returns {student id: what it is}."""
    folder.mkdir(parents=True)
    made = {}
    for name in REFERENCES:
        make_submission(folder / name)
        made[name] = "reference"
    shutil.copytree(ASSIGNMENTS, folder / "stubs", ignore=shutil.ignore_patterns("__pycache__"))
    made["stubs"] = "stubs"
    for name in PLANTED_COPIES:
        edits = {module: list(pairs) for module, pairs in planted().edits.items()}
        if name == PLANTED_COPIES[-1]:
            edits["losses"] = edits["losses"] + RENAMES
        make_submission(folder / name, edits)
        made[name] = f"planted: {PLANTED}"
    mutants = other_mutants(size)
    variants = [v for v in VARIANTS if not v.files]
    free = size - len(made)
    n_mutants = min(len(mutants), free - min(len(variants), free // 3))
    for i, m in enumerate(mutants[:n_mutants]):
        name = f"m{i:02d}_{slug(m.name)}"
        make_submission(folder / name, m.edits)
        made[name] = f"mutant: {m.name}"
    for i, v in enumerate(variants[: size - len(made)]):
        name = f"v{i:02d}_{slug(v.name)}"
        make_submission(folder / name, v.edits)
        made[name] = f"variant: {v.name}"
    return made
