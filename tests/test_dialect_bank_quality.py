"""The sentence bank as a linguist reads it: real dialect in every prompt, standard Korean in every answer.

Each region's marker forms are in ``bot/data/dialect_markers.json``. These checks keep the bank fair for
scoring: a prompt that is already standard Korean (or differs from its answer only in the last ending)
leaves no distance to score, and a reference that still holds a dialect form rewards not translating.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib import resources

import pytest

from bot.dialect.bank import REGIONS, DialectBank, compact, default_bank

MARKERS: dict[str, list[str]] = json.loads(
    resources.files("bot.data").joinpath("dialect_markers.json").read_text(encoding="utf-8")
)["regions"]
# What may follow a marker word inside one space-separated word.
PARTICLES = (
    "",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "에",
    "에서",
    "서",
    "도",
    "만",
    "하고",
    "랑",
    "한테",
    "의",
    "로",
    "으로",
    "요",
    "야",
    "께",
)


@pytest.fixture(scope="module")
def bank() -> DialectBank:
    return default_bank()


def words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^\w\s]", " ", text).split() if w]


def has_marker(text: str, marker: str) -> bool:
    if " " in marker.lstrip("-"):
        return marker.lstrip("-") in text
    if marker.startswith("-"):
        ending = marker[1:]
        return any(w.endswith(ending) and len(w) > len(ending) for w in words(text))
    # A word of two syllables or more may carry any ending (갑서예, 천지삐까리다); a one-syllable word
    # only a particle, or 강아지 would read as Jeju 강 (가서).
    if len(marker) >= 2:
        return any(w.startswith(marker) for w in words(text))
    return any(w.startswith(marker) and w[len(marker) :] in PARTICLES for w in words(text))


def markers_in(text: str, region: str) -> list[str]:
    return [m for m in MARKERS[region] if has_marker(text, m)]


def test_the_marker_lists_cover_every_region() -> None:
    assert set(MARKERS) == set(REGIONS)
    for region, forms in MARKERS.items():
        assert len(forms) >= 30, region
        assert len(set(forms)) == len(forms), [f for f, n in Counter(forms).items() if n > 1]


def test_every_item_has_three_to_five_distinct_references(bank: DialectBank) -> None:
    for item in bank:
        assert 3 <= len(item.references) <= 5, item.id
        assert len({compact(r) for r in item.references}) == len(item.references), item.id


def test_every_prompt_is_real_dialect_of_its_region(bank: DialectBank) -> None:
    for item in bank:
        assert markers_in(item.dialect, item.region), (item.id, item.dialect)
        assert all(compact(item.dialect) != compact(r) for r in item.references), item.id


def test_no_reference_keeps_a_form_of_its_region(bank: DialectBank) -> None:
    for item in bank:
        for reference in item.references:
            assert not markers_in(reference, item.region), (item.id, reference, markers_in(reference, item.region))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def test_no_prompt_differs_from_its_answer_only_in_the_ending(bank: DialectBank) -> None:
    """Chungcheong -유 or Gangwon -드래요 alone leaves nothing to translate: the sentence must carry more.

    (A Jeju or Gyeongsang ending such as -쿠다 or -노 is a translation task of its own.)
    """
    for item in bank:
        if item.region not in ("chungcheong", "gangwon"):
            continue
        dialect = re.sub(r"[\s\W]+", "", item.dialect)
        for reference in item.references:
            standard = re.sub(r"[\s\W]+", "", reference)
            same = _common_prefix(dialect, standard)
            only_the_end = len(dialect) - same <= 3 and len(standard) - same <= 3
            assert not (only_the_end and same >= 0.6 * len(standard)), (item.id, item.dialect, reference)


def _syllable_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_no_prompt_reads_as_another_region(bank: DialectBank) -> None:
    items = list(bank)
    for i, first in enumerate(items):
        for second in items[i + 1 :]:
            if first.region != second.region:
                distance = _syllable_distance(compact(first.dialect), compact(second.dialect))
                assert distance > 1, (first.id, second.id)


def test_counts_stay_high(bank: DialectBank) -> None:
    counts = Counter(item.region for item in bank)
    assert sum(counts.values()) >= 270 and min(counts.values()) >= 40, counts


def test_known_corrections_stay() -> None:
    text = resources.files("bot.data").joinpath("dialect_sentences.json").read_text(encoding="utf-8")
    data = json.loads(text)["items"]
    assert "마커" not in text  # Gangwon 마카 (all), not 마커
    assert not any("옹심이" in r for item in data for r in item["references"])
    assert not any(item["dialect"].startswith("거시기") for item in data)  # 거시기 is standard Korean
