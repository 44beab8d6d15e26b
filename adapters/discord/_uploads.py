"""Discord attachments → the core's ImageUpload: declared size and type first, bytes only when the core asks.

Attachment URLs are signed and expire, so no URL is kept or handed on: the core
gets a ``fetch`` that reads the bytes from the CDN as they come and stops at the
core's limit (``Attachment.read()`` would read a file whose declared size is false whole).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from adapters._download import read_at_most
from bot.events import Fetch, ImageUpload, Origin
from bot.games.drawing import looks_like_image


def pick(attachments: Sequence[discord.Attachment]) -> discord.Attachment | None:
    """The first image-looking attachment, else the first one (the core then says it is not an image)."""
    for attachment in attachments:
        if looks_like_image(attachment.filename, attachment.content_type):
            return attachment
    return attachments[0] if attachments else None


def fetcher(attachment: discord.Attachment) -> Fetch:
    async def fetch(limit: int) -> bytes:
        # The core asks only after checking the declared size; a file that is larger still stops at the limit.
        return await read_at_most(attachment.url, limit, what="Discord attachment")

    return fetch


def upload_of(origin: Origin, attachment: discord.Attachment, event_id: str) -> ImageUpload:
    return ImageUpload(
        origin,
        b"",
        attachment.filename,
        attachment.content_type,
        event_id=event_id,
        size=attachment.size,
        fetch=fetcher(attachment),
    )
