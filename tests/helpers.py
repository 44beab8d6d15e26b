"""Test helpers: the adapter side of the boundary, a clock the test moves, event builders."""

from __future__ import annotations

from collections.abc import Sequence

from bot.events import ChatMessage, Command, ImageUpload, Origin
from bot.replies import Reply, RoundResult


class FakeClock:
    """Wall-clock seconds the test moves forward by hand (timers read it through the engine)."""

    def __init__(self, now: float = 1_795_000_000.0) -> None:  # 2026-11-18, a Wednesday
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingTransport:
    """The adapter side of the boundary: keeps what the engine sends on its own."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Reply]] = []

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        self.sent.extend((space, channel, r) for r in replies)

    def texts(self) -> list[str]:
        return [getattr(r, "text", "") for _, _, r in self.sent]

    def results(self) -> list[RoundResult]:
        """Round results: the engine announces them through the transport once their points are committed."""
        return [r for _, _, r in self.sent if isinstance(r, RoundResult)]


def origin(user: str = "alice", channel: str = "c1", space: str = "s1", admin: bool = False) -> Origin:
    return Origin(space, channel, user, user.capitalize(), is_admin=admin)


def command(
    name: str, *args: str, user: str = "alice", channel: str = "c1", space: str = "s1", admin: bool = False
) -> Command:
    return Command(origin(user, channel, space, admin), name, tuple(args))


def chat(text: str, user: str = "bob", channel: str = "c1", space: str = "s1") -> ChatMessage:
    return ChatMessage(origin(user, channel, space), text)


def upload(
    data: bytes, user: str = "alice", channel: str = "c1", space: str = "s1", filename: str = "drawing.png"
) -> ImageUpload:
    return ImageUpload(origin(user, channel, space), data, filename, "image/png")
