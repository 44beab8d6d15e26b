"""A committed result reaches the channel: a blank name, a missing permission and an outage cannot lose it.

Real discord.py against the local Discord stand-in, which refuses what Discord refuses: an embed
field with an empty name (400), an embed without Embed Links (403), anything during an outage (503).
"""

from __future__ import annotations

import time

from tests.discord_harness import Game, discord_game
from tests.stubs.discord_server import Member


async def win_a_round(game: Game, winner: Member) -> int:
    stub = game.stub
    await stub.slash("draw", user=stub.alice)
    active = await game.wait_round()
    await stub.message(winner, active.word.en)  # type: ignore[union-attr]
    await game.wait_closed()
    return active.id


async def pending(game: Game) -> list[int]:
    return [p.round_id for p in await game.engine.db.pending_announcements()]


async def test_a_winner_whose_name_is_only_invisible_characters_is_shown_by_a_fallback(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        ghost = Member(stub.snowflake(), "\u2060\u00ad\u200d\ufeff\u202e\u200f")
        stub.guilds[stub.guild_id].members[ghost.id] = ghost
        mark = len(stub.calls)
        await win_a_round(game, ghost)
        result = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")), after=mark)
        names = [f["name"] for f in result.message["embeds"][0]["fields"]]
        assert names[0] == f"👤 {str(ghost.id)[-4:]}"
        await stub.settle()
        assert await pending(game) == []


async def test_without_embed_links_the_result_goes_out_as_plain_text(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        stub.no_embed_links.add(stub.general_id)
        mark = len(stub.calls)
        await win_a_round(game, stub.bob)
        text = await game.channel_post(
            stub.general_id, lambda c: "Bob got it" in (c.message.get("content") or ""), after=mark
        )
        assert not text.message.get("embeds")
        await stub.settle()
        assert await pending(game) == []


async def test_a_result_posted_during_an_outage_waits_in_the_outbox_and_goes_out_after(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice)
        active = await game.wait_round()
        stub.outage = True
        await stub.message(stub.bob, active.word.en)  # type: ignore[union-attr]
        await game.wait_closed()
        await stub.settle()
        assert await pending(game) == [active.id]  # committed, not announced
        stub.outage = False
        mark = len(stub.calls)
        # What the engine's outbox sweep does on its next tick.
        sent = await game.engine.services.announce_pending(before=time.time() + 1, claim_first=False)
        assert sent == 1
        result = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")), after=mark)
        assert result.message["embeds"][0]["fields"][0]["name"] == "Bob"
        assert await pending(game) == []
