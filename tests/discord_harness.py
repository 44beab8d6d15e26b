"""The Discord test rig: real discord.py, connected over HTTP and WebSocket to the stand-in, and the real engine.

``async with discord_game(make_settings, ai=stub) as game:`` starts the local Discord
stand-in, a real engine on a real SQLite file (AI players through the local
OpenAI-compatible server when ``ai`` is given) and :func:`adapters.discord.run_discord`,
and waits until the bot has its guild.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from adapters.discord import DiscordTransport, run_discord, space_id
from bot.app import running_engine
from bot.config import Settings
from bot.engine import Engine
from bot.rounds import ActiveRound
from tests.stubs.discord_server import Call, DiscordStub
from tests.stubs.openai_server import OpenAIStub


@dataclass
class Game:
    stub: DiscordStub
    engine: Engine
    transport: DiscordTransport
    settings: Settings

    @property
    def space(self) -> str:
        return space_id(self.stub.guild_id)

    def round_in(self, channel: int | None = None) -> ActiveRound | None:
        return self.engine.rounds.get((self.space, str(channel or self.stub.general_id)))

    async def wait_round(self, channel: int | None = None, within: float = 5.0) -> ActiveRound:
        for _ in range(int(within / 0.02)):
            active = self.round_in(channel)
            if active is not None:
                return active
            await asyncio.sleep(0.02)
        raise AssertionError("no round opened")

    async def wait_closed(self, channel: int | None = None, within: float = 8.0) -> None:
        for _ in range(int(within / 0.02)):
            if self.round_in(channel) is None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError("round still open")

    async def channel_post(self, channel: int, where: Callable[[Call], bool] | None = None, after: int = 0) -> Call:
        return await self.stub.wait_for_call("POST", f"/channels/{channel}/messages", where, after=after)


@contextlib.asynccontextmanager
async def discord_game(
    make_settings: Callable[..., Settings],
    *,
    ai: OpenAIStub | None = None,
    stub: DiscordStub | None = None,
    gateway: bool = True,
    expect_shards: int = 1,
    bot_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Game]:
    async with contextlib.AsyncExitStack() as stack:
        if stub is None:
            stub = await stack.enter_async_context(DiscordStub())
        overrides.setdefault("discord_token", "test-token")
        overrides.setdefault("discord_api_base", stub.api_base)
        if gateway:
            overrides.setdefault("discord_gateway_url", stub.gateway_url)
        if ai is not None:
            overrides = {**ai.player_settings(), **overrides}
        settings = make_settings(**overrides)
        transport = DiscordTransport()
        engine = await stack.enter_async_context(running_engine(settings, transport))
        task = asyncio.create_task(
            run_discord(settings, engine, transport, guild_ready_timeout=0.05, **(bot_options or {}))
        )
        try:
            await stub.wait_ready(shards=expect_shards)
            for _ in range(250):
                if transport.bot is not None and transport.bot.get_guild(stub.guild_id) is not None:  # type: ignore[attr-defined]
                    break
                await asyncio.sleep(0.02)
            yield Game(stub, engine, transport, settings)
        finally:
            await stub.settle()  # let the bot finish sending before it is stopped
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await engine.idle()
