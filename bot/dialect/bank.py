"""The dialect sentence bank: regional sentences with their accepted standard-Korean readings.

The bank ships as package data (``bot/data/dialect_sentences.json``); a space can add its own sentences
(typed in, or imported from AI-Hub), stored in SQLite and merged in by :meth:`DialectBank.with_extra`.

Every item is checked when it is built, wherever it comes from: a sentence that already *is* one of its
references (ignoring spacing and punctuation) would make the rescaled score meaningless, because copying
the prompt is defined to score 0 and the reference 100.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final

from bot.dialect.scoring import normalise

__all__ = [
    "REGIONS",
    "REGION_NAMES",
    "DialectBank",
    "DialectBankError",
    "DialectItem",
    "compact",
    "default_bank",
    "parse_region",
]

REGIONS: Final = ("jeju", "gyeongsang", "jeolla", "chungcheong", "gangwon")
REGION_NAMES: Final[dict[str, dict[str, str]]] = {
    "jeju": {"ko": "제주", "en": "Jeju"},
    "gyeongsang": {"ko": "경상", "en": "Gyeongsang"},
    "jeolla": {"ko": "전라", "en": "Jeolla"},
    "chungcheong": {"ko": "충청", "en": "Chungcheong"},
    "gangwon": {"ko": "강원", "en": "Gangwon"},
}
BANK_FILE: Final = "dialect_sentences.json"
BANK_VERSION: Final = 1

# Everything a player may type to choose a region, case-folded. The provinces' north/south halves
# (경남, 충북, ...) share one dialect group here, so they name the same region.
_REGION_ALIASES: Final[dict[str, str]] = {
    **{code: code for code in REGIONS},
    **{f"{code}-do": code for code in REGIONS},
    **{f"{code}do": code for code in REGIONS},
    "제주": "jeju", "제주도": "jeju",
    "경상": "gyeongsang", "경상도": "gyeongsang", "경남": "gyeongsang", "경북": "gyeongsang",
    "경상남도": "gyeongsang", "경상북도": "gyeongsang",
    "전라": "jeolla", "전라도": "jeolla", "전남": "jeolla", "전북": "jeolla",
    "전라남도": "jeolla", "전라북도": "jeolla",
    "충청": "chungcheong", "충청도": "chungcheong", "충남": "chungcheong", "충북": "chungcheong",
    "충청남도": "chungcheong", "충청북도": "chungcheong",
    "강원": "gangwon", "강원도": "gangwon",
}  # fmt: skip
_ANY_REGION: Final = frozenset({"", "any", "all", "전체"})


class DialectBankError(ValueError):
    """The bank file, a custom sentence or a region name is malformed."""


def compact(text: str) -> str:
    """``text`` as the bank compares sentences: normalised like scoring, then without any spaces."""
    return normalise(text).replace(" ", "")


def _text(value: Any, what: str) -> str:
    """``value`` with runs of whitespace collapsed; JSON numbers or nulls are not sentences."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text, not {type(value).__name__}")
    return " ".join(value.split())


