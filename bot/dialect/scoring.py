"""Scoring for dialect rounds: how well a player's answer turns a dialect sentence into standard Korean.

The metric is character chrF (sacrebleu ``CHRF(word_order=0)``) on normalised text. Character n-grams
suit Korean: an answer that gets most syllables and endings right earns most of the credit, and
sacrebleu drops whitespace before extracting character n-grams, so 띄어쓰기 differences cost nothing.
chrF++ (``word_order=2``) is deliberately *not* used: its word n-grams punish an answer whose only
fault is spacing (``안되나`` vs ``안 되나``), which players should not lose points for.

Raw chrF alone is a poor game score because the dialect sentence and its standard form share most of
their characters. In Chungcheong or Gangwon sentences the dialect often differs only in a few endings
(``그러니께 … 콩을 심었는디 그게 참 잘 됐어유`` vs ``그러니까 … 콩을 심었는데 그게 참 잘 됐어요``), so a
player who copies the dialect sentence unchanged already earns a raw chrF of 70-80 without translating
anything (and a half-hearted edit would look like an excellent answer). We therefore rescale against
that baseline::

    base   = chrF(dialect, reference)          # what copying the prompt earns
    scaled = (raw - base) / (100 - base) * 100  # clamped to [0, 100]

so copying the dialect scores 0, the reference scores 100, and everything in between measures how much
of the *remaining* distance the player covered. Exact matches after normalisation (including an answer
typed without any spaces) short-cut to 100. With several accepted references the best one counts.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from sacrebleu.metrics import CHRF

from bot.dialect.morphs import content_form

__all__ = ["Explanation", "chrf", "explain_answer", "normalise", "points_for", "score_answer"]

# One metric object for the whole process: sentence_score keeps no per-call state, so sharing it is safe
# and avoids re-building it in the hot path (every answer of every round).
_CHRF: Final = CHRF(word_order=0)

# Fullwidth ASCII variants (U+FF01..U+FF5E) map to ASCII by a fixed offset. Folding them by hand instead
# of using NFKC keeps Hangul compatibility jamo (ㅋㅋ, ㅠㅠ) intact, which NFKC would decompose.
_FULLWIDTH_FIRST: Final = 0xFF01
_FULLWIDTH_LAST: Final = 0xFF5E
_FULLWIDTH_OFFSET: Final = 0xFEE0


def _fold_char(ch: str) -> str:
    code = ord(ch)
    if _FULLWIDTH_FIRST <= code <= _FULLWIDTH_LAST:
        ch = chr(code - _FULLWIDTH_OFFSET)
    # Punctuation and symbols (P*, S*) become a space so "그래...알았어" keeps its two words.
    if unicodedata.category(ch)[0] in "PS":
        return " "
    return ch


def normalise(text: str) -> str:
    """NFC, fullwidth ASCII folded, punctuation/symbols dropped, whitespace collapsed and stripped.

    Letters (Hangul included), digits and combining marks are kept untouched; case is kept too.
    """
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(_fold_char(ch) for ch in text).split())


def _chrf_normalised(hypothesis: str, reference: str) -> float:
    if not hypothesis or not reference:
        return 100.0 if hypothesis == reference else 0.0
    return float(_CHRF.sentence_score(hypothesis, [reference]).score)


def chrf(hypothesis: str, reference: str) -> float:
    """Character chrF (no word n-grams) of ``hypothesis`` vs ``reference`` on normalised text, 0..100."""
    return _chrf_normalised(normalise(hypothesis), normalise(reference))


def _nospace(text: str) -> str:
    return text.replace(" ", "")


def _rescaled(raw: float, base: float) -> float:
    """``raw`` as the share of the distance from copying the dialect (``base``) to the reference."""
    if base >= 100.0:
        return raw
    return min(100.0, max(0.0, (raw - base) / (100.0 - base) * 100.0))


def _length_factor(answer: str, reference: str) -> float:
    """Below 1 for an answer much longer than the reference: padding is not translating.

    chrF weighs recall twice as much as precision, so the reference followed by as much junk would
    otherwise keep most of its score.
    """
    allowed = 1.5 * len(_nospace(reference)) + 4
    length = len(_nospace(answer))
    return 1.0 if length <= allowed else allowed / length


@dataclass(frozen=True, slots=True)
class Explanation:
    """How an answer's score came about, against the reference that suited it best."""

    score: float
    reference: str
    surface: float  # copy-rescaled character chrF on the text as typed
    meaning: float | None  # the same on content morphemes; None when they cannot tell copy from answer
    decided: str  # "exact", "surface" or "meaning"
    length_factor: float
    answer_form: str = ""
    reference_form: str = ""
    dialect_form: str = ""


