"""Sending the core's replies to Discord: public messages, DMs, reactions, the typing indicator.

:class:`DiscordTransport` is what the engine holds for replies that come later (hints,
time-outs, AI answers). Space and channel strings map straight back to Discord:
``discord:<guild id>`` and the channel's (or thread's) id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from adapters.discord._render import CONTENT_MAX, cut, render_all, split_text
from bot import i18n
from bot.events import Origin, SecretUndelivered
from bot.replies import Ack, Quiet, Reply, RoundResult, RoundStarted, Say, Thinking, Whisper
from bot.safety import neutralise
from bot.services import NoRoute, Undelivered

if TYPE_CHECKING:
    from adapters.discord._bot import CatchBotMixin

log = logging.getLogger("catchbot.discord")

SPACE_PREFIX = "discord:"
ACK_EMOJI = "✅"
DM_CLOSED = 50007  # Discord: "Cannot send messages to this user"


def space_id(guild_id: int) -> str:
    return f"{SPACE_PREFIX}{guild_id}"


def guild_id_of(space: str) -> int | None:
    rest = space.removeprefix(SPACE_PREFIX)
    return int(rest) if space.startswith(SPACE_PREFIX) and rest.isdigit() else None


class DiscordTransport:
    """The engine's way to speak up later; attach the bot once it is built."""

    def __init__(self) -> None:
        self.bot: CatchBotMixin | None = None

    def attach(self, bot: CatchBotMixin) -> None:
        self.bot = bot

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        if self.bot is None or guild_id_of(space) is None:
            # Not connected yet: the core keeps a round's result and tries again.
            raise NoRoute(space)
        await self.bot.sender.send(space, channel, replies)


class Sender:
    """Every outgoing message goes through here, so the rules hold everywhere.

    Mentions never ping (the client's allowed mentions are "none"); a secret goes
    only by DM or ephemeral reply, and a DM that Discord refuses turns into
    :class:`SecretUndelivered` for the core, never into a public message with the word.
    """

    def __init__(self, bot: CatchBotMixin) -> None:
        self.bot = bot
        self._told_intent: set[tuple[str, str]] = set()

    # --- where and in which language ------------------------------------------
    def channel(self, space: str, channel: str) -> discord.abc.Messageable:
        found = self.bot.get_channel(int(channel))
        if isinstance(found, discord.abc.Messageable):
            return found
        return self.bot.get_partial_messageable(int(channel), guild_id=guild_id_of(space))

    def locale_hint(self, space: str) -> str | None:
        guild_id = guild_id_of(space)
        guild = self.bot.get_guild(guild_id) if guild_id is not None else None
        return guild.preferred_locale.value if guild is not None else None

    async def locale(self, space: str) -> str:
        return (await self.bot.engine.space(space, self.locale_hint(space))).locale

    def display_name(self, space: str, user: str) -> str:
        guild_id = guild_id_of(space)
        guild = self.bot.get_guild(guild_id) if guild_id is not None else None
        member = guild.get_member(int(user)) if guild is not None and user.isdigit() else None
        found = member or (self.bot.get_user(int(user)) if user.isdigit() else None)
        return found.display_name if found is not None else user

    # --- sending ---------------------------------------------------------------
    async def send(
        self, space: str, channel: str, replies: Sequence[Reply], *, message: discord.Message | None = None
    ) -> None:
        """Post ``replies`` in the channel; ``message`` is the player's message they answer (for reactions)."""
        if not replies:
            return
        target = self.channel(space, channel)
        locale = await self.locale(space)
        for reply in replies:
            try:
                await self._one(space, channel, target, reply, locale, message)
            except discord.HTTPException as exc:
                if isinstance(reply, RoundResult):
                    await self._result_as_text(target, reply, exc)
                    continue
                log.exception("Discord refused a %s in %s/%s", type(reply).__name__, space, channel)

    async def _result_as_text(
        self, target: discord.abc.Messageable, result: RoundResult, exc: discord.HTTPException
    ) -> None:
        """A refused result embed (no Embed Links, a field Discord will not take) goes out as plain text.

        A result is the one message that must arrive: if even the text is refused, or Discord is down,
        :class:`Undelivered` tells the core, which keeps it in the outbox for the next sweep.
        """
        if exc.status >= 500:
            raise Undelivered(f"Discord answered {exc.status}") from exc
        log.warning("Discord refused a result embed (%s %s); sending it as text", exc.status, exc.code)
        try:
            for part in split_text(result.text):
                await target.send(part)
        except discord.HTTPException as again:
            raise Undelivered(f"Discord answered {again.status} {again.code}") from again

    async def _one(
        self,
        space: str,
        channel: str,
        target: discord.abc.Messageable,
        reply: Reply,
        locale: str,
        message: discord.Message | None,
    ) -> None:
        if isinstance(reply, Quiet):
            return  # chat platforms stay quiet (a picture posted outside a round, say)
        if isinstance(reply, Thinking):
            await target.typing()  # one typing indicator (about ten seconds) while the model works
            return
        if isinstance(reply, Ack):
            if message is not None and str(message.author.id) == reply.user:
                try:
                    await message.add_reaction(ACK_EMOJI)
                    return
                except discord.HTTPException:
                    pass  # no Add Reactions permission: say it instead
            await target.send(cut(reply.text, CONTENT_MAX))
            return
        if isinstance(reply, Whisper):
            if reply.round_id is None and message is not None and str(message.author.id) == reply.user:
                # An answer to a prefix command only its caller cares about (help, a refusal): a quiet
                # reply to their message, not a DM from nowhere. Secrets still go by DM.
                try:
                    await message.reply(cut(reply.text, CONTENT_MAX), mention_author=False)
                    return
                except discord.HTTPException:
                    pass
            await self.whisper(space, channel, reply, locale)
            return
        for outgoing in render_all(reply, locale):
            await target.send(**outgoing.kwargs())  # type: ignore[arg-type]
        for extra in self.notices_after(space, channel, reply, locale):
            await target.send(cut(extra.text, CONTENT_MAX))

    def notices_after(self, space: str, channel: str, reply: Reply, locale: str) -> list[Say]:
        """Without the message content intent, the first round in a channel says chat guesses cannot work."""
        if not isinstance(reply, RoundStarted) or self.bot.reads_message_content:
            return []
        if (space, channel) in self._told_intent:
            return []
        self._told_intent.add((space, channel))
        return [Say(i18n.text(locale, "discord.intent_missing"))]

    async def whisper(self, space: str, channel: str, whisper: Whisper, locale: str) -> None:
        """A DM; a refused DM carrying a round's secret is reported to the core, which cancels the round."""
        try:
            user = self.bot.get_user(int(whisper.user)) or await self.bot.fetch_user(int(whisper.user))
            await user.send(cut(whisper.text, CONTENT_MAX))
            return
        except discord.Forbidden as exc:
            log.info("DM to %s refused in %s (code %s)", whisper.user, space, exc.code)
        name = self.display_name(space, whisper.user)
        if whisper.round_id is not None:
            origin = Origin(space, channel, whisper.user, name, locale=self.locale_hint(space))
            replies = await self.bot.engine.handle(SecretUndelivered(origin, whisper.round_id))
            # The core's answer is public and never holds the word; a Whisper in it cannot loop back here.
            await self.send(space, channel, [r for r in replies if not isinstance(r, Whisper)])
            return
        text = i18n.text(locale, "discord.dm_closed", name=neutralise(name, 40))
        await self.channel(space, channel).send(cut(text, CONTENT_MAX))
