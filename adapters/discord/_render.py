"""Neutral replies → Discord message parts (content, embed, buttons, file), always within Discord's limits.

Rendering reads the structured replies (board rows, result lines, stats fields);
it never parses their text. Every piece is cut with "…" before Discord could
refuse it: 2,000 characters of content, 256 of a title, 4,096 of a description,
25 fields of 256/1,024, 2,048 of a footer, 6,000 in all per embed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import discord

from bot import i18n
from bot.replies import (
    AdminNotice,
    Leaderboard,
    Picture,
    Reply,
    RoundResult,
    RoundStarted,
    Say,
    StatsCard,
)

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000
ELLIPSIS = "…"

# Button presses come back as interactions whose custom_id names the action and the round,
# so they work after a restart without any view kept in memory.
CUSTOM_ID_PREFIX = "catchbot"
_BUTTON_STYLES = {
    "secret": discord.ButtonStyle.primary,
    "hint": discord.ButtonStyle.secondary,
    "skip": discord.ButtonStyle.danger,
}
EMBED_COLOUR = 0x5865F2
# A result's colour says how the round ended, before anyone reads it.
OUTCOME_COLOURS = {
    "won": 0x57F287,  # green
    "ai_won": 0x9B59B6,  # purple: the AI's
    "scored": 0x57F287,
    "timeout": 0xFEE75C,  # yellow
    "skipped": 0x99AAB5,  # grey
    "expired": 0x99AAB5,
}
# A long plain message (a space's word list, say) goes out in parts cut at line ends, at most this many.
MAX_PARTS = 5


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, ending with "…" when something was cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def custom_id(action: str, round_id: int) -> str:
    return f"{CUSTOM_ID_PREFIX}:{action}:{round_id}"


def parse_custom_id(value: str) -> tuple[str, int] | None:
    """(action, round id) of one of our buttons, or None for anything else."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != CUSTOM_ID_PREFIX or not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])


