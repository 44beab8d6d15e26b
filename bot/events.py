"""Platform-neutral events: what an adapter hands the core.

An adapter turns a Discord message, a Slack event or a console line into one of
these and calls :meth:`bot.engine.Engine.handle`. The core never sees a
platform payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Origin:
    """Who said it and where.

    ``space`` is a Discord guild, a Slack workspace or the console; ``channel``
    is unique within its space. ``is_admin`` is the adapter's judgement (Manage
    Server on Discord, workspace admin on Slack, always true on the console).
    """

    space: str
    channel: str
    user: str
    display_name: str
    is_admin: bool = False

    @property
    def channel_key(self) -> tuple[str, str]:
        return (self.space, self.channel)


@dataclass(frozen=True, slots=True)
class Command:
    origin: Origin
    name: str
    args: tuple[str, ...] = ()
    # Platforms that retry deliveries (Slack) pass their event id so that a
    # resend is recognised and ignored.
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    origin: Origin
    text: str
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ImageUpload:
    origin: Origin
    data: bytes = field(repr=False)
    filename: str
    content_type: str | None = None
    event_id: str | None = None


Event = Command | ChatMessage | ImageUpload
