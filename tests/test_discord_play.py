"""Discord beyond the drawing round: dialect rounds, admins, the message content intent, DMs, slow answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.discord_harness import discord_game
from tests.stubs.discord_server import EPHEMERAL, MESSAGE_CONTENT_INTENT, DiscordStub
from tests.stubs.openai_server import OpenAIStub


@pytest.fixture
async def ai() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub() as server:
        yield server


async def test_dialect_round_with_a_chat_answer_and_the_ai(make_settings, ai: OpenAIStub) -> None:
    async with discord_game(make_settings, ai=ai, dialect_seconds=2) as game:
        stub = game.stub
        ai.chat_reply = lambda body: "@here 뭐 하고 있어?"
        await stub.slash("dialect", {"region": "jeju"}, user=stub.alice)
        started = await stub.wait_for_call("POST", "/callback")
        active = await game.wait_round()
        # No secret in a dialect round: the command's own answer is the public start message.
        assert not started.flags & EPHEMERAL and active.item.dialect in started.message["content"]  # type: ignore[union-attr]
        await stub.wait_for_call("POST", f"/channels/{stub.general_id}/typing")
        answer = await stub.message(stub.bob, active.item.references[0])  # type: ignore[union-attr]
        # A noted answer is acknowledged quietly with a reaction on the player's message.
        await stub.wait_for_call("PUT", f"/channels/{stub.general_id}/messages/{answer['id']}/reactions/")
        result = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")))
        embed = result.message["embeds"][0]
        fields = embed["fields"]
        assert fields[0]["name"] == "Bob" and "Score: 100/100" in fields[0]["value"]
        assert embed["title"] == "🗣️ Dialect round results" and embed["color"] == 0x57F287
        # Each answer once: in its field, not again in the description.
        assert active.item.dialect in embed["description"] and "Bob" not in embed["description"]  # type: ignore[union-attr]
        assert sum(f["name"].count("🤖") for f in fields) == 1  # the AI's line, marked once
        assert "@here" not in str(fields) and result.message["allowed_mentions"] == {"parse": []}


async def test_admin_commands_are_refused_privately_to_members_without_manage_server(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.slash("config", {"key": "locale", "value": "ko"}, user=stub.carol)
        refused = await stub.wait_for_call("POST", "/callback")
        assert refused.flags & EPHEMERAL and "Only admins" in refused.message["content"]
        assert (await game.engine.space(game.space)).locale == "en"
        mark = len(stub.calls)
        await stub.slash("config", {"key": "locale", "value": "ko"}, user=stub.owner)  # the Admins role: Manage Server
        await stub.wait_for_call("POST", "/callback", after=mark)
        assert (await game.engine.db.settings_for(game.space))["locale"] == "ko"


async def test_admin_ids_from_the_settings_count_as_admins(make_settings) -> None:
    async with DiscordStub() as stub, discord_game(make_settings, stub=stub, admins=str(stub.carol.id)) as game:
        await stub.message(stub.carol, "!config locale ko")
        await stub.wait_for_call("POST", f"/channels/{stub.general_id}/messages")
        assert (await game.engine.db.settings_for(game.space))["locale"] == "ko"


async def test_without_the_message_content_intent_the_bot_starts_and_says_so(make_settings) -> None:
    async with DiscordStub() as stub:
        stub.allow_message_content = False
        async with discord_game(make_settings, stub=stub) as game:
            assert not int(stub.identifies[-1]["intents"]) & MESSAGE_CONTENT_INTENT
            await stub.slash("draw", user=stub.alice)
            notice = await game.channel_post(stub.general_id, lambda c: "intent" in c.message.get("content", ""))
            assert "README" in notice.message["content"]
            active = await game.wait_round()
            await stub.message(stub.bob, active.word.en)  # type: ignore[union-attr]  # reaches the bot empty
            await stub.settle()
            assert game.round_in() is active
            await stub.message(stub.carol, f"<@{stub.bot.id}> {active.word.en}")  # type: ignore[union-attr]
            won = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")))
            assert won.message["embeds"][0]["fields"][0]["name"] == "Carol"
            await game.wait_closed()
            mark = len(stub.calls)
            await stub.slash("draw", user=stub.bob)
            await game.wait_round()
            await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")), after=mark)
            await stub.settle()
            notices = [t for t in stub.public_texts() if "intent" in t]
            assert len(notices) == 1  # told once per channel


async def test_direct_messages_are_told_the_game_is_played_in_a_server(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.message(stub.bob, "!draw", dm=True)
        told = await stub.wait_for_call("POST", f"/channels/{stub.dm_channel_of(stub.bob)}/messages")
        assert "server channel" in told.message["content"]
        await stub.slash("draw", user=stub.bob, dm=True)
        slash = await stub.wait_for_call("POST", "/callback")
        assert "server channel" in slash.message["content"]
        assert game.engine.rounds == {}


async def test_a_slow_answer_is_deferred_privately_then_filled_in(make_settings) -> None:
    async with discord_game(make_settings, bot_options={"defer_after": 0.0}) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice)
        deferred = await stub.wait_for_call("POST", "/callback")
        assert deferred.json["type"] == 5 and deferred.flags & EPHEMERAL  # "thinking", seen by the drawer only
        filled = await stub.wait_for_call("PATCH", "/messages/@original")
        active = await game.wait_round()
        assert active.word.en in filled.json["content"]  # type: ignore[union-attr]
        await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")))


async def test_a_korean_guild_plays_in_korean(make_settings) -> None:
    async with DiscordStub() as stub:
        stub.guilds[stub.guild_id].preferred_locale = "ko"
        async with discord_game(make_settings, stub=stub, locale=None) as game:
            await stub.message(stub.alice, "!그림")
            active = await game.wait_round()
            started = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")))
            labels = [b["label"] for row in started.message["components"] for b in row["components"]]
            assert labels == ["내 단어 보기", "힌트", "넘기기"]
            dm = await stub.wait_for_call("POST", f"/channels/{stub.dm_channel_of(stub.alice)}/messages")
            assert active.word.ko in dm.message["content"]  # type: ignore[union-attr]


async def test_malformed_gateway_dispatches_are_dropped_and_the_bot_plays_on(make_settings, caplog) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        guild, general, alice = str(stub.guild_id), str(stub.general_id), stub.alice.user()
        broken: list[tuple[str, dict]] = [
            ("MESSAGE_CREATE", {"id": "1", "channel_id": general, "guild_id": guild, "author": alice}),
            ("MESSAGE_CREATE", {"id": "x", "channel_id": general, "content": "!help", "author": alice}),
            ("MESSAGE_CREATE", {"id": "2", "channel_id": "nope", "content": "!help", "author": alice}),
            ("MESSAGE_CREATE", {}),
            ("INTERACTION_CREATE", {"id": "3", "type": 2, "channel_id": general, "guild_id": guild}),
            ("INTERACTION_CREATE", {"id": "4", "type": "two", "token": "t", "application_id": "5"}),
            ("GUILD_CREATE", {"id": "not-a-number"}),
            ("GUILD_MEMBER_UPDATE", {"guild_id": guild, "user": {"id": []}}),
            ("CHANNEL_UPDATE", {"id": None}),
            ("MESSAGE_REACTION_ADD", {"user_id": "x", "channel_id": general, "message_id": "1"}),
            ("MESSAGE_DELETE", {"id": {}, "channel_id": general}),
        ]
        for event, data in broken:
            await stub.dispatch(event, data, stub.guild_id)
        mark = len(stub.calls)
        await stub.message(stub.alice, "!help")
        await stub.wait_for_call("POST", "/messages", after=mark)
        dropped = [r for r in caplog.records if "dropped a malformed" in r.getMessage()]
        assert len(dropped) >= 6  # each logged once, without the payload's text


async def test_what_only_the_caller_cares_about_is_answered_privately(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        for name in ("help", "usage", "model", "config"):
            mark = len(stub.calls)
            await stub.slash(name, user=stub.carol)
            answer = await stub.wait_for_call("POST", "/callback", after=mark)
            assert answer.flags & EPHEMERAL, name
        # Prefix commands cannot be ephemeral: a quiet reply to the caller's message, never a DM.
        mark = len(stub.calls)
        typed = await stub.message(stub.carol, "!config locale ko")  # refused: not an admin
        refusal = await game.channel_post(stub.general_id, after=mark)
        assert "Only admins" in refusal.message["content"]
        assert str(refusal.message["message_reference"]["message_id"]) == typed["id"]
        assert refusal.message["allowed_mentions"]["replied_user"] is False
        assert stub.dm_posts(stub.carol) == []
