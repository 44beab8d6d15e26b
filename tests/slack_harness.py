"""The Slack test rig: the real Bolt app served over HTTP on 127.0.0.1, signed requests, the real engine.

``async with slack_game(make_settings, ai=stub) as game:`` starts the Web API stand-in
(:mod:`tests.stubs.slack_api`), a real engine on a real SQLite file (AI players through the
local OpenAI-compatible server when ``ai`` is given) and the adapter's Bolt app behind
aiohttp, exactly as HTTP mode runs it. ``game.command(...)``, ``game.message(...)`` and
``game.press(...)`` send what Slack would send, signed with the app's signing secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from adapters.launch import Router
from adapters.slack import EVENTS_PATH, SlackAdapter, build_app, space_id, web_app
from bot.app import running_engine
from bot.config import Settings
from bot.engine import Engine
from bot.rounds import ActiveRound
from tests.stubs.openai_server import OpenAIStub
from tests.stubs.slack_api import SlackStub, as_sent_by_slack, command_body, signed

SECRET = "test-signing-secret"
TEAM = "T1"
CHANNEL = "C1"


@dataclass
class SlackGame:
    stub: SlackStub
    engine: Engine
    adapter: SlackAdapter
    settings: Settings
    url: str
    session: aiohttp.ClientSession
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def space(self) -> str:
        return space_id(TEAM)

    def round_in(self, channel: str = CHANNEL) -> ActiveRound | None:
        return self.engine.rounds.get((self.space, channel))

    async def wait_round(self, channel: str = CHANNEL, within: float = 5.0) -> ActiveRound:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if (active := self.round_in(channel)) is not None:
                return active
            await asyncio.sleep(0.02)
        raise AssertionError("no round opened")

    async def wait_closed(self, channel: str = CHANNEL, within: float = 8.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.round_in(channel) is None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("round still open")

    async def post(
        self, body: str, content_type: str, *, headers: dict[str, str] | None = None, sign: bool = True, **how: Any
    ) -> tuple[int, str]:
        sent = {"Content-Type": content_type, **(signed(SECRET, body, **how) if sign else {}), **(headers or {})}
        async with self.session.post(self.url, data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def command(self, text: str, *, user: str, command: str = "/catchbot", channel: str = CHANNEL) -> int:
        body = command_body(command, text, user=user, channel=channel, team=TEAM)
        status, _ = await self.post(body, "application/x-www-form-urlencoded")
        return status

    def event_body(self, event: dict[str, Any], event_id: str | None = None) -> str:
        return json.dumps(
            {
                "token": "unused",
                "team_id": TEAM,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._ids):08d}",
                "event_time": int(time.time()),
                "event": {"channel_type": "channel", **event},
            }
        )

    async def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int | None = None) -> int:
        status, _ = await self.post(self.event_body(event, event_id), "application/json", retry=retry)
        return status

    async def message(
        self, user: str, text: str, *, channel: str = CHANNEL, thread_ts: str | None = None, **extra: Any
    ) -> int:
        ts = f"1700000100.{next(self._ids):06d}"
        event = {"type": "message", "user": user, "text": as_sent_by_slack(text), "channel": channel, "ts": ts, **extra}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return await self.event(event, event_id=extra.pop("event_id", None))

    async def share(
        self, user: str, name: str, data: bytes, mimetype: str, *, size: Any = None, url: str | None = None
    ) -> int:
        """A file shared in the channel; ``url`` (``""`` for none) and ``size`` may be anything an event can hold."""
        self.stub.files[name] = data
        file = {
            "id": f"F{next(self._ids)}",
            "name": name,
            "mimetype": mimetype,
            "size": len(data) if size is None else size,
            "url_private_download": self.stub.file_url(name) if url is None else url,
        }
        return await self.message(user, "", subtype="file_share", files=[file])

    async def press(self, action: str, round_id: int, *, user: str, channel: str = CHANNEL) -> int:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1",
            "trigger_id": f"trig-{next(self._ids)}",
            "channel": {"id": channel, "name": "general"},
            "container": {"type": "message", "channel_id": channel, "message_ts": "1700000000.000001"},
            "message": {"ts": "1700000000.000001", "type": "message"},
            "actions": [
                {
                    "type": "button",
                    "action_id": f"catchbot_{action}",
                    "block_id": f"catchbot_round_{round_id}",
                    "value": str(round_id),
                    "action_ts": str(time.time()),
                }
            ],
        }
        status, _ = await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        return status


@contextlib.asynccontextmanager
async def slack_game(
    make_settings: Callable[..., Settings], *, ai: OpenAIStub | None = None, **overrides: Any
) -> AsyncIterator[SlackGame]:
    async with contextlib.AsyncExitStack() as stack:
        stub = await stack.enter_async_context(SlackStub())
        overrides.setdefault("slack_bot_token", stub.token)
        overrides.setdefault("slack_signing_secret", SECRET)
        overrides.setdefault("slack_api_url", stub.api_url)
        if ai is not None:
            overrides = {**ai.player_settings(), **overrides}
        settings = make_settings(**overrides)
        router = Router()
        engine = await stack.enter_async_context(running_engine(settings, router))
        app, adapter = build_app(settings, engine)
        router.add("slack", adapter)
        server = TestServer(web_app(app), host="127.0.0.1")
        await server.start_server()
        stack.push_async_callback(server.close)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        game = SlackGame(stub, engine, adapter, settings, str(server.make_url(EVENTS_PATH)), session)
        try:
            yield game
        finally:
            await asyncio.sleep(0.2)  # let listeners finish what they started after their ack
            await engine.idle()
