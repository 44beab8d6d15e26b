"""User-facing text, one folder per language (``bot/locales/<lang>/*.json``).

Logic refers to messages by key (``"draw.started"``); the text, in Korean and
English, lives only in the locale files. Keys are namespaced by the file they
come from, so ``images.json`` holding ``{"too_big": ...}`` gives ``images.too_big``.

Plurals: a message that depends on a number has variants named ``<key>_one``
and ``<key>_other`` (the CLDR categories); :func:`text` picks one by the
``count`` parameter, so ``text("en", "core.n_wins", count=1)`` is ``1 win`` and
``count=2`` gives ``2 wins``. Korean has no grammatical plural, so a Korean
catalog gives only ``<key>_other``. A sentence holding several counted things
is built from counted phrases: ``text(locale, "core.stats", wins=plural(locale, "core.n_wins", 2), ...)``.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

LOCALES = ("ko", "en")
FALLBACK = "en"
PLURAL_FORMS = ("_one", "_other")


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


def plural_category(locale: str, count: int | float) -> str:
    """The CLDR plural category of ``count``: English has ``one`` and ``other``, Korean only ``other``."""
    if locale == "en" and count == 1:
        return "one"
    return "other"


def _template(locale: str, key: str, params: Mapping[str, Any]) -> str | None:
    table = catalog(locale)
    found = table.get(key)
    if found is not None:
        return found
    if f"{key}_other" in table:
        count = params.get("count", 0)
        return table.get(f"{key}_{plural_category(locale, count)}") or table[f"{key}_other"]
    return None


def text(locale: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``locale`` (English when missing), with ``params`` filled in.

    ``key`` may name a counted message (``key_one`` / ``key_other`` in the catalog): ``count`` picks the form.
    """
    locale = locale if locale in LOCALES else FALLBACK
    template = _template(locale, key, params) or _template(FALLBACK, key, params)
    if template is None:
        raise KeyError(f"no message {key!r}")
    rendered = string.Formatter().vformat(template, (), _Lenient(params))
    if locale == "ko" and "(" in rendered:
        from bot.josa import attach

        rendered = attach(rendered)  # 은(는) → 은 or 는, once the word before it is known
    return rendered


def plural(locale: str, key: str, count: int | float, /, **params: Any) -> str:
    """A counted phrase (``1 win`` / ``2 wins`` / ``2번 우승``), to place inside a longer message."""
    return text(locale, key, count=count, **params)


def language_of(tag: str | None) -> str | None:
    """Our language for a locale tag from a platform or a terminal: ``ko`` for Korean, ``en`` otherwise.

    ``ko``, ``ko-KR``, ``ko_KR.UTF-8`` give ``ko``; ``en-US``, ``fr``, ``C.UTF-8`` give ``en``;
    an empty tag, ``C`` or ``POSIX`` (no choice made) give ``None``.
    """
    if not tag:
        return None
    base = tag.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if base in ("", "c", "posix"):
        return None
    return "ko" if base == "ko" or base.startswith("ko_") else "en"


def terminal_locale(environ: Mapping[str, str] | None = None) -> str:
    """The terminal's language, decided like gettext: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set.

    ``LANGUAGE`` (a priority list) comes first unless that locale is ``C``/``POSIX``. Nothing set means English.
    """
    env = os.environ if environ is None else environ
    chosen = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), None)
    language = language_of(chosen)
    if language is None:
        return FALLBACK
    preferred = language_of(env.get("LANGUAGE", "").split(":")[0])
    return preferred or language
