"""Every catalog message, rendered in both languages: no leftover {keys}, no language leaking into the
other, plurals right in English, no mixed punctuation."""

from __future__ import annotations

import re
import string

import pytest

from bot import i18n
from bot.commands import COMMANDS

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_TYPED_COMMAND = re.compile(r"`[^`]*`")  # a command line to type, as it is typed
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_./:-]*")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
# Latin words a Korean message may hold: what the user types (command names, choices, setting keys and
# values), file formats, units and names of things (environment variables, a time zone, the AI).
_TYPED = {name for spec in COMMANDS for name in (*spec.names, *(c for p in spec.params for c in p.choices))}
_ALLOWED_IN_KOREAN = _TYPED | {
    *("add", "remove", "list", "reset", "collect", "locale", "timezone", "on", "off", "ko", "en", "region"),
    *("upload", "as", "channel", "wait", "quit", "catchbot", "ID", "AI", "W47", "Asia/Seoul"),
    *("Discord", "Slack", "README", "SQLite", "PostgreSQL"),  # names of products and of the file a message points to
    *("bot", "applications.commands"),  # Discord's OAuth scope names, typed as they are
    *("PNG", "JPEG", "WebP", "GIF", "BMP", "MB", "OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT"),
}
# Placeholders that hold a number of things: an English message must not put a plural noun after one
# (that is what the _one/_other variants are for).
_COUNTED = {"count", "rounds", "wins", "points", "calls", "redraws", "letters", "words"}
# Messages whose languages deliberately use different values (the caller passes both).
_OWN_PLACEHOLDERS = {"core.category_choice"}  # Korean shows the Korean name beside the typed English id


def _base(key: str) -> str:
    for form in i18n.PLURAL_FORMS:
        if key.endswith(form):
            return key.removesuffix(form)
    return key


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _messages() -> list[str]:
    return sorted({_base(k) for k in i18n.catalog("en")} | {_base(k) for k in i18n.catalog("ko")})


def test_both_languages_have_every_message_with_the_same_placeholders() -> None:
    en, ko = i18n.catalog("en"), i18n.catalog("ko")
    for key in _messages():
        en_forms = [t for k, t in en.items() if _base(k) == key]
        ko_forms = [t for k, t in ko.items() if _base(k) == key]
        assert en_forms and ko_forms, f"{key} is missing in one language"
        wanted = set().union(*(_fields(t) for t in en_forms))
        for template in ko_forms:
            if key in _OWN_PLACEHOLDERS:
                continue
            assert _fields(template) == wanted, f"{key}: ko uses {_fields(template)}, en {wanted}"


@pytest.mark.parametrize("locale", i18n.LOCALES)
@pytest.mark.parametrize("count", [0, 1, 2])
def test_every_message_renders_with_sample_values(locale: str, count: int) -> None:
    for key in _messages():
        fields = set().union(*(_fields(t) for k, t in i18n.catalog(locale).items() if _base(k) == key))
        params = {name: (count if name in _COUNTED else f"<{name}>") for name in fields}
        rendered = i18n.text(locale, key, **params)
        leftover = _PLACEHOLDER.findall(rendered.replace("<", "").replace(">", ""))
        assert not leftover, f"{locale} {key}: {leftover} left in {rendered!r}"


def test_korean_messages_hold_no_english_words() -> None:
    for key, template in i18n.catalog("ko").items():
        prose = _TYPED_COMMAND.sub(" ", _PLACEHOLDER.sub(" ", template))
        words = {w.rstrip(":.") for w in _LATIN_WORD.findall(prose)}
        words = {w for w in words if not _ENV_NAME.match(w)}  # a setting's name is typed as it is
        assert words <= _ALLOWED_IN_KOREAN, f"ko {key} holds English: {sorted(words - _ALLOWED_IN_KOREAN)}"
        assert ";" not in template, f"ko {key}: a semicolon is English punctuation"


def test_english_messages_hold_no_korean() -> None:
    for key, template in i18n.catalog("en").items():
        assert not _HANGUL.search(_PLACEHOLDER.sub(" ", template)), f"en {key} holds Korean"


def test_no_mixed_or_doubled_punctuation() -> None:
    for locale in i18n.LOCALES:
        for key, template in i18n.catalog(locale).items():
            for line in template.splitlines():
                assert not re.search(r"\.;|;\.|\.\.(?!\.)|,\.|\S {2,}\S", line), f"{locale} {key}: {line!r}"


def test_english_counts_agree_with_their_nouns() -> None:
    for key, template in i18n.catalog("en").items():
        if key.endswith(i18n.PLURAL_FORMS):
            continue
        for name, noun in re.findall(r"\{(\w+)\} ([a-z]+)", template):
            assert not (name in _COUNTED and noun.endswith("s")), f"en {key}: '{{{name}}} {noun}' needs _one/_other"
        assert "{count}" not in template, f"en {key} counts something: give it _one and _other forms"


def test_plural_forms_are_picked_by_count() -> None:
    assert i18n.text("en", "core.n_wins", count=1) == "1 win"
    assert i18n.text("en", "core.n_wins", count=2) == "2 wins"
    assert i18n.text("en", "core.n_wins", count=0) == "0 wins"
    assert i18n.plural("ko", "core.n_wins", 1) == "1번 우승"
    assert i18n.text("en", "draw.n_letters", count=1) == "1 letter"
    assert i18n.text("fr", "core.n_points", count=1) == "1 point"  # unknown languages fall back to English
