"""Similarity between submissions, on the code students wrote (regions.py), with copydetect.

copydetect (pip `copydetect`, MIT) implements winnowing, the fingerprinting algorithm behind MOSS,
over pygments tokens with names and strings normalised, so renamed variables and changed
layout or comments do not hide a copy. It runs offline in this process (MOSS is a remote
service; JPlag needs Java; Dolos needs Node; pycode_similar compares ASTs of whole functions
and reports no overlapping spans to show).

Code that is also in the reference's solution regions is boilerplate (copydetect drops its
fingerprints): two students who both wrote the expected solution have not copied each other.
A submission whose code is the reference's (layout and comments aside) or is empty (the
stubs) is marked as such and paired with no one. A flag is a prompt to look, not a verdict.
"""
import io
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from copydetect import CodeFingerprint, compare_files
from copydetect.utils import filter_code, get_token_coverage
from pygments import token
from pygments.lexers import PythonLexer

from .regions import as_document, reference_regions

NOISE_TOKENS = 25  # copydetect's noise threshold k: shorter matches are ignored
# Every k-gram is kept (winnowing window 1): student regions are small, and copydetect hashes
# with Python's salted hash(), so the k-grams a wider window picks, and the shares, would change
# from one process to the next; with all of them kept, `merge` reports what one run reports.
WINDOW = 1
THRESHOLD = 0.5  # a pair is flagged when both submissions share at least this share of their own code
MIN_OVERLAP_TOKENS = 20  # ... and at least this many tokens: tiny fragments are not flagged
NAME = "submission.py"  # tells pygments the language


@dataclass
class Doc:
    student: str
    code: str
    normalised: str
    fingerprint: Any


def _fingerprint(code: str, boilerplate: frozenset[int] = frozenset()) -> Any:
    """copydetect's fingerprint of `code` without the k-grams in `boilerplate`. Removed here, not
    by copydetect's own `boilerplate=` (its set intersection assumes unique hashes, which a
    window of 1 does not give, and then keeps some boilerplate depending on hash order)."""
    found = CodeFingerprint(NAME, NOISE_TOKENS, WINDOW, fp=io.StringIO(code))
    found.hashes = found.hashes - boilerplate
    found.hash_idx = {h: i for h, i in found.hash_idx.items() if h not in boilerplate}
    found.token_coverage = get_token_coverage(found.hash_idx, NOISE_TOKENS, len(found.filtered_code))
    return found


def normalised(code: str) -> str:
    """The token stream copydetect compares: names as V/F/O, strings as S, no layout or comments."""
    return filter_code(code, NAME)[0] if code.strip() else ""


def layout_free(code: str) -> str:
    """The code's tokens with names kept, without layout and comments: equal for the same code
    however it is spaced or commented (`np.sum` and `np.mean` stay apart)."""
    kept = [text for kind, text in PythonLexer().get_tokens(code) if kind not in token.Text and kind not in token.Comment]
    return " ".join(kept)


def reference_boilerplate() -> tuple[str, frozenset[int]]:
    """The reference's code without layout, and its fingerprints (dropped from every submission)."""
    code = as_document(reference_regions())
    return layout_free(code), frozenset(_fingerprint(code).hashes)


def _slices(raw: Any) -> list[list[int]]:
    """copydetect's (2, n) start/end array as [[start, end], ...] in the raw code."""
    return [[int(a), int(b)] for a, b in zip(raw[0], raw[1])] if len(raw) and len(raw[0]) else []


def compare_class(regions: dict[str, dict[str, str]], threshold: float = THRESHOLD) -> dict[str, Any]:
    """{"marks": {student: "reference" | "stubs"}, "pairs": [...], "compared": n}, pairs above
    `threshold` ordered by similarity (the smaller of the two shares), each with both codes and
    the overlapping spans [[start, end], ...] in each."""
    ref_layout, boilerplate = reference_boilerplate()
    marks, docs = {}, []
    for student in sorted(regions):
        code = as_document(regions[student])
        norm = normalised(code)
        if not norm:
            marks[student] = "stubs"
        elif layout_free(code) == ref_layout:
            marks[student] = "reference"
        else:
            docs.append(Doc(student, code, norm, _fingerprint(code, boilerplate)))
    pairs = [pair for a, b in combinations(docs, 2) if (pair := compare_pair(a, b)) and pair["similarity"] >= threshold]
    pairs.sort(key=lambda p: (-p["similarity"], -p["tokens"], p["a"], p["b"]))
    return {"marks": marks, "pairs": pairs, "compared": len(docs), "threshold": threshold}


def compare_pair(a: Doc, b: Doc) -> dict[str, Any] | None:
    """The overlap of two submissions, or None when they share fewer than MIN_OVERLAP_TOKENS."""
    tokens, share, raw = compare_files(a.fingerprint, b.fingerprint)
    spans = (_slices(raw[0]), _slices(raw[1]))
    if int(tokens) < MIN_OVERLAP_TOKENS:
        return None
    return {"a": a.student, "b": b.student, "similarity": round(float(min(share)), 3),
            "shares": [round(float(s), 3) for s in share], "tokens": int(tokens),
            "identical": a.normalised == b.normalised, "code": [a.code, b.code], "spans": [spans[0], spans[1]]}