def explain_answer(answer: str, dialect: str, references: Sequence[str]) -> Explanation:
    """Score ``answer`` 0..100 (one decimal) for translating ``dialect`` into any of ``references``.

    Two signals, each rescaled so that copying the dialect earns 0 and the reference 100 (see the
    module docstring): character chrF on the text as typed, and the same on the content morphemes
    (:mod:`bot.dialect.morphs`), which ignores speech level, particles, the honorific ``-시-`` and
    listed synonyms. The better of the two counts, shrunk for an answer padded far past the reference.
    """
    if isinstance(references, str):
        # A bare string is a Sequence[str] too; iterating it would score against single characters.
        references = [references]
    if not references:
        raise ValueError("score_answer needs at least one reference sentence")
    hyp = normalise(answer)
    src = normalise(dialect)
    best: Explanation | None = None
    for reference in references:
        ref = normalise(reference)
        if not ref:
            continue
        if hyp and (hyp == ref or _nospace(hyp) == _nospace(ref)):
            return Explanation(100.0, reference, 100.0, None, "exact", 1.0)
        candidate = _explain_one(hyp, src, ref, reference)
        if best is None or candidate.score > best.score:
            best = candidate
    if best is None:
        raise ValueError("score_answer needs at least one non-empty reference sentence")
    return best


@lru_cache(maxsize=2048)
def _copy_baseline(src: str, ref: str) -> tuple[float, str, str, float]:
    """What copying ``src`` earns against ``ref``, as text and as content forms (the same for every answer
    of a round, so worked out once)."""
    src_form, ref_form = content_form(src), content_form(ref)
    return _chrf_normalised(src, ref), src_form, ref_form, _chrf_normalised(src_form, ref_form)


def _explain_one(hyp: str, src: str, ref: str, reference: str) -> Explanation:
    if not hyp:
        return Explanation(0.0, reference, 0.0, None, "surface", 1.0)
    surface_base, src_form, ref_form, meaning_base = _copy_baseline(src, ref)
    surface = _rescaled(_chrf_normalised(hyp, ref), surface_base)
    hyp_form = content_form(hyp)
    meaning: float | None = None
    if src_form != ref_form and ref_form:
        if hyp_form == ref_form:
            meaning = 100.0
        else:
            meaning = _rescaled(_chrf_normalised(hyp_form, ref_form), meaning_base)
    factor = _length_factor(hyp, ref)
    decided = "meaning" if meaning is not None and meaning > surface else "surface"
    score = round(max(surface, meaning or 0.0) * factor, 1)
    return Explanation(score, reference, surface, meaning, decided, factor, hyp_form, ref_form, src_form)


def score_answer(answer: str, dialect: str, references: Sequence[str]) -> float:
    """The score of :func:`explain_answer`, 0..100 with one decimal."""
    return explain_answer(answer, dialect, references).score


def points_for(score: float) -> int:
    """Round points for a 0..100 score: score / 10 rounded half up (45.0 -> 5, 44.9 -> 4)."""
    clamped = min(100.0, max(0.0, score))
    # Round the tenth first so float noise (e.g. 4.4999999) cannot flip a .5 boundary.
    return math.floor(round(clamped / 10.0, 9) + 0.5)
