"""``catchbot discord sync`` and ``catchbot discord invite``: set-up steps that need no running game.

discord.py takes a moment to import, so it is imported when a command runs, not
when the parser is built: ``catchbot --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bot.i18n import FALLBACK, text

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_USER = 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    discord = sub.add_parser("discord", help="Discord set-up: slash commands, invite URL")
    actions = discord.add_subparsers(dest="discord_command", metavar="ACTION", required=True)
    sync = actions.add_parser("sync", help="register the slash commands (globally, or at once in --guild servers)")
    sync.add_argument("--guild", type=int, action="append", default=[], help="a server (guild) id; repeatable")
    sync.set_defaults(handler=sync_command)
    invite = actions.add_parser("invite", help="print the URL that adds the bot to a server with what it needs")
    invite.set_defaults(handler=invite_command)


def _say(settings: Settings, key: str, /, **params: object) -> str:
    return text(settings.locale or FALLBACK, key, **params)


async def _login(bot: Any, settings: Settings) -> bool:
    import discord

    assert settings.discord_token is not None
    try:
        await bot.login(settings.discord_token.get_secret_value())
    except discord.LoginFailure:
        print(_say(settings, "discord.bad_token"), file=sys.stderr)
        return False
    return True


def _sync_failed(settings: Settings, exc: Any) -> int:
    print(_say(settings, "discord.cli_sync_failed", status=exc.status, error=exc.text[:200]), file=sys.stderr)
    return EXIT_USER


async def sync_command(args: argparse.Namespace, settings: Settings) -> int:
    import discord

    from adapters.discord import build_bot

    if settings.discord_token is None:
        print(_say(settings, "discord.cli_need_token"), file=sys.stderr)
        return EXIT_USER
    bot = build_bot(settings, None)
    async with bot:
        if not await _login(bot, settings):
            return EXIT_USER
        if not args.guild:
            try:
                synced = await bot.tree.sync()
            except discord.HTTPException as exc:
                return _sync_failed(settings, exc)
            print(_say(settings, "discord.cli_synced_global", count=len(synced)))
        for guild_id in args.guild:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            try:
                synced = await bot.tree.sync(guild=guild)
            except (discord.NotFound, discord.Forbidden):
                print(_say(settings, "discord.cli_sync_not_in_guild", guild=guild_id), file=sys.stderr)
                return EXIT_USER
            except discord.HTTPException as exc:
                return _sync_failed(settings, exc)
            print(_say(settings, "discord.cli_synced_guild", count=len(synced), guild=guild_id))
    return 0


async def invite_command(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord import INVITE_PERMISSIONS, build_bot, invite_url

    application_id = settings.discord_application_id
    if application_id is None and settings.discord_token is not None:
        bot = build_bot(settings, None)
        async with bot:
            if not await _login(bot, settings):
                return EXIT_USER
            application_id = bot.application_id
    if application_id is None:
        print(_say(settings, "discord.cli_need_application"), file=sys.stderr)
        return EXIT_USER
    print(invite_url(application_id))
    print(_say(settings, "discord.cli_invite_permissions", value=INVITE_PERMISSIONS.value), file=sys.stderr)
    return 0
