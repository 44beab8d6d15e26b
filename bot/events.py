"""Platform-neutral events: what an adapter hands the core.

An adapter turns a Discord message, a Slack event or a console line into one of
these and calls :meth:`bot.engine.Engine.handle`. The core never sees a
platform payload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Origin:
    """Who said it and where.

    ``space`` is a Discord guild, a Slack workspace or the console, namespaced by
    the adapter (``discord:<guild>``, ``slack:<team>``) so that one process can
    serve several platforms; ``channel`` is unique within its space (a thread is
    a channel of its own). ``is_admin`` is the adapter's judgement (Manage
    Server on Discord, workspace admin on Slack, always true on the console).
    ``locale`` is the platform's language hint (a Discord guild's preferred
    locale, a Slack user's locale, the terminal's ``LANG``); a space's own
    setting wins over it (see :func:`bot.i18n.language_of`). ``space_name`` is
    the server's or workspace's name where the platform says it (for
    ``catchbot db spaces``).
    """

    space: str
    channel: str
    user: str
    display_name: str
    is_admin: bool = False
    locale: str | None = None
    space_name: str | None = None

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


Fetch = Callable[[int], Awaitable[bytes]]
"""Downloads a platform file and returns at most the given number of bytes."""


@dataclass(frozen=True, slots=True)
class ImageUpload:
    """A file posted in a channel.

    The console passes the bytes in ``data``. Chat platforms pass ``data=b""``,
    the platform's declared ``size`` and ``content_type``, and ``fetch``: the core
    downloads the file only once it has decided it wants it (a drawing round is
    open, the uploader is the drawer, the declared type and size are acceptable).
    """

    origin: Origin
    data: bytes = field(repr=False)
    filename: str
    content_type: str | None = None
    event_id: str | None = None
    size: int | None = None
    fetch: Fetch | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SecretUndelivered:
    """The adapter could not deliver a round's secret privately (a Discord DM refused).

    ``origin`` is the drawer in the round's channel. The core cancels the round
    without revealing the word.
    """

    origin: Origin
    round_id: int
    event_id: str | None = None


Event = Command | ChatMessage | ImageUpload | SecretUndelivered
