"""Replies rendered within Discord's limits, and the transport's later messages (files, admin notices, stats)."""

from __future__ import annotations

from adapters.discord._render import (
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELDS_MAX,
    board_embed,
    parse_custom_id,
    render_all,
    result_embed,
)
from bot.replies import (
    AdminNotice,
    BoardRow,
    Leaderboard,
    Picture,
    ResultLine,
    RoundResult,
    Say,
    StatsCard,
    Thinking,
)
from tests.discord_harness import discord_game
from tests.imagecorpus import drawing_png


def test_a_long_board_is_cut_with_an_ellipsis_within_every_limit() -> None:
    rows = tuple(BoardRow(i + 1, str(i), f"player-{i}-" + "x" * 120, 1000 - i) for i in range(200))
    board = Leaderboard("text", "both", "week", rows, rows[150], title="Top", you_text="You: #151")
    embed = board_embed(board, "en")
    assert len(embed.description or "") <= DESCRIPTION_MAX and (embed.description or "").endswith("…")
    assert (embed.description or "").startswith("**1.** player-0-") and len(embed) <= EMBED_TOTAL_MAX
    assert embed.footer.text == "You: #151"


def test_board_names_cannot_format_or_ping_and_ai_rows_are_marked() -> None:
    rows = (BoardRow(1, "catchbot:ai", "🤖 AI", 9, is_ai=True), BoardRow(2, "u", "**bold**", 3))
    embed = board_embed(Leaderboard("t", "both", "week", rows, title="Top"), "en")
    description = embed.description or ""
    # The core marks the AI's name; the embed shows the mark once.
    assert "**1.** 🤖 AI — 9" in description and description.count("🤖") == 1
    assert "\\*\\*bold\\*\\*" in description
    empty = board_embed(Leaderboard("t", "both", "week", (), title="Top", empty_text="Nobody yet"), "en")
    assert empty.description == "Nobody yet"


def test_a_result_with_many_answers_keeps_to_25_fields_and_6000_characters() -> None:
    lines = tuple(ResultLine(f"p{i}", "answer " * 150, 55.0, 3) for i in range(40))
    embed = result_embed(RoundResult("Over. " * 900, "dialect", 1, "ref", lines, title="Round over"), "en")
    assert len(embed.fields) <= FIELDS_MAX and len(embed) <= EMBED_TOTAL_MAX
    assert len(embed.description or "") <= DESCRIPTION_MAX


def test_long_plain_text_goes_out_in_parts_cut_at_line_ends() -> None:
    lines = [f"word {i}: " + "x" * 60 for i in range(100)]  # about 7,000 characters
    parts = [o.content or "" for o in render_all(Say("\n".join(lines)), "en")]
    assert len(parts) == 4 and all(len(p) <= 2000 for p in parts)
    assert "\n".join(parts).splitlines() == lines  # nothing lost, no line broken
    many = [o.content or "" for o in render_all(Say("\n".join(lines * 5)), "en")]
    assert len(many) == 5 and many[-1].endswith("…") and len(many[-1]) <= 2000
    assert [len(o.content or "") for o in render_all(Say("a" * 4500), "en")] == [2000, 2000, 500]


def test_buttons_parse_back() -> None:
    assert parse_custom_id("catchbot:secret:42") == ("secret", 42)
    assert parse_custom_id("catchbot:secret:x") is None and parse_custom_id("other:secret:1") is None


async def test_later_replies_reach_the_channel_as_files_embeds_and_notices(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        card = StatsCard("text", "1", "Bob", False, (("Rounds", "3"), ("Wins", "1")))
        png = drawing_png()
        replies = [Picture(png, "best.png", "Drawing of the week"), AdminNotice("Model retired"), card, Thinking("x")]
        await game.transport.deliver(game.space, str(stub.general_id), replies)
        posts = [c for c in stub.calls if c.path == f"/channels/{stub.general_id}/messages"]
        picture, notice, stats = posts
        assert [(name, data) for name, data, _type in picture.files] == [("best.png", png)]
        assert picture.message["content"] == "Drawing of the week"
        assert notice.message["content"] == "For admins: Model retired"
        embed = stats.message["embeds"][0]
        assert embed["title"] == "Bob" and [f["name"] for f in embed["fields"]] == ["Rounds", "Wins"]
        assert stub.calls[-1].path == f"/channels/{stub.general_id}/typing"
        assert all(c.message["allowed_mentions"] == {"parse": []} for c in posts)
