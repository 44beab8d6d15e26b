"""The discord.py bot: Discord events in, the core's events out, replies back through the sender."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

import discord
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket

from adapters.discord._commands import CatalogTranslator, add_all, time_zones
from adapters.discord._render import CONTENT_MAX, Outgoing, cut, parse_custom_id, render_all
from adapters.discord._transport import Sender, space_id
from adapters.discord._uploads import pick, upload_of
from bot import i18n
from bot.config import Settings
from bot.engine import Engine
from bot.events import ChatMessage, Command, Event, Origin
from bot.logs import STATUS
from bot.replies import Quiet, Reply, Thinking, Whisper

log = logging.getLogger("catchbot.discord")
status = logging.getLogger(STATUS)  # shown by default: which guilds and shards are up

# Discord drops an interaction not answered within 3 seconds; past this, defer and follow up.
DEFER_AFTER = 2.0
# Where the digest of the last global command sync is kept (a settings row outside any guild's space).
SYNC_RECORD_SPACE = "discord"
_DISCORD_REST = discord.http.Route.BASE
_DISCORD_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def point_at_discord(settings: Settings) -> None:
    """REST base and gateway for this process (discord.py keeps both on the class, as large bots set them)."""
    discord.http.Route.BASE = (settings.discord_api_base or _DISCORD_REST).rstrip("/")
    gateway = settings.discord_gateway_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway) if gateway else _DISCORD_GATEWAY


class CatchBotMixin:
    """What catchbot adds to discord.py's Bot and AutoShardedBot."""

    engine: Engine
    settings: Settings
    sender: Sender
    reads_message_content: bool

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None,
        *,
        reads_message_content: bool,
        defer_after: float = DEFER_AFTER,
        **options: Any,
    ) -> None:
        super().__init__(**options)  # type: ignore[call-arg]
        self.settings = settings
        self.defer_after = defer_after
        self.engine = engine  # type: ignore[assignment]  # None only for `catchbot discord sync`
        self.reads_message_content = reads_message_content
        self.sender = Sender(self)
        add_all(self, self.run_command)  # type: ignore[arg-type]
        parsers: dict[str, Any] = self._connection.parsers  # type: ignore[attr-defined]
        for event, parse in parsers.items():
            parsers[event] = _dropping_malformed(event, parse)

    # --- start-up ------------------------------------------------------------------
    async def setup_hook(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        await bot.tree.set_translator(CatalogTranslator())
        await asyncio.to_thread(time_zones)  # the zone list reads the disk once: not on the event loop later
        if self.settings.discord_api_base and not self.settings.discord_gateway_url:
            # A REST proxy knows its gateway; a plain Bot would otherwise go straight to Discord's default.
            _count, url, _limits = await bot.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        if self.engine is None:
            return  # `catchbot discord sync/invite`: the command decides what to sync
        try:
            for guild_id in self.settings.discord_sync_guild_ids:
                guild = discord.Object(id=guild_id)
                bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
                log.info("slash commands synced to guild %s (%d commands)", guild_id, len(synced))
            if not self.settings.discord_sync_guild_ids:
                await self._sync_globally_when_changed()
        except discord.HTTPException as exc:
            # The game still runs (prefix commands, buttons); `catchbot discord sync` can try again.
            log.warning("could not sync slash commands (%s); run `catchbot discord sync` later", exc)

    async def _sync_globally_when_changed(self) -> None:
        """Register the slash commands for every server, but only when they differ from the last sync.

        Global sync is rate limited and takes a while to show, so a restart with the same
        commands (the same catchbot version) does not send them again.
        """
        bot: commands.Bot = self  # type: ignore[assignment]
        tree, translator = bot.tree, bot.tree.translator
        payload = [await c.get_translated_payload(tree, translator) for c in tree.get_commands()]  # type: ignore[arg-type]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        key = f"slash_commands.{bot.application_id}"
        if await self.engine.db.get_setting(SYNC_RECORD_SPACE, key) == digest:
            log.info("slash commands unchanged since the last sync")
            return
        synced = await tree.sync()
        await self.engine.db.set_setting(SYNC_RECORD_SPACE, key, digest)
        log.info(
            "slash commands synced for every server (%d commands; Discord may take a while to show them)", len(synced)
        )

    async def on_ready(self) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        shards = getattr(bot, "shard_ids", None) or [bot.shard_id or 0]
        status.info(
            "Discord: %s up in %d guilds (%s), shards %s of %s%s",
            bot.user,
            len(bot.guilds),
            ", ".join(str(g.id) for g in bot.guilds[:20]),
            shards,
            bot.shard_count or 1,
            "" if self.reads_message_content else "; no message content intent: chat guesses off",
        )

    # --- who is asking ----------------------------------------------------------------
    def origin_of(
        self,
        guild: discord.Guild,
        channel_id: int,
        author: discord.abc.User,
        *,
        permissions: discord.Permissions | None = None,
        locale: str | None = None,
    ) -> Origin:
        if permissions is None and isinstance(author, discord.Member):
            permissions = author.guild_permissions
        is_admin = bool(permissions and permissions.manage_guild) or str(author.id) in self.settings.admin_ids
        return Origin(
            space_id(guild.id),
            str(channel_id),
            str(author.id),
            author.display_name,
            is_admin=is_admin,
            locale=locale or guild.preferred_locale.value,
            space_name=guild.name,
        )

    def _dm_text(self, locale_hint: str | None = None) -> str:
        locale = self.settings.locale or i18n.language_of(locale_hint) or i18n.FALLBACK
        return i18n.text(locale, "discord.dm_only")

    # --- messages: prefix commands, drawings, guesses ------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        bot: commands.Bot = self  # type: ignore[assignment]
        if message.author.bot:
            return
        if message.guild is None:
            await message.channel.send(self._dm_text())
            return
        ctx = await bot.get_context(message)
        if ctx.valid:
            await bot.invoke(ctx)
            return
        origin = self.origin_of(message.guild, message.channel.id, message.author)
        if message.attachments:
            upload = upload_of(origin, pick(message.attachments), f"discord-file:{message.id}")  # type: ignore[arg-type]
            await self._handle(upload, origin, message)
        text = self._without_own_mention(message.content)
        if text.strip():
            await self._handle(ChatMessage(origin, text, event_id=f"discord-msg:{message.id}"), origin, message)

    def _without_own_mention(self, content: str) -> str:
        """A guess addressed to the bot (``@catchbot cat``, which works without the content intent) is just "cat"."""
        me = self.user  # type: ignore[attr-defined]
        if me is not None:
            for mention in (f"<@{me.id}>", f"<@!{me.id}>"):
                if content.lstrip().startswith(mention):
                    return content.lstrip()[len(mention) :].strip()
        return content

    async def _handle(self, event: Event, origin: Origin, message: discord.Message | None = None) -> None:
        replies = await self.engine.handle(event)
        await self.sender.send(origin.space, origin.channel, replies, message=message)

    async def on_command_error(self, ctx: commands.Context[Any], error: commands.CommandError) -> None:
        if isinstance(error, commands.UserInputError):
            log.info("bad arguments to %s: %s", ctx.command, error)
            return
        log.error("command %s failed", ctx.command, exc_info=error)

    # --- commands (slash and prefix alike) -------------------------------------------------
    async def run_command(self, ctx: commands.Context[Any], name: str, args: tuple[str, ...]) -> None:
        interaction = ctx.interaction
        if ctx.guild is None:
            hint = interaction.locale.value if interaction is not None else None
            await ctx.send(self._dm_text(hint))
            return
        if interaction is None:
            origin = self.origin_of(ctx.guild, ctx.channel.id, ctx.author)
            await self._handle(
                Command(origin, name, args, event_id=f"discord-msg:{ctx.message.id}"), origin, ctx.message
            )
            return
        origin = self.origin_of(
            ctx.guild,
            ctx.channel.id,
            ctx.author,
            permissions=interaction.permissions,
            locale=_guild_locale(interaction),
        )
        await self.answer(interaction, Command(origin, name, args, event_id=f"discord-int:{interaction.id}"), origin)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Our buttons: ``catchbot:<action>:<round>`` becomes the command ``action`` from whoever pressed."""
        if interaction.type is not discord.InteractionType.component:
            return
        parsed = parse_custom_id(str((interaction.data or {}).get("custom_id", "")))
        if parsed is None:
            return
        action, round_id = parsed
        if interaction.guild is None or interaction.channel_id is None:
            await interaction.response.send_message(self._dm_text(interaction.locale.value), ephemeral=True)
            return
        origin = self.origin_of(
            interaction.guild,
            interaction.channel_id,
            interaction.user,
            permissions=interaction.permissions,
            locale=_guild_locale(interaction),
        )
        current = self.engine.rounds.get(origin.channel_key)
        if current is None or current.id != round_id:
            # A button on an earlier round's message must not skip (or hint) the round running now.
            locale = await self.sender.locale(origin.space)
            await interaction.response.send_message(i18n.text(locale, "discord.button_stale"), ephemeral=True)
            return
        await self.answer(interaction, Command(origin, action, (), event_id=f"discord-int:{interaction.id}"), origin)

    async def answer(self, interaction: discord.Interaction, event: Event, origin: Origin) -> None:
        """Answer within Discord's 3 seconds: the caller's private reply is ephemeral, the rest goes to the channel.

        If the core takes longer than ``defer_after`` seconds, the interaction is deferred
        ephemerally first, so a secret can never land in a public "thinking" message.
        """
        task = asyncio.ensure_future(self.engine.handle(event))
        deferred = False
        try:
            replies = await asyncio.wait_for(asyncio.shield(task), self.defer_after)
        except TimeoutError:
            await interaction.response.defer(ephemeral=True, thinking=True)
            deferred = True
            replies = await task
        locale = await self.sender.locale(origin.space)
        mine = [r for r in replies if isinstance(r, Whisper) and r.user == origin.user]
        rest: list[Reply] = [r for r in replies if not any(r is m for m in mine)]
        if deferred:
            if mine:
                await interaction.edit_original_response(content=cut(mine[0].text, CONTENT_MAX))
            else:
                with contextlib.suppress(discord.HTTPException):
                    await interaction.delete_original_response()
        elif mine:
            await interaction.response.send_message(cut(mine[0].text, CONTENT_MAX), ephemeral=True)
        else:
            first = next((r for r in rest if not isinstance(r, Quiet | Thinking | Whisper)), None)
            if first is None:
                quiet = next((r.text for r in replies if isinstance(r, Quiet)), i18n.text(locale, "discord.done"))
                await interaction.response.send_message(cut(quiet, CONTENT_MAX), ephemeral=True)
            else:
                rest.remove(first)
                head, *tail = render_all(first, locale) or [Outgoing(content=i18n.text(locale, "discord.done"))]
                await interaction.response.send_message(**head.kwargs())  # type: ignore[arg-type]
                for outgoing in tail:
                    await interaction.followup.send(**outgoing.kwargs())  # type: ignore[arg-type]
                for notice in self.sender.notices_after(origin.space, origin.channel, first, locale):
                    await interaction.followup.send(cut(notice.text, CONTENT_MAX))
        for extra in mine[1:]:
            await interaction.followup.send(cut(extra.text, CONTENT_MAX), ephemeral=True)
        await self.sender.send(origin.space, origin.channel, rest)


def _dropping_malformed(event: str, parse: Any) -> Any:
    """A dispatch parser that drops what it cannot read: one bad payload must not end the connection.

    discord.py lets a parser's error escape the gateway loop, which ends ``Client.start``; the
    payload's text is not logged (it is somebody's message).
    """

    def guarded(data: Any) -> Any:
        try:
            return parse(data)
        except Exception as exc:  # any error in a parser means a bad payload
            log.warning("dropped a malformed %s dispatch (%s: %s)", event, type(exc).__name__, str(exc)[:80])
            return None

    return guarded


def _guild_locale(interaction: discord.Interaction) -> str | None:
    return interaction.guild_locale.value if interaction.guild_locale is not None else None


class CatchBot(CatchBotMixin, commands.Bot):
    """One connection for the whole bot (the usual case)."""


class ShardedCatchBot(CatchBotMixin, commands.AutoShardedBot):
    """Several gateway shards in this process (``CATCHBOT_DISCORD_SHARDS``)."""
