"""Hybrid (slash + prefix) commands generated from the core's table, :data:`bot.commands.COMMANDS`.

Nothing here lists commands of its own: a command added to the table becomes a
slash command (descriptions in English and Korean through :class:`CatalogTranslator`,
choices from the table) and a prefix command with every alias, Korean ones too.
"""

from __future__ import annotations

import inspect
import zoneinfo
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import i18n
from bot.commands import COMMANDS, CommandSpec
from bot.config import Settings

DESCRIPTION_MAX = 100
CHOICES_MAX = 25
RunCommand = Callable[[commands.Context[Any], str, tuple[str, ...]], Awaitable[None]]


def _korean_name(spec: CommandSpec) -> str | None:
    """The first Hangul alias, shown as the slash command's name to Korean clients."""
    for alias in spec.aliases:
        if all("가" <= ch <= "힣" for ch in alias) and len(alias) <= 32:
            return alias
    return None


def _text(key: str, locale: str = "en") -> str:
    text = i18n.text(locale, key)
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


class CatalogTranslator(app_commands.Translator):
    """Korean command names and descriptions from the locale files (English is the default text)."""

    async def translate(
        self, string: app_commands.locale_str, locale: discord.Locale, context: app_commands.TranslationContextTypes
    ) -> str | None:
        # Only Korean needs an entry: every other client sees the English default.
        if locale is not discord.Locale.korean:
            return None
        key = string.extras.get("key")
        if key is not None:
            return _text(key, "ko")
        return string.extras.get("korean_name")


@cache
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def suggestions(settings: Settings, command: str, param: str, typed: str, key: str | None) -> list[str]:
    """Autocomplete values where free text is hard to get right: model ids and setting values."""
    if command == "model" and param == "model":
        values = [settings.drawing_model, settings.drawing_fallback_model, settings.dialect_model]
        values += [settings.dialect_fallback_model, "reset"]
    elif command == "config" and param == "value":
        values = {"locale": list(i18n.LOCALES), "collect": ["on", "off"]}.get(key or "", [])
        if key == "timezone":
            values = list(time_zones())
    else:
        return []
    lowered = typed.strip().lower()
    unique = list(dict.fromkeys(values))
    return [v for v in unique if lowered in v.lower()][:CHOICES_MAX]


def _autocomplete_for(spec: CommandSpec, param: str) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    async def autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        settings: Settings = interaction.client.settings  # type: ignore[attr-defined]
        key = getattr(interaction.namespace, "key", None)
        return [app_commands.Choice(name=v, value=v) for v in suggestions(settings, spec.name, param, current, key)]

    return autocomplete


AUTOCOMPLETED = {("model", "model"), ("config", "value")}


def make_command(spec: CommandSpec, run: RunCommand) -> commands.HybridCommand[Any, ..., None]:
    """One hybrid command for ``spec``: each parameter an optional string, a ``rest`` parameter takes the line."""
    # discord.py's own Parameter type: its hybrid wrapper reads converters off the signature's parameters.
    parameters = [commands.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for param in spec.params:
        assert param.name.isidentifier(), param.name
        parameters.append(
            commands.Parameter(
                param.name,
                inspect.Parameter.KEYWORD_ONLY if param.rest else inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=inspect.Parameter.empty if param.required else None,
                annotation=str if param.required else str | None,
            )
        )
    signature = inspect.Signature(parameters)

    async def callback(ctx: commands.Context[Any], *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(ctx, *args, **kwargs)
        words: list[str] = []
        for param in spec.params:
            value = bound.arguments.get(param.name)
            if value:
                words.extend(str(value).split() if param.rest else [str(value)])
        await run(ctx, spec.name, tuple(words))

    callback.__name__ = callback.__qualname__ = f"{spec.name}_command"
    callback.__signature__ = signature  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        p.name: app_commands.locale_str(_text(p.description_key), key=p.description_key) for p in spec.params
    }
    with_choices = {
        p.name: [app_commands.Choice(name=c, value=c) for c in p.choices[:CHOICES_MAX]]
        for p in spec.params
        if p.choices
    }
    if with_choices:
        app_commands.choices(**with_choices)(callback)
    korean = _korean_name(spec)
    name = app_commands.locale_str(spec.name, **({"korean_name": korean} if korean else {}))
    command: commands.HybridCommand[Any, ..., None] = commands.HybridCommand(
        callback,
        name=name,
        aliases=list(spec.aliases),
        description=app_commands.locale_str(_text(spec.description_key), key=spec.description_key),
    )
    # discord.py's hybrid wrapper deletes __signature__ after reading it; keep it for later copies.
    callback.__signature__ = signature  # type: ignore[attr-defined]
    for param in spec.params:
        if (spec.name, param.name) in AUTOCOMPLETED and not param.choices:
            command.autocomplete(param.name)(_autocomplete_for(spec, param.name))
    return command


def add_all(bot: commands.Bot, run: RunCommand) -> None:
    for spec in COMMANDS:
        bot.add_command(make_command(spec, run))
