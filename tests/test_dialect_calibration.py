"""Dialect scoring against a calibration set written for catchbot (tests/data/dialect_calibration.json).

Each case holds a dialect sentence, its standard reference, correct paraphrases labelled by how they
differ (speech level, contraction, particle, honorific verb, synonym…), a half-translation that leaves
dialect words in, and an unrelated sentence. The rules a player can rely on are asserted on every case.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.dialect.bank import REGIONS
from bot.dialect.scoring import score_answer

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "dialect_calibration.json").read_text(encoding="utf-8")
)["cases"]
KINDS = {"speech_level", "contraction", "particle", "honorific", "synonym", "spacing", "mixed"}


def squeezed(text: str) -> str:
    """The text as someone might type it in a hurry: no spaces, no punctuation."""
    return re.sub(r"[\s\W]+", "", text)


def test_the_set_is_large_varied_and_well_formed() -> None:
    assert len(CASES) >= 150
    assert len({case["id"] for case in CASES}) == len(CASES)
    regions = Counter(case["region"] for case in CASES)
    assert set(regions) == set(REGIONS) and min(regions.values()) >= 28, regions
    kinds = Counter(p["kind"] for case in CASES for p in case["paraphrases"])
    assert set(kinds) <= KINDS
    # Every way of being right in other words that the issue names is exercised many times.
    for kind in ("speech_level", "contraction", "particle", "honorific", "synonym"):
        assert kinds[kind] >= 15, (kind, kinds)
    for case in CASES:
        others = [case["dialect"], case["half"], case["unrelated"], *(p["text"] for p in case["paraphrases"])]
        assert all(others) and case["reference"], case["id"]
        assert squeezed(case["half"]) not in (squeezed(case["dialect"]), squeezed(case["reference"])), case["id"]
        for paraphrase in case["paraphrases"]:
            assert squeezed(paraphrase["text"]) != squeezed(case["reference"]), case["id"]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_every_case_keeps_the_rules(case: dict[str, Any]) -> None:
    dialect, references = case["dialect"], [case["reference"]]
    full = score_answer(case["reference"], dialect, references)
    unrelated = score_answer(case["unrelated"], dialect, references)
    assert full == 100.0
    assert score_answer(squeezed(case["reference"]), dialect, references) == 100.0
    assert score_answer(dialect, dialect, references) <= 5
    assert unrelated <= 20
    assert score_answer(case["half"], dialect, references) < full
    for paraphrase in case["paraphrases"]:
        assert score_answer(paraphrase["text"], dialect, references) > unrelated, paraphrase


def test_a_correct_translation_in_other_words_earns_most_of_the_points() -> None:
    scores = [
        score_answer(paraphrase["text"], case["dialect"], [case["reference"]])
        for case in CASES
        for paraphrase in case["paraphrases"]
    ]
    assert statistics.median(scores) >= 80
    # Speech level alone never decides: answers that differ only there score full marks almost always.
    speech = [
        score_answer(p["text"], case["dialect"], [case["reference"]])
        for case in CASES
        for p in case["paraphrases"]
        if p["kind"] == "speech_level"
    ]
    assert sum(score >= 80 for score in speech) >= 0.85 * len(speech)


def test_half_translations_earn_clearly_less_than_translations() -> None:
    halves = [score_answer(case["half"], case["dialect"], [case["reference"]]) for case in CASES]
    assert statistics.median(halves) <= 70
