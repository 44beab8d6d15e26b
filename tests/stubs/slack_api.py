"""A local Slack Web API stand-in, and signed requests for Bolt: the Slack side of the adapter tests.

``async with SlackStub(token="xoxb-test") as stub:`` serves ``stub.api_url`` (point
``SLACK_API_URL`` at it) on 127.0.0.1. It answers what the adapter calls — auth.test,
chat.postMessage, chat.postEphemeral, reactions.add, users.info, files.getUploadURLExternal,
the upload URL, files.completeUploadExternal, files.info — checks the bot token on every
call, records every call in ``stub.calls`` (method, merged form/JSON/query fields, headers),
and serves private file downloads under ``stub.file_url(name)`` only to requests that carry
``Authorization: Bearer <bot token>``, as Slack does.

Socket Mode: ``apps.connections.open`` (with the app-level token) hands out ``ws://…/link``;
``await stub.envelope(kind, payload)`` sends the connected app one envelope and returns its ack.

Knobs: ``stub.users[id] = {...}`` (admin, owner, locale, display name); ``stub.not_in_channel``
(users whose ephemeral messages fail with ``user_not_in_channel``); ``stub.rate_limit(method,
seconds)`` answers the next call of ``method`` with 429 and ``Retry-After``.

:func:`signed` builds the headers Bolt verifies (``v0`` HMAC-SHA256 of ``v0:<ts>:<body>``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class Call:
    method: str
    fields: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message's text and every text in its blocks, as Slack would show it."""
        parts = [str(self.fields.get("text") or "")]
        blocks = self.fields.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        for block in blocks:
            parts.append(json.dumps(block, ensure_ascii=False))
        return " ".join(parts)


def signed(secret: str, body: str, *, timestamp: int | None = None, retry: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
    if retry is not None:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


_MARKUP = re.compile(r"(<[@#!][^<>]*>)")


def as_sent_by_slack(typed: str) -> str:
    """What Slack puts in ``text`` for what a user typed: ``&``, ``<`` and ``>`` as entities, mentions as markup."""
    parts = _MARKUP.split(typed)
    return "".join(
        part if _MARKUP.fullmatch(part) else part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for part in parts
    )


def command_body(command: str, text: str, *, user: str, channel: str = "C1", team: str = "T1") -> str:
    return urlencode(
        {
            "command": command,
            "text": as_sent_by_slack(text),
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "team_id": team,
            "team_domain": f"{team.lower()}-workspace",
            "trigger_id": f"trig-{time.monotonic_ns()}",
            "response_url": "http://127.0.0.1:9/unused",
        }
    )


class SlackStub:
    def __init__(self, token: str = "xoxb-test", app_token: str = "xapp-test") -> None:
        self.token = token
        self.app_token = app_token
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.not_in_channel: set[str] = set()
        self._limits: dict[str, float] = {}
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def __aenter__(self) -> SlackStub:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{name}", self._download)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def file_url(self, name: str) -> str:
        return f"{self.base}/files/{name}"

    def rate_limit(self, method: str, seconds: float = 1) -> None:
        self._limits[method] = seconds

    # --- what the tests read ------------------------------------------------------------------
    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def public_texts(self) -> list[str]:
        return [c.text for c in self.of("chat.postMessage")]

    async def wait_for(self, method: str, where: Any = None, *, after: int = 0, within: float = 8.0) -> Call:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for call in self.calls[after:]:
                if call.method == method and (where is None or where(call)):
                    return call
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {method} call{' matching' if where else ''} within {within} s")

    # --- the Web API ---------------------------------------------------------------------------
    async def _fields(self, request: web.Request) -> dict[str, Any]:
        fields: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            fields.update(await request.json())
        elif request.can_read_body:
            fields.update(dict(await request.post()))
        return fields

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        fields = await self._fields(request)
        self.calls.append(Call(method, fields, dict(request.headers)))
        expected = self.app_token if method == "apps.connections.open" else self.token
        if request.headers.get("Authorization") != f"Bearer {expected}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self._limits:
            seconds = self._limits.pop(method)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(int(seconds))}
            )
        return web.json_response(self._answer(method, fields))

    def _answer(self, method: str, fields: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user": "catchbot", "user_id": "UBOT", "team": "Test", "team_id": "T1", "bot_id": "B1"}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"{self.base.replace('http', 'ws', 1)}/link"}
        if method == "chat.postMessage":
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": fields.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.postEphemeral":
            if fields.get("user") in self.not_in_channel:
                return {"ok": False, "error": "user_not_in_channel"}
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "users.info":
            user = self.users.get(str(fields.get("user")), {})
            return {
                "ok": True,
                "user": {
                    "id": fields.get("user"),
                    "name": user.get("name", str(fields.get("user")).lower()),
                    "is_admin": user.get("is_admin", False),
                    "is_owner": user.get("is_owner", False),
                    "locale": user.get("locale", "en-US"),
                    "profile": {"display_name": user.get("display_name", ""), "real_name": user.get("name", "")},
                },
            }
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):05d}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = fields.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        if method == "files.info":
            return {"ok": True, "file": {"id": fields.get("file"), "name": "upload"}}
        return {"ok": True}

    # --- Socket Mode ---------------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        self.sockets.append(ws)
        async for message in ws:
            data = json.loads(message.data)
            if "envelope_id" in data:
                self.acks[data["envelope_id"]] = data
        return ws

    async def envelope(self, kind: str, payload: dict[str, Any], *, within: float = 8.0) -> dict[str, Any]:
        """Send one envelope to the connected app (``slash_commands``, ``events_api``, ``interactive``); its ack."""
        steps = int(within / 0.02)
        for _ in range(steps):
            if self.sockets:
                break
            await asyncio.sleep(0.02)
        assert self.sockets, "the app never opened a Socket Mode connection"
        envelope_id = f"env-{next(self._ts)}"
        await self.sockets[-1].send_json(
            {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        )
        for _ in range(steps):
            if envelope_id in self.acks:
                return self.acks[envelope_id]
            await asyncio.sleep(0.02)
        raise AssertionError(f"envelope {kind} was not acknowledged")

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[request.match_info['file_id']])}")

    async def _download(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            # Slack answers an unauthenticated download with its sign-in page, not the file.
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        self.downloads.append(name)
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="application/octet-stream")
