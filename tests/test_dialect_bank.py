"""The shipped dialect sentence bank (bot/data/dialect_sentences.json) and its loader."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from importlib import resources
from typing import Any

import pytest

from bot.dialect.bank import (
    REGION_NAMES,
    REGIONS,
    DialectBank,
    DialectBankError,
    DialectItem,
    compact,
    default_bank,
    parse_region,
)
from bot.dialect.scoring import score_answer

HANGUL = re.compile(r"[\uac00-\ud7a3]")
MIN_TOTAL = 230
MIN_PER_REGION = 46


@pytest.fixture(scope="module")
def bank() -> DialectBank:
    return default_bank()


@pytest.fixture(scope="module")
def raw_file() -> dict[str, Any]:
    return json.loads(resources.files("bot.data").joinpath("dialect_sentences.json").read_text(encoding="utf-8"))


def entry(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "t-1", "region": "jeju", "dialect": "혼저 옵서예.", "references": ["어서 오세요."],
        "note": "혼저=어서",
    }  # fmt: skip
    base.update(overrides)
    return base


# ------------------------------------------------------------------------------------------ shipped data


def test_file_is_version_1_and_round_trips(bank: DialectBank, raw_file: dict[str, Any]) -> None:
    assert raw_file["version"] == 1
    assert [item.to_dict() for item in bank] == [DialectItem.from_dict(e).to_dict() for e in raw_file["items"]]
    # The file is already in the loader's canonical form (no stray spaces the loader would silently fix).
    assert [item.to_dict() for item in bank] == raw_file["items"]


def test_counts(bank: DialectBank) -> None:
    assert len(bank) >= MIN_TOTAL
    counts = Counter(item.region for item in bank)
    assert set(counts) == set(REGIONS)
    for region in REGIONS:
        assert counts[region] >= MIN_PER_REGION, region
    assert bank.regions() == {region: counts[region] for region in REGIONS}


def test_ids_unique_and_prefixed_by_region(raw_file: dict[str, Any]) -> None:
    ids = [e["id"] for e in raw_file["items"]]
    assert len(ids) == len(set(ids))
    for e in raw_file["items"]:
        assert re.fullmatch(rf"{e['region']}-\d{{3}}", e["id"]), e["id"]


def test_no_sentence_is_shipped_twice(bank: DialectBank) -> None:
    repeated = [s for s, n in Counter(compact(item.dialect) for item in bank).items() if n > 1]
    assert repeated == []


def test_every_dialect_sentence_needs_translating(bank: DialectBank) -> None:
    for item in bank:
        assert item.references, item.id
        for reference in item.references:
            assert compact(item.dialect) != compact(reference), item.id
        # The game's rescaling holds for every item: copying scores 0, each reference 100.
        assert score_answer(item.dialect, item.dialect, item.references) == 0.0, item.id
        for reference in item.references:
            assert score_answer(reference, item.dialect, item.references) == 100.0, item.id


def test_texts_are_hangul_everyday_sentences(bank: DialectBank) -> None:
    for item in bank:
        for text in (item.dialect, *item.references, item.note):
            assert HANGUL.search(text), (item.id, text)
            assert text == " ".join(text.split()), (item.id, text)
        assert 6 <= len(item.dialect) <= 30, (item.id, item.dialect)
        assert len(set(item.references)) == len(item.references), item.id


# ------------------------------------------------------------------------------------------ pick


def test_pick_honours_region(bank: DialectBank) -> None:
    rng = random.Random(7)
    for region in REGIONS:
        for _ in range(30):
            assert bank.pick(rng, region).region == region


def test_pick_any_region_covers_all(bank: DialectBank) -> None:
    rng = random.Random(11)
    seen = {bank.pick(rng).region for _ in range(300)}
    assert seen == set(REGIONS)


def test_pick_honours_exclude_until_exhausted(bank: DialectBank) -> None:
    rng = random.Random(3)
    jeju = sorted(item.id for item in bank if item.region == "jeju")
    keep = jeju[5]
    exclude = [i for i in jeju if i != keep]
    for _ in range(20):
        assert bank.pick(rng, "jeju", exclude=exclude).id == keep
    # Everything excluded: a repeat beats having no round at all.
    assert bank.pick(rng, "jeju", exclude=jeju).region == "jeju"


def test_pick_walks_a_region_without_repeats(bank: DialectBank) -> None:
    rng = random.Random(5)
    recent: list[str] = []
    size = bank.regions()["gangwon"]
    for _ in range(size):
        item = bank.pick(rng, "gangwon", exclude=recent)
        assert item.id not in recent
        recent.append(item.id)
    assert len(set(recent)) == size


def test_pick_rejects_unknown_or_empty_region(bank: DialectBank) -> None:
    with pytest.raises(DialectBankError):
        bank.pick(random.Random(1), "seoul")
    only_jeju = DialectBank([item for item in bank if item.region == "jeju"])
    with pytest.raises(DialectBankError):
        only_jeju.pick(random.Random(1), "gangwon")
    with pytest.raises(DialectBankError):
        DialectBank([]).pick(random.Random(1))


# ------------------------------------------------------------------------------------------ regions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jeju", "jeju"), ("Jeju", "jeju"), ("JEJU", "jeju"), ("  gyeongsang ", "gyeongsang"),
        ("Jeolla", "jeolla"), ("chungcheong", "chungcheong"), ("Gangwon", "gangwon"),
        ("gangwon-do", "gangwon"),
        ("제주", "jeju"), ("제주도", "jeju"), ("경상", "gyeongsang"), ("경상도", "gyeongsang"),
        ("경남", "gyeongsang"), ("전라", "jeolla"), ("전라도", "jeolla"), ("충청", "chungcheong"),
        ("충청도", "chungcheong"), ("강원", "gangwon"), ("강원도", "gangwon"),
        ("any", None), ("ALL", None), ("전체", None), ("", None), ("   ", None),
    ],
)  # fmt: skip
def test_parse_region(text: str, expected: str | None) -> None:
    assert parse_region(text) == expected


@pytest.mark.parametrize("text", ["seoul", "서울", "경기도", "jeju island", "제 주", "jej", "busan"])
def test_parse_region_rejects(text: str) -> None:
    with pytest.raises(DialectBankError):
        parse_region(text)


def test_region_names_cover_every_region_in_both_languages() -> None:
    assert set(REGION_NAMES) == set(REGIONS)
    for region in REGIONS:
        names = REGION_NAMES[region]
        assert parse_region(names["ko"]) == region
        assert parse_region(names["en"]) == region


# ------------------------------------------------------------------------------------------ with_extra


def test_with_extra_replaces_by_id_and_adds(bank: DialectBank) -> None:
    shipped = bank.get("jeju-001")
    assert shipped is not None
    replacement = DialectItem("jeju-001", "jeju", "혼저 들어옵서.", ("어서 들어오세요.",), "들어옵서=들어오세요")
    added = DialectItem("space-1", "gangwon", "감재 쪄 먹자.", ("감자 쪄 먹자.",))
    merged = bank.with_extra([replacement, added])
    assert len(merged) == len(bank) + 1
    assert merged.get("jeju-001") == replacement
    assert merged.get("space-1") == added
    assert "space-1" in merged
    # The shipped bank is untouched.
    assert bank.get("jeju-001") == shipped
    assert bank.get("space-1") is None
    assert len(bank) == len(list(bank))


# ------------------------------------------------------------------------------------------ validation


def test_item_round_trip_and_cleanup() -> None:
    item = DialectItem.from_dict(
        entry(id=" t-2 ", region="Jeju", dialect=" 혼저  옵서예. ", references=" 어서 오세요. ", note=None)
    )
    assert item == DialectItem("t-2", "jeju", "혼저 옵서예.", ("어서 오세요.",), "")
    assert DialectItem.from_dict(item.to_dict()) == item
    assert item.to_dict()["references"] == ["어서 오세요."]
    # Built directly with a bare string, references still become one sentence, not characters.
    assert DialectItem("t-3", "jeju", "혼저 옵서예.", "어서 오세요.").references == ("어서 오세요.",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        entry(region="seoul"),
        entry(region=""),
        entry(dialect=""),
        entry(dialect="  ...  "),
        entry(references=[]),
        entry(references=[""]),
        entry(references=["어서 오세요.", "   "]),
        entry(references=[3]),
        entry(references={"a": 1}),
        entry(id=""),
        entry(id=7),
        entry(dialect=None),
        entry(note=["혼저"]),
        # Same as its reference once spaces and punctuation are gone: nothing to translate.
        entry(dialect="어서 오세요!", references=["어서오세요."]),
        entry(dialect="밥 먹었어?", references=["밥 먹었니?", "밥, 먹었어"]),
    ],
)
def test_malformed_entries_raise(bad: dict[str, Any]) -> None:
    with pytest.raises(DialectBankError):
        DialectItem.from_dict(bad)


@pytest.mark.parametrize("missing", ["id", "region", "dialect", "references"])
def test_missing_fields_raise(missing: str) -> None:
    raw = entry()
    del raw[missing]
    with pytest.raises(DialectBankError):
        DialectItem.from_dict(raw)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(DialectBankError):
        DialectItem("x", "jeju", "어서 오세요", ("어서 오세요.",))
    with pytest.raises(DialectBankError):
        DialectItem("x", "busan", "와 그라노", ("왜 그러니",))


def test_bank_rejects_duplicates_and_bad_files() -> None:
    one = DialectItem.from_dict(entry())
    with pytest.raises(DialectBankError):
        DialectBank([one, one])
    assert len(DialectBank.from_dict({"version": 1, "items": [entry()]})) == 1
    for raw in (
        {"version": 2, "items": [entry()]},
        {"items": [entry()]},
        {"version": 1},
        {"version": 1, "items": {"t-1": entry()}},
        {"version": 1, "items": ["혼저 옵서예."]},
        {"version": 1, "items": [entry(), entry()]},
        [entry()],
    ):
        with pytest.raises(DialectBankError):
            DialectBank.from_dict(raw)  # type: ignore[arg-type]


def test_bank_error_is_a_value_error() -> None:
    assert issubclass(DialectBankError, ValueError)
