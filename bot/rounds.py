"""What the engine and the games share: a space's effective settings and an open round."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.dialect.bank import DialectItem
from bot.identity import AI_NAME, AI_USER
from bot.words import Word
from storage import RoundRow

# The AI is a player of its own on every board (its reserved identity: bot/identity.py).
__all__ = ["AI_NAME", "AI_USER", "ActiveRound", "Space"]


@dataclass(slots=True)
class Space:
    """A space's effective settings: its own values over the global ones over the environment."""

    id: str
    locale: str
    zone: ZoneInfo
    values: dict[str, str]

    def model(self, settings: Settings, game: str) -> str:
        return self.values.get(f"model.{game}") or settings.model_config_for(game).model  # type: ignore[arg-type]

    @property
    def collecting(self) -> bool:
        return self.values.get("collect_drawings") == "on"


@dataclass(slots=True)
class ActiveRound:
    id: int
    game: str
    space: str
    channel: str
    starter: str
    starter_name: str
    locale: str
    started_at: float
    ends_at: float
    payload: dict[str, Any]
    word: Word | None = None
    item: DialectItem | None = None
    # Each player's recent guess times, for the brute-force limit (a sliding window).
    recent_guesses: dict[str, deque[float]] = field(default_factory=dict)
    # Things a player has been told once this round: ("list", user), ("throttled", user, window start).
    told: set[tuple[str, ...]] = field(default_factory=set)
    guessers: set[str] = field(default_factory=set)
    closed: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.space, self.channel)

    @property
    def duration(self) -> float:
        return max(self.ends_at - self.started_at, 1e-9)

    def left(self, now: float) -> int:
        return max(0, round(self.ends_at - now))

    @classmethod
    def from_row(cls, row: RoundRow, *, word: Word | None = None, item: DialectItem | None = None) -> ActiveRound:
        """An open round read back from the database after a restart."""
        return cls(
            id=row.id,
            game=row.game,
            space=row.space,
            channel=row.channel,
            starter=row.starter,
            starter_name=row.payload.get("starter_name", row.starter),
            locale=row.locale,
            started_at=row.started_at,
            ends_at=row.ends_at,
            payload=row.payload,
            word=word,
            item=item,
        )
