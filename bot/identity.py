"""Who is the AI: a reserved identity no human can take or imitate.

The AI player is the user ``catchbot:ai`` (:data:`bot.rounds.AI_USER`) and is
shown as ``🤖 AI`` everywhere. Every event passes through :func:`as_human`
before the core sees it, so that:

- no platform user id can be ``catchbot:…`` (the core's reserved ids);
- no human display name carries the robot mark, and a name that reads as "AI"
  (``AI``, ``ai``, ``ＡＩ``, ``A.I.``, ``🤖 AI``, ``에이아이``) is shown with a
  person mark (``👤 AI``), so a board never has two "AI" rows that look alike.

``/stats AI`` and ``/stats 🤖`` reach the AI (:func:`names_the_ai`); the human
who called themselves "AI" is ``/stats 👤 AI``.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from functools import lru_cache
from typing import TypeVar

AI_USER = "catchbot:ai"
AI_NAME = "AI"
AI_MARK = "🤖"
HUMAN_MARK = "👤"
AI_LABEL = f"{AI_MARK} {AI_NAME}"
RESERVED_PREFIX = "catchbot:"
# What a name reads as once width, case, spacing, punctuation and symbols are gone.
_AI_SKELETONS = frozenset({"ai", "에이아이", "catchbotai", "aiplayer", "ai플레이어"})
_ROBOTS = frozenset({"🤖", "🦾", "🦿", "👾"})


def skeleton(name: str) -> str:
    """Letters and digits only, width and case folded: what a name *reads* as."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def looks_like_ai(name: str) -> bool:
    return skeleton(name) in _AI_SKELETONS or any(robot in name for robot in _ROBOTS)


@lru_cache(maxsize=4096)
def human_name(name: str) -> str:
    """A human's display name as the core shows it: robot marks removed, an AI look-alike marked as a person."""
    cleaned = "".join(ch for ch in name if ch not in _ROBOTS).strip() if any(r in name for r in _ROBOTS) else name
    cleaned = cleaned or "?"
    if skeleton(cleaned) in _AI_SKELETONS and not cleaned.startswith(HUMAN_MARK):
        return f"{HUMAN_MARK} {cleaned}"
    return cleaned


# Characters that print as nothing (or as blank space) but are letters or symbols to Unicode.
_BLANK_LETTERS = frozenset("\u3164\u115f\u1160\uffa0\u2800\u180e")


def shows_nothing(name: str) -> bool:
    """Would ``name`` look empty on screen (only spaces, format characters, fillers)?"""
    return all(
        ch.isspace() or ch in _BLANK_LETTERS or unicodedata.category(ch) in {"Cc", "Cf", "Mn", "Me", "Zs"}
        for ch in name
    )


def fallback_name(user: str) -> str:
    """What a player whose name shows nothing is called: a person mark and the tail of their id."""
    return f"{HUMAN_MARK} {user[-4:] or '?'}"


def names_the_ai(text: str) -> bool:
    """Does a ``/stats`` argument mean the AI? (``AI``, ``ai``, ``🤖``, ``🤖 AI``, ``catchbot:ai``.)"""
    stripped = text.strip()
    if stripped.startswith(HUMAN_MARK):
        return False
    return stripped == AI_USER or looks_like_ai(stripped)


def shown_name(name: str, *, is_ai: bool) -> str:
    return AI_LABEL if is_ai else name


E = TypeVar("E")


def as_human(event: E) -> E:
    """The event with its sender made unmistakably human (see the module docstring)."""
    origin = event.origin  # type: ignore[attr-defined]
    user = origin.user
    if user.startswith(RESERVED_PREFIX):
        user = f"human:{user}"
    name = fallback_name(user) if shows_nothing(origin.display_name) else human_name(origin.display_name)
    if user == origin.user and name == origin.display_name:
        return event
    return dataclasses.replace(event, origin=dataclasses.replace(origin, user=user, display_name=name))  # type: ignore[type-var]
