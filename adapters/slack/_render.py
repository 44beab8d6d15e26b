"""Neutral replies → Slack messages (Block Kit plus a plain ``text`` fallback), within Slack's limits.

Rendering reads the structured replies (board rows, result lines, stats fields); it
never parses their text. Every piece of text is escaped for mrkdwn (``&``, ``<``,
``>``), so ``<!channel>``, ``<!here>``, ``<@U…>`` or ``<!subteam^…>`` in a name, a
guess or a model answer reach Slack as plain characters, never as a mention; and
``link_names`` is never set. Limits: 3,000 characters per section text, 50 blocks
per message, 40,000 characters of ``text``; long boards are cut with "…".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import i18n
from bot.replies import AdminNotice, Leaderboard, Reply, RoundResult, RoundStarted, Say, StatsCard, Whisper

SECTION_MAX = 3000
BLOCKS_MAX = 50
TEXT_MAX = 40_000
HEADER_MAX = 150
FIELDS_MAX = 10  # a section holds at most ten fields
ELLIPSIS = "…"
ACTION_PREFIX = "catchbot_"
_BUTTON_STYLES = {"secret": "primary", "skip": "danger"}


def escape(text: str) -> str:
    """Slack's three control characters as entities: nothing the text holds can become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What the user typed, from Slack's ``text`` (``&amp;``, ``&lt;``, ``&gt;``): escaped once going out."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def plain(text: str, limit: int = TEXT_MAX) -> str:
    return cut(escape(text), limit)


@dataclass(slots=True)
class Message:
    """One chat.postMessage / chat.postEphemeral: the fallback text and the blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(escape(text), SECTION_MAX)}}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, HEADER_MAX), "emoji": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(escape(text), SECTION_MAX)}]}


def action_id(action: str) -> str:
    return f"{ACTION_PREFIX}{action}"


def buttons(actions: tuple[str, ...], round_id: int, locale: str) -> dict[str, Any]:
    elements = []
    for action in actions:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action_id(action),
            "value": str(round_id),
            "text": {"type": "plain_text", "text": i18n.text(locale, f"slack.button_{action}")},
        }
        if action in _BUTTON_STYLES:
            button["style"] = _BUTTON_STYLES[action]
        elements.append(button)
    return {"type": "actions", "block_id": f"catchbot_round_{round_id}", "elements": elements}


def _rows(lines: list[str], room: int) -> list[dict[str, Any]]:
    """Lines packed into sections of at most SECTION_MAX characters, at most ``room`` sections; the rest cut."""
    sections: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(escape(candidate)) <= SECTION_MAX:
            current = candidate
            continue
        if current:
            sections.append(current)
        current = line
    if current:
        sections.append(current)
    if len(sections) > room:
        sections = [*sections[: room - 1], sections[room - 1].rstrip() + "\n" + ELLIPSIS]
    return [_section(s) for s in sections]


def render(reply: Reply, locale: str) -> Message | None:
    """A public or private message for one reply; None for what Slack shows otherwise (reactions, nothing)."""
    if isinstance(reply, RoundStarted):
        blocks = [_section(reply.text)]
        if reply.actions:
            blocks.append(buttons(reply.actions, reply.round_id, locale))
        return Message(plain(reply.text), blocks)
    if isinstance(reply, Leaderboard):
        lines = [f"{r.rank}. {r.name}: {r.points}" for r in reply.rows] or [reply.empty_text]  # the AI's name is marked
        blocks = [_header(reply.title or reply.text.splitlines()[0])]
        blocks += _rows(lines, BLOCKS_MAX - 3)
        blocks.append(_context(reply.you_text))
        return Message(plain(reply.text), blocks)
    if isinstance(reply, RoundResult):
        blocks = [_section(reply.text)] if len(reply.text) <= SECTION_MAX else _rows(reply.text.splitlines(), 40)
        return Message(plain(reply.text), blocks[:BLOCKS_MAX])
    if isinstance(reply, StatsCard):
        fields = [
            {"type": "mrkdwn", "text": cut(escape(f"*{label}*\n{value}"), 2000)} for label, value in reply.fields
        ][:FIELDS_MAX]
        title = f"📊 {reply.name}"
        return Message(plain(reply.text), [_header(title), {"type": "section", "fields": fields}])
    if isinstance(reply, AdminNotice):
        text = f"{i18n.text(locale, 'slack.admin_marker')} {reply.text}"
        return Message(plain(text), [_section(text)])
    if isinstance(reply, Say | Whisper):
        return Message(plain(reply.text), [_section(reply.text)] if len(reply.text) <= SECTION_MAX else [])
    return None