@dataclass
class Outgoing:
    """One Discord message to send; ``file`` is built fresh per send (a discord.File is read once)."""

    content: str | None = None
    embed: discord.Embed | None = None
    view: discord.ui.View | None = None
    file_data: bytes | None = field(default=None, repr=False)
    filename: str | None = None

    def kwargs(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.content:
            out["content"] = self.content
        if self.embed is not None:
            out["embed"] = self.embed
        if self.view is not None:
            out["view"] = self.view
        if self.file_data is not None:
            out["file"] = discord.File(io.BytesIO(self.file_data), filename=self.filename or "image.png")
        return out


def split_text(text: str, limit: int = CONTENT_MAX, max_parts: int = MAX_PARTS) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at line ends where possible; the last part ends
    with "…" when even ``max_parts`` parts cannot hold it all."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut it hard
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    if len(parts) > max_parts:
        parts = parts[:max_parts]
        parts[-1] = parts[-1][: limit - 1].rstrip() + ELLIPSIS
    return parts


def render_all(reply: Reply, locale: str) -> list[Outgoing]:
    """The public messages for ``reply``: one, or a few for plain text longer than one message holds."""
    if isinstance(reply, Say):
        return [Outgoing(content=part) for part in split_text(reply.text) if part.strip()]
    return [render(reply, locale)]


def render(reply: Reply, locale: str) -> Outgoing:
    """The public message for ``reply`` (Whisper, Ack, Quiet and Thinking are handled by the sender)."""
    if isinstance(reply, RoundStarted):
        return Outgoing(content=cut(reply.text, CONTENT_MAX), view=buttons(reply, locale))
    if isinstance(reply, Leaderboard):
        return Outgoing(embed=board_embed(reply, locale))
    if isinstance(reply, RoundResult):
        return Outgoing(embed=result_embed(reply, locale))
    if isinstance(reply, StatsCard):
        return Outgoing(embed=stats_embed(reply, locale))
    if isinstance(reply, Picture):
        return Outgoing(content=cut(reply.text, CONTENT_MAX) or None, file_data=reply.data, filename=reply.filename)
    if isinstance(reply, AdminNotice):
        marker = i18n.text(locale, "discord.admin_marker")
        return Outgoing(content=cut(f"{marker} {reply.text}", CONTENT_MAX))
    return Outgoing(content=cut(reply.text, CONTENT_MAX))


def buttons(reply: RoundStarted, locale: str) -> discord.ui.View | None:
    if not reply.actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in reply.actions[:5]:
        label = i18n.text(locale, f"discord.button_{action}") if action in _BUTTON_STYLES else action
        view.add_item(
            discord.ui.Button(
                label=cut(label, 80),
                custom_id=custom_id(action, reply.round_id),
                style=_BUTTON_STYLES.get(action, discord.ButtonStyle.secondary),
            )
        )
    # Finished before sending: discord.py then keeps no view in memory; presses reach on_interaction.
    view.stop()
    return view


def _name(name: str, is_ai: bool, locale: str) -> str:
    # The core marks the AI's name already (🤖 AI): shown as it comes, markdown defused.
    return discord.utils.escape_markdown(name)


def _lines_within(lines: list[str], limit: int) -> str:
    """As many whole lines as fit in ``limit`` characters, then "…" on a line of its own."""
    out: list[str] = []
    used = 0
    for line in lines:
        line = cut(line, limit - 2)
        extra = len(line) + (1 if out else 0)
        if used + extra > limit - 2:
            out.append(ELLIPSIS)
            break
        out.append(line)
        used += extra
    return "\n".join(out)


def board_embed(board: Leaderboard, locale: str) -> discord.Embed:
    embed = discord.Embed(title=cut(board.title, TITLE_MAX) or None, colour=EMBED_COLOUR)
    if board.rows:
        lines = [f"**{row.rank}.** {_name(row.name, row.is_ai, locale)} — {row.points}" for row in board.rows]
        embed.description = _lines_within(lines, DESCRIPTION_MAX)
    else:
        embed.description = cut(board.empty_text or board.text, DESCRIPTION_MAX)
    if board.caller is not None and board.you_text:
        embed.set_footer(text=cut(board.you_text, FOOTER_MAX))
    return fit(embed)


def result_embed(result: RoundResult, locale: str) -> discord.Embed:
    # The lines become fields: the description says the rest once (the summary), not the lines again.
    description = result.summary if result.lines and result.summary else result.text
    colour = OUTCOME_COLOURS.get(result.outcome, EMBED_COLOUR)
    embed = discord.Embed(description=cut(description, DESCRIPTION_MAX), colour=colour)
    if result.title:
        embed.title = cut(result.title, TITLE_MAX)
    elif result.outcome in OUTCOME_COLOURS:
        embed.title = i18n.text(locale, f"discord.result_title_{result.outcome}")
    for index, line in enumerate(result.lines):
        if index == FIELDS_MAX - 1 and len(result.lines) > FIELDS_MAX:
            embed.add_field(name=ELLIPSIS, value=ELLIPSIS, inline=False)
            break
        answer = discord.utils.escape_markdown(line.answer)
        if line.score is None and not answer:  # the drawer: points only
            value = i18n.text(locale, "discord.result_points", count=line.points)
        elif line.score is None:
            value = i18n.text(locale, "discord.result_answer_points", answer=answer, count=line.points)
        else:
            answer = answer or "-"
            value = i18n.text(
                locale, "discord.result_score_points", answer=answer, score=f"{line.score:.0f}", count=line.points
            )
        embed.add_field(
            name=cut(_name(line.name, line.is_ai, locale), FIELD_NAME_MAX) or "-",
            value=cut(value, FIELD_VALUE_MAX),
            inline=False,
        )
    return fit(embed)


def stats_embed(card: StatsCard, locale: str) -> discord.Embed:
    embed = discord.Embed(title=cut(_name(card.name, card.is_ai, locale), TITLE_MAX), colour=EMBED_COLOUR)
    for label, value in card.fields[:FIELDS_MAX]:
        embed.add_field(name=cut(label, FIELD_NAME_MAX) or "-", value=cut(value, FIELD_VALUE_MAX) or "-")
    if not card.fields:
        embed.description = cut(card.text, DESCRIPTION_MAX)
    return fit(embed)


def fit(embed: discord.Embed) -> discord.Embed:
    """Drop fields from the end, then shorten the description, until the embed is within 6,000 characters."""
    while len(embed) > EMBED_TOTAL_MAX and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    if len(embed) > EMBED_TOTAL_MAX and embed.description:
        over = len(embed) - EMBED_TOTAL_MAX
        embed.description = cut(embed.description, max(1, len(embed.description) - over))
    return embed