@dataclass(frozen=True, slots=True)
class DialectItem:
    id: str
    region: str
    dialect: str
    references: tuple[str, ...]
    note: str = field(default="")

    def __post_init__(self) -> None:
        # Validate here rather than only in from_dict: importers and the CLI build items directly.
        if isinstance(self.references, str):
            # A bare string would otherwise become a tuple of single characters.
            object.__setattr__(self, "references", (self.references,))
        else:
            try:
                object.__setattr__(self, "references", tuple(self.references))
            except TypeError:
                raise DialectBankError(f"dialect item {self.id!r}: references must be a list") from None
        if not isinstance(self.id, str) or not self.id.strip():
            raise DialectBankError(f"dialect item needs an id: {self!r}")
        if self.region not in REGIONS:
            raise DialectBankError(f"dialect item {self.id!r}: unknown region {self.region!r}")
        if not isinstance(self.dialect, str) or not compact(self.dialect):
            raise DialectBankError(f"dialect item {self.id!r}: empty dialect sentence")
        if not self.references:
            raise DialectBankError(f"dialect item {self.id!r}: needs at least one reference")
        source = compact(self.dialect)
        for reference in self.references:
            if not isinstance(reference, str) or not compact(reference):
                raise DialectBankError(f"dialect item {self.id!r}: empty or non-text reference {reference!r}")
            if compact(reference) == source:
                raise DialectBankError(
                    f"dialect item {self.id!r}: the dialect sentence equals its reference {reference!r}"
                )
        if not isinstance(self.note, str):
            raise DialectBankError(f"dialect item {self.id!r}: note must be text")

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DialectItem:
        if not isinstance(raw, Mapping):
            raise DialectBankError(f"dialect item must be an object, not {type(raw).__name__}")
        try:
            refs = raw["references"]
            if isinstance(refs, str):
                refs = [refs]
            elif not isinstance(refs, list | tuple):
                raise TypeError("references must be a list of sentences")
            return cls(
                id=_text(raw["id"], "id"),
                region=_text(raw["region"], "region").casefold(),
                dialect=_text(raw["dialect"], "dialect"),
                references=tuple(_text(r, "reference") for r in refs),
                note=_text(raw.get("note") or "", "note"),
            )
        except (KeyError, TypeError) as exc:
            raise DialectBankError(f"bad dialect item {dict(raw)!r}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "region": self.region,
            "dialect": self.dialect,
            "references": list(self.references),
            "note": self.note,
        }


class DialectBank:
    def __init__(self, items: Iterable[DialectItem]) -> None:
        self._items: dict[str, DialectItem] = {}
        for item in items:
            if item.id in self._items:
                raise DialectBankError(f"duplicate dialect item id {item.id!r}")
            self._items[item.id] = item

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DialectBank:
        """A bank from the file layout ``{"version": 1, "items": [...]}``."""
        if not isinstance(raw, Mapping):
            raise DialectBankError("dialect bank must be a JSON object")
        if raw.get("version") != BANK_VERSION:
            raise DialectBankError(f"dialect bank version must be {BANK_VERSION}, not {raw.get('version')!r}")
        entries = raw.get("items")
        if not isinstance(entries, list):
            raise DialectBankError("dialect bank needs an 'items' list")
        return cls(DialectItem.from_dict(entry) for entry in entries)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[DialectItem]:
        return iter(self._items.values())

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> DialectItem | None:
        return self._items.get(item_id)

    def regions(self) -> dict[str, int]:
        """How many items each region has (every known region listed, zero included)."""
        counts = dict.fromkeys(REGIONS, 0)
        for item in self._items.values():
            counts[item.region] += 1
        return counts

    def with_extra(self, extra: Iterable[DialectItem]) -> DialectBank:
        """This bank plus a space's own sentences (which may replace shipped ones by id)."""
        merged = dict(self._items)
        for item in extra:
            merged[item.id] = item
        return DialectBank(merged.values())

    def pick(self, rng: random.Random, region: str | None = None, exclude: Collection[str] = ()) -> DialectItem:
        """A random item of ``region`` (any region when None), avoiding ``exclude`` ids while possible.

        When every candidate is excluded (a small custom bank, a long session) a repeat beats no round.
        """
        if region is not None and region not in REGIONS:
            raise DialectBankError(f"unknown region {region!r}")
        pool = [item for item in self._items.values() if region is None or item.region == region]
        if not pool:
            raise DialectBankError(f"no dialect sentences for region {region or 'any'!r}")
        excluded = set(exclude)
        fresh = [item for item in pool if item.id not in excluded]
        return rng.choice(fresh or pool)


def parse_region(text: str) -> str | None:
    """The region code a player typed (English or Korean name), None for any region.

    Raises :class:`DialectBankError` for anything that names no known region.
    """
    key = " ".join(text.split()).casefold()
    if key in _ANY_REGION:
        return None
    region = _REGION_ALIASES.get(key)
    if region is None:
        raise DialectBankError(f"unknown region {text!r}")
    return region


@cache
def default_bank() -> DialectBank:
    try:
        raw = json.loads(resources.files("bot.data").joinpath(BANK_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DialectBankError(f"{BANK_FILE} is not valid JSON: {exc}") from None
    return DialectBank.from_dict(raw)
