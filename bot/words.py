"""The drawing word bank: secret words with names and aliases in both languages.

The bank ships as package data (``bot/data/words.json``); a space can add its
own words, stored in SQLite and merged in by :meth:`WordBank.with_extra`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CATEGORIES = (
    "food",
    "animals",
    "objects",
    "vehicles",
    "nature",
    "body",
    "places",
    "people",
    "sports",
    "clothing",
    "music",
    "weather",
    "shapes",
)
DIFFICULTIES = {"easy": 1, "normal": 2, "hard": 3}


class WordBankError(ValueError):
    """The bank file or a custom word is malformed."""


@dataclass(frozen=True, slots=True)
class Word:
    id: str
    category: str
    difficulty: int  # 1 easy, 2 normal, 3 hard
    en: str
    ko: str
    aliases_en: tuple[str, ...] = ()
    aliases_ko: tuple[str, ...] = ()

    def name(self, locale: str) -> str:
        return self.ko if locale == "ko" else self.en

    def other_name(self, locale: str) -> str:
        return self.en if locale == "ko" else self.ko

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every accepted spelling: both names first, then the aliases."""
        return (self.en, self.ko, *self.aliases_en, *self.aliases_ko)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Word:
        try:
            word = cls(
                id=str(raw["id"]).strip(),
                category=str(raw["category"]).strip(),
                difficulty=int(raw.get("difficulty", 2)),
                en=str(raw["en"]).strip(),
                ko=str(raw["ko"]).strip(),
                aliases_en=tuple(str(a).strip() for a in raw.get("aliases_en", ()) if str(a).strip()),
                aliases_ko=tuple(str(a).strip() for a in raw.get("aliases_ko", ()) if str(a).strip()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise WordBankError(f"bad word entry {dict(raw)!r}: {exc}") from None
        if not (word.id and word.en and word.ko):
            raise WordBankError(f"word entry needs id, en and ko: {dict(raw)!r}")
        if word.difficulty not in (1, 2, 3):
            raise WordBankError(f"word {word.id!r}: difficulty must be 1, 2 or 3")
        return word

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "difficulty": self.difficulty,
            "en": self.en,
            "ko": self.ko,
            "aliases_en": list(self.aliases_en),
            "aliases_ko": list(self.aliases_ko),
        }


class WordBank:
    def __init__(self, words: Iterable[Word]) -> None:
        self._words: dict[str, Word] = {}
        for word in words:
            if word.id in self._words:
                raise WordBankError(f"duplicate word id {word.id!r}")
            self._words[word.id] = word

    def __len__(self) -> int:
        return len(self._words)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._words.values())

    def __contains__(self, word_id: object) -> bool:
        return word_id in self._words

    def get(self, word_id: str) -> Word | None:
        return self._words.get(word_id)

    def with_extra(self, extra: Iterable[Word]) -> WordBank:
        """This bank plus a space's own words (which may replace shipped ones by id)."""
        merged = dict(self._words)
        for word in extra:
            merged[word.id] = word
        return WordBank(merged.values())

    def pick(self, rng: random.Random, difficulty: int | None = None) -> Word:
        pool = [w for w in self._words.values() if difficulty is None or w.difficulty == difficulty]
        if not pool:
            pool = list(self._words.values())
        return rng.choice(pool)


@cache
def default_bank() -> WordBank:
    raw = json.loads(resources.files("bot.data").joinpath("words.json").read_text(encoding="utf-8"))
    return WordBank(Word.from_dict(entry) for entry in raw["words"])
