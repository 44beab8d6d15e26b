"""``catchbot run``: one engine, every configured platform, or the console when none is.

Discord and Slack may run in one process on one database: their spaces are
namespaced (``discord:…``, ``slack:…``), and :class:`Router` hands each later
message (a hint, a time-out, the AI's answer) to the adapter whose space it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.config import Settings
from bot.engine import Engine, Transport
from bot.errors import UserError
from bot.replies import Reply
from bot.services import NoRoute

log = logging.getLogger("catchbot")

Runner = Callable[[Settings, Engine, "Router"], Awaitable[None]]


PLATFORM_NAMES = {"discord": "Discord", "slack": "Slack"}


def platform_of(space: str) -> str:
    """``discord:123`` → ``discord``; a space without a prefix (the console's) is its own platform."""
    return space.split(":", 1)[0]


class Router:
    """The engine's transport when several adapters share it."""

    def __init__(self) -> None:
        self._routes: dict[str, Transport] = {}

    def add(self, platform: str, transport: Transport) -> None:
        self._routes[platform] = transport

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        transport = self._routes.get(platform_of(space))
        if transport is None:
            # Not connected yet, or a platform this process does not run: the core keeps a round's
            # result and tries again later (another process may deliver it).
            raise NoRoute(space)
        await transport.deliver(space, channel, replies)


def configured_platforms(settings: Settings) -> list[str]:
    platforms = []
    if settings.discord_token is not None:
        platforms.append("discord")
    if settings.slack_bot_token is not None:
        platforms.append("slack")
    return platforms


def _runner(platform: str) -> Runner:
    # Imported only when configured: a console-only bot never loads discord.py or slack-bolt.
    if platform == "discord":
        from adapters.discord import run_discord

        return run_discord
    from adapters.slack import run_slack

    return run_slack


async def serve_platforms(settings: Settings, platforms: Sequence[str]) -> int:
    """Run every configured platform on one engine until one of them stops or the process is interrupted."""
    from bot.app import running_engine

    router = Router()
    async with running_engine(settings, router) as engine:
        tasks = [asyncio.create_task(_runner(p)(settings, engine, router), name=f"catchbot-{p}") for p in platforms]
        try:
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for platform, task in zip(platforms, tasks, strict=True):
                if task in done and isinstance(task.exception(), OSError):
                    # No route, refused, DNS: one sentence, not a traceback (the -v log has the details).
                    log.info("%s connection failed", platform, exc_info=task.exception())
                    name = PLATFORM_NAMES.get(platform, platform)
                    raise UserError("cli.platform_unreachable", platform=name, detail=str(task.exception())[:200])
            for task in done:
                task.result()  # an adapter that failed to start says why
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return 0
