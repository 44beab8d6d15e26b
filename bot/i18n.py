"""User-facing text, one folder per language (``bot/locales/<lang>/*.json``).

Logic refers to messages by key (``"draw.started"``); the text, in Korean and
English, lives only in the locale files. Keys are namespaced by the file they
come from, so ``images.json`` holding ``{"too_big": ...}`` gives ``images.too_big``.
"""

from __future__ import annotations

import json
import string
from functools import cache
from importlib import resources
from typing import Any

LOCALES = ("ko", "en")
FALLBACK = "en"


@cache
def catalog(locale: str) -> dict[str, str]:
    folder = resources.files("bot.locales").joinpath(locale)
    table: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            prefix = entry.name.removesuffix(".json")
            for key, value in json.loads(entry.read_text(encoding="utf-8")).items():
                table[f"{prefix}.{key}"] = value
    return table


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def text(locale: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``locale`` (English when missing), with ``params`` filled in."""
    template = catalog(locale if locale in LOCALES else FALLBACK).get(key) or catalog(FALLBACK).get(key)
    if template is None:
        raise KeyError(f"no message {key!r}")
    return string.Formatter().vformat(template, (), _Lenient(params))


def locale_for(hint: str | None) -> str | None:
    """One of our languages for a platform's language tag: Korean for Korean, English otherwise.

    ``ko``, ``ko-KR``, ``ko_KR.UTF-8`` give ``ko``; ``en-US``, ``fr``, ``C.UTF-8`` give ``en``;
    no tag at all gives None, so that the caller's next choice applies.
    """
    if not hint or not hint.strip():
        return None
    return "ko" if hint.strip().lower().startswith("ko") else "en"
