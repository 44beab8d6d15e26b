"""Platform-neutral replies: what the core hands back to an adapter.

Every reply carries finished, localised ``text`` that an adapter can post as is;
structured replies also carry their data so that an adapter may render richer
forms (a Discord embed, Slack blocks) without parsing text. User text and model
output inside ``text`` have already been neutralised (see :mod:`bot.safety`).
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Say:
    """A public message to the channel the event came from."""

    text: str


@dataclass(frozen=True, slots=True)
class Whisper:
    """A private message (ephemeral or DM) to one user only.

    ``round_id`` is set when the message carries a round's secret: an adapter that
    cannot deliver it privately reports :class:`bot.events.SecretUndelivered`.
    """

    user: str
    text: str
    round_id: int | None = None


@dataclass(frozen=True, slots=True)
class Ack:
    """Quietly confirm one user's message (a reaction where the platform has them)."""

    user: str
    text: str


@dataclass(frozen=True, slots=True)
class Quiet:
    """Why the core said nothing: chat platforms drop it, the console (one person testing) shows it."""

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
class Thinking:
    """The AI player is working on an answer: a typing indicator where the platform has one."""

    game: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class RoundStarted:
    """The public start of a round.

    ``actions`` are command names an adapter may offer as buttons (``secret``,
    ``hint``, ``skip``); a press is the same :class:`bot.events.Command` a typed
    command would be, and the core decides who may do what.
    """

    text: str
    game: str
    round_id: int
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BoardRow:
    rank: int
    user: str
    name: str
    points: int
    is_ai: bool = False


@dataclass(frozen=True, slots=True)
class Leaderboard:
    text: str
    game: str
    period: str
    rows: tuple[BoardRow, ...]
    caller: BoardRow | None = None
    title: str = ""
    you_text: str = ""
    empty_text: str = ""


@dataclass(frozen=True, slots=True)
class ResultLine:
    name: str
    answer: str
    score: float | None
    points: int
    is_ai: bool = False


@dataclass(frozen=True, slots=True)
class RoundResult:
    """The end of a round: who won, what the answer was, every ranked answer."""

    text: str
    game: str
    round_id: int
    answer: str
    lines: tuple[ResultLine, ...] = ()
    title: str = ""
    # "won", "ai_won", "scored" (a dialect round's best answer), "timeout", "skipped" or "expired":
    # a renderer's title and colour.
    outcome: str = ""
    # ``text`` without what ``lines`` say, for renderers that show the lines apart (embed fields).
    summary: str = ""


@dataclass(frozen=True, slots=True)
class StatsCard:
    """One player's figures; ``fields`` are (localised label, value) pairs."""

    text: str
    user: str
    name: str
    is_ai: bool
    fields: tuple[tuple[str, str], ...] = ()


Reply = (
    Say
    | Whisper
    | Ack
    | Quiet
    | AdminNotice
    | Picture
    | Thinking
    | RoundStarted
    | Leaderboard
    | RoundResult
    | StatsCard
)


_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Say,
        Whisper,
        Ack,
        Quiet,
        AdminNotice,
        Picture,
        Thinking,
        RoundStarted,
        Leaderboard,
        RoundResult,
        StatsCard,
    )
}


def to_record(reply: Reply) -> dict[str, Any]:
    """A JSON-ready form of a reply, for announcements kept until they are delivered."""
    record: dict[str, Any] = {"type": type(reply).__name__}
    for f in fields(reply):
        value = getattr(reply, f.name)
        if isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        elif isinstance(value, BoardRow | ResultLine):
            value = asdict(value)
        elif isinstance(value, tuple):
            value = [asdict(v) if isinstance(v, BoardRow | ResultLine) else v for v in value]
        record[f.name] = value
    return record


def from_record(record: dict[str, Any]) -> Reply:
    """The reply :func:`to_record` made; raises ValueError for a record it did not make."""
    kind = _TYPES.get(str(record.get("type")))
    if kind is None:
        raise ValueError(f"not a reply record: {record.get('type')!r}")
    values: dict[str, Any] = {}
    for f in fields(kind):
        if f.name not in record:
            continue
        value = record[f.name]
        if kind is Picture and f.name == "data":
            value = base64.b64decode(value)
        elif f.name == "rows":
            value = tuple(BoardRow(**v) for v in value)
        elif f.name == "caller" and value is not None:
            value = BoardRow(**value)
        elif f.name == "lines":
            value = tuple(ResultLine(**v) for v in value)
        elif f.name in ("actions", "fields"):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        values[f.name] = value
    return kind(**values)  # type: ignore[no-any-return]
