"""Platform-neutral replies: what the core hands back to an adapter.

Every reply carries finished, localised ``text`` that an adapter can post as is;
structured replies also carry their data so that an adapter may render richer
forms (a Discord embed, Slack blocks) without parsing text. User text and model
output inside ``text`` have already been neutralised (see :mod:`bot.safety`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Say:
    """A public message to the channel the event came from."""

    text: str


@dataclass(frozen=True, slots=True)
class Whisper:
    """A private message (ephemeral or DM) to one user only."""

    user: str
    text: str


@dataclass(frozen=True, slots=True)
class Ack:
    """Quietly confirm one user's message (a reaction where the platform has them)."""

    user: str
    text: str


@dataclass(frozen=True, slots=True)
class AdminNotice:
    """Something the space's admins must know (a retired model, a spent budget)."""

    text: str


@dataclass(frozen=True, slots=True)
class Picture:
    """An image to post publicly, with a caption."""

    data: bytes = field(repr=False)
    filename: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class BoardRow:
    rank: int
    user: str
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class Leaderboard:
    text: str
    game: str
    period: str
    rows: tuple[BoardRow, ...]
    caller: BoardRow | None = None


@dataclass(frozen=True, slots=True)
class ResultLine:
    name: str
    answer: str
    score: float | None
    points: int


@dataclass(frozen=True, slots=True)
class RoundResult:
    """The end of a round: who won, what the answer was, every ranked answer."""

    text: str
    game: str
    round_id: int
    answer: str
    lines: tuple[ResultLine, ...] = ()


Reply = Say | Whisper | Ack | AdminNotice | Picture | Leaderboard | RoundResult
