"""The Discord adapter: the whole game on Discord with discord.py 2.x.

- :func:`build_bot` builds the discord.py bot from settings and an engine (tests and scripts drive it);
- :func:`run_discord` connects and runs until cancelled (``catchbot run`` with ``DISCORD_TOKEN`` set);
- :class:`DiscordTransport` is the engine's transport for replies that come later.

Wiring for Discord alone (:func:`serve` is exactly this)::

    transport = DiscordTransport()
    async with running_engine(settings, transport) as engine:
        await run_discord(settings, engine, transport)

``catchbot run`` (:mod:`adapters.launch`) passes its router instead, which then routes
every ``discord:`` space to this adapter.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import discord
from discord.ext import commands

from adapters.discord._bot import CatchBot, CatchBotMixin, ShardedCatchBot, point_at_discord
from adapters.discord._transport import DiscordTransport, guild_id_of, space_id
from bot.config import Settings
from bot.engine import Engine, Transport
from bot.errors import UserError

__all__ = [
    "INVITE_PERMISSIONS",
    "INVITE_SCOPES",
    "DiscordTransport",
    "build_bot",
    "guild_id_of",
    "invite_url",
    "run_discord",
    "serve",
    "space_id",
]

log = logging.getLogger("catchbot.discord")

INVITE_SCOPES = ("bot", "applications.commands")
# What the bot needs in a channel, and nothing more: see README, "Discord", step 3.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


def build_bot(
    settings: Settings,
    engine: Engine | None,
    transport: DiscordTransport | None = None,
    *,
    reads_message_content: bool = True,
    **options: Any,
) -> commands.Bot:
    """The discord.py bot for ``engine``; ``options`` go to discord.py (e.g. ``guild_ready_timeout``).

    ``transport`` (or the engine's own, when it is a :class:`DiscordTransport`) is attached so
    that the engine's later replies reach this bot.
    """
    point_at_discord(settings)
    # catchbot never joins voice: no warnings about voice libraries it does not need.
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    intents = discord.Intents.default()
    intents.message_content = reads_message_content
    kwargs: dict[str, Any] = {
        "command_prefix": commands.when_mentioned_or(settings.discord_prefix),
        "intents": intents,
        # Nobody is pinged unless a message says so explicitly: not by a player's name, not by a model's answer.
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,  # the core's help command answers instead
        "case_insensitive": True,
        "strip_after_prefix": True,
        **options,
    }
    if settings.discord_application_id is not None:
        kwargs["application_id"] = settings.discord_application_id
    plan = settings.discord_shard_plan
    bot: CatchBotMixin
    if plan is not None:
        count, ids = plan
        bot = ShardedCatchBot(
            settings,
            engine,
            reads_message_content=reads_message_content,
            shard_count=count,
            shard_ids=list(ids) if ids is not None else None,
            **kwargs,
        )
    else:
        bot = CatchBot(settings, engine, reads_message_content=reads_message_content, **kwargs)
    if transport is None and engine is not None and isinstance(engine.services.transport, DiscordTransport):
        transport = engine.services.transport
    if transport is not None:
        transport.attach(bot)
    elif engine is not None:
        log.warning(
            "the engine's transport is not a DiscordTransport: hints, time-outs and AI answers will not reach Discord"
        )
    return bot  # type: ignore[return-value]


class _Routes(Protocol):
    """The launcher's router (:class:`adapters.launch.Router`): one transport per platform."""

    def add(self, platform: str, transport: Transport) -> None: ...


async def run_discord(
    settings: Settings, engine: Engine, transport: DiscordTransport | _Routes | None = None, **options: Any
) -> None:
    """Connect and play until cancelled.

    ``transport`` is this adapter's :class:`DiscordTransport`, or the launcher's router, which then
    gets one for the ``discord`` platform; without either the engine's own transport must be one.

    Without the message content intent enabled in the developer portal Discord refuses the
    connection (close code 4014); the bot then connects again without it: slash commands and
    buttons work, and the first round in a channel says chat guesses need the intent.
    """
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    if transport is not None and not isinstance(transport, DiscordTransport):
        ours = DiscordTransport()
        transport.add("discord", ours)
        transport = ours
    token = settings.discord_token.get_secret_value()
    reads_message_content = True
    while True:
        bot = build_bot(settings, engine, transport, reads_message_content=reads_message_content, **options)
        try:
            async with bot:
                await bot.start(token)
            return
        except discord.LoginFailure:
            raise UserError("discord.bad_token") from None
        except discord.PrivilegedIntentsRequired:
            if not reads_message_content:
                raise
            log.warning(
                "Discord refused the message content intent (not enabled for this application): "
                "starting without it; slash commands work, chat guesses do not (README, Discord, step 2)"
            )
            reads_message_content = False


async def serve(settings: Settings) -> None:
    """Everything ``catchbot run`` needs for Discord alone: the engine, its transport and the bot."""
    from bot.app import running_engine

    transport = DiscordTransport()
    async with running_engine(settings, transport) as engine:
        await run_discord(settings, engine, transport)
