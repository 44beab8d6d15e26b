"""Reading a platform's file over HTTP without trusting its declared size: at most ``limit`` bytes."""

from __future__ import annotations

import logging

import aiohttp

from bot.errors import UserError

log = logging.getLogger("catchbot.adapters")
CHUNK = 64 * 1024


async def read_at_most(url: str, limit: int, *, headers: dict[str, str] | None = None, what: str = "file") -> bytes:
    """The body at ``url``, stopped at ``limit`` bytes however much the server sends.

    A failed download (not 200, no connection) is one sentence for the player.
    """
    timeout = aiohttp.ClientTimeout(total=60)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as resp:
            if resp.status != 200:
                log.warning("%s download answered %s", what, resp.status)
                raise UserError("images.download_failed")
            data = bytearray()
            async for chunk in resp.content.iter_chunked(CHUNK):
                data += chunk
                if len(data) >= limit:
                    break
            return bytes(data[:limit])
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("%s download failed: %s", what, type(exc).__name__)
        raise UserError("images.download_failed") from None
