"""What every storage backend returns: plain dataclasses and the two storage errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


class StorageError(Exception):
    """The database cannot be used (unreadable, newer schema, locked, unreachable)."""


class RoundAlreadyOpen(Exception):
    """The channel already has an open round (enforced by a unique index)."""


@dataclass(frozen=True, slots=True)
class RoundRow:
    id: int
    space: str
    channel: str
    game: str
    status: str
    starter: str
    secret: str
    locale: str
    payload: dict[str, Any]
    started_at: float
    ends_at: float
    closed_at: float | None
    winner: str | None


@dataclass(frozen=True, slots=True)
class Award:
    user: str
    points: int
    reason: str


@dataclass(frozen=True, slots=True)
class BoardEntry:
    user: str
    name: str
    points: int
    rank: int


@dataclass(frozen=True, slots=True)
class PlayerStats:
    user: str
    name: str
    rounds_played: int
    wins: int
    points: int
    best_dialect_score: float | None
    drawings_seen_by_ai: int
    drawings_recognised_by_ai: int


@dataclass(frozen=True, slots=True)
class UsageSummary:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    image_tokens: int
    cost_usd: float
    estimated: bool


@dataclass(frozen=True, slots=True)
class DrawingRecord:
    id: int
    space: str
    round_id: int
    user: str
    image: bytes
    mime: str
    width: int
    height: int
    word_id: str
    label_en: str
    label_ko: str
    ai_guess: str | None
    ai_model: str | None
    ai_correct: bool | None
    outcome: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Announcement:
    """A closed round's result waiting in the outbox (``payload`` is what the closer stored, decoded)."""

    id: int
    round_id: int
    space: str
    channel: str
    payload: Any
    created_at: float


# The settings key under which a space keeps its platform name (a Discord server's, a Slack workspace's).
SPACE_NAME = "space_name"


@dataclass(frozen=True, slots=True)
class SpaceInfo:
    """A space the database knows: its id, its platform name when one was seen, its rounds."""

    id: str
    name: str | None
    rounds: int
    last_played: float | None

    @property
    def platform(self) -> str:
        return self.id.split(":", 1)[0] if ":" in self.id else self.id


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """A bot process that reported itself recently, and the open rounds it holds."""

    id: str
    host: str
    pid: int
    started_at: float
    seen_at: float
    rounds_held: int


@dataclass(frozen=True, slots=True)
class TotalsMismatch:
    """One board bucket whose maintained total differs from the ledger's sum."""

    space: str
    game: str
    kind: str
    period_start: int
    user: str
    ledger_points: int | None
    total_points: int | None


@dataclass(frozen=True, slots=True)
class Timer:
    """A hint or time-out of a round, claimed by one process until ``claimed_until``."""

    id: int
    round_id: int
    kind: str
    due_at: float
    claimed_until: float
