"""A cap on what a model server can make us read: the body's bytes after decompression.

The SDK reads a whole answer into memory, and the aiohttp transport leaves gzip to httpx, which
inflates without a limit: a 1 MB gzip body can become 1 GB. This transport wraps the one the
SDK builds, asks only for gzip or deflate, inflates them itself in bounded steps and stops a
body at ``limit`` bytes with :class:`ResponseTooLarge` (which the gateway does not retry).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx

# A chat answer is a few KB; a model's whole answer within max_tokens stays far below this.
GAME_RESPONSE_LIMIT = 4 * 1024 * 1024
# Fine-tuning reads result files and job lists, which can be larger.
TOOL_RESPONSE_LIMIT = 256 * 1024 * 1024
ACCEPTED_ENCODING = "gzip, deflate"
_STEP = 64 * 1024  # inflate at most this much per call, so a bomb never builds up in one go


class ResponseTooLarge(Exception):
    """The server's answer went past the byte cap (after decompression)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the server's answer is larger than {limit // 1024} KiB")
        self.limit = limit


def _inflater(encoding: str) -> Any:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    return zlib.decompressobj()  # deflate: the only other encoding let through


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int, inflater: Any) -> None:
        self._inner, self._limit, self._inflater = inner, limit, inflater

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self._inner:
            pending = chunk
            while pending:
                if self._inflater is None:
                    out, pending = pending, b""
                else:
                    out = self._inflater.decompress(pending, _STEP)
                    pending = self._inflater.unconsumed_tail
                total += len(out)
                if total > self._limit:
                    raise ResponseTooLarge(self._limit)
                if out:
                    yield out

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedTransport(httpx.AsyncBaseTransport):
    """``inner`` with every response body capped at ``limit`` bytes once decompressed."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self._inner, self._limit = inner, limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = ACCEPTED_ENCODING
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            await response.aclose()
            raise ResponseTooLarge(self._limit)  # nothing we asked for; cannot be bounded
        declared = response.headers.get("Content-Length", "")
        if not encoding and declared.isdigit() and int(declared) > self._limit:
            await response.aclose()
            raise ResponseTooLarge(self._limit)
        dropped = ("content-encoding", "content-length")  # the body is handed on inflated, its length unknown
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=headers,
            stream=_BoundedStream(response.stream, self._limit, _inflater(encoding)),
            request=request,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def too_large(exc: BaseException) -> ResponseTooLarge | None:
    """The byte cap, when it is ``exc`` or what caused it (the SDK wraps it in a connection error)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ResponseTooLarge):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
