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
from typing import Final

from sacrebleu.metrics import CHRF

__all__ = ["chrf", "normalise", "points_for", "score_answer"]

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


def score_answer(answer: str, dialect: str, references: Sequence[str]) -> float:
    """Score ``answer`` 0..100 (one decimal) for translating ``dialect`` into any of ``references``.

    See the module docstring for why the score is rescaled against copying the dialect sentence.
    """
    if isinstance(references, str):
        # A bare string is a Sequence[str] too; iterating it would score against single characters.
        references = [references]
    if not references:
        raise ValueError("score_answer needs at least one reference sentence")
    hyp = normalise(answer)
    if not hyp:
        return 0.0
    src = normalise(dialect)
    best = 0.0
    for reference in references:
        ref = normalise(reference)
        if not ref:
            continue
        if hyp == ref or _nospace(hyp) == _nospace(ref):
            return 100.0
        raw = _chrf_normalised(hyp, ref)
        base = _chrf_normalised(src, ref)
        if base >= 100.0:
            # The dialect already matches this reference (ignoring spacing): there is no distance to
            # cover, so the raw score is the only meaningful figure.
            scaled = raw
        else:
            scaled = (raw - base) / (100.0 - base) * 100.0
        best = max(best, min(100.0, max(0.0, scaled)))
    return round(best, 1)


def points_for(score: float) -> int:
    """Round points for a 0..100 score: score / 10 rounded half up (45.0 -> 5, 44.9 -> 4)."""
    clamped = min(100.0, max(0.0, score))
    # Round the tenth first so float noise (e.g. 4.4999999) cannot flip a .5 boundary.
    return math.floor(round(clamped / 10.0, 9) + 0.5)
