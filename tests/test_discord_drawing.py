"""Drawing rounds on Discord: real discord.py against the local gateway + REST stand-in, the real engine and AI."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest

from adapters.launch import serve_platforms
from bot.games.drawing import hint_for
from tests.discord_harness import discord_game
from tests.imagecorpus import drawing_png
from tests.stubs.discord_server import EPHEMERAL, DiscordStub
from tests.stubs.openai_server import OpenAIStub

NO_PINGS = {"parse": []}


@pytest.fixture
async def ai() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub() as server:
        yield server


def round_message(stub: DiscordStub, channel: int) -> dict:
    """The round's public start message as Discord stored it (the one with our buttons)."""
    for message in stub.created:
        ids = [c["custom_id"] for row in message["components"] for c in row["components"]]
        if message["channel_id"] == str(channel) and any(i.startswith("catchbot:") for i in ids):
            return message
    raise AssertionError("no round message with buttons")


async def test_slash_draw_upload_ai_guess_then_a_member_guesses(make_settings, ai: OpenAIStub) -> None:
    async with discord_game(make_settings, ai=ai) as game:
        stub = game.stub
        ai.chat_reply = lambda body: "@everyone a zeppelin <@&123>"
        await stub.slash("draw", {"difficulty": "easy"}, user=stub.alice)
        callback = await stub.wait_for_call("POST", "/callback")
        active = await game.wait_round()
        secret = active.word.en  # type: ignore[union-attr]
        # The secret reaches the drawer only: the interaction callback itself is ephemeral (flags 64).
        assert callback.json["type"] == 4 and callback.flags & EPHEMERAL
        assert secret in callback.message["content"]
        started = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")))
        ids = [b["custom_id"] for row in started.message["components"] for b in row["components"]]
        assert ids == [f"catchbot:{a}:{active.id}" for a in ("secret", "hint", "skip")]

        drawing = stub.attachment(drawing_png(), "cat.png")
        await stub.message(stub.alice, "", attachments=[drawing])
        await stub.wait_for_call("POST", f"/channels/{stub.general_id}/typing")  # Thinking while the model works
        wrong = await game.channel_post(stub.general_id, lambda c: "zeppelin" in c.message.get("content", ""))
        assert "@everyone" not in wrong.message["content"] and "<@&123>" not in wrong.message["content"]
        assert wrong.message["allowed_mentions"] == NO_PINGS
        assert stub.downloads == [int(drawing["id"])]
        image = ai.chat_requests()[-1]["messages"][1]["content"][1]["image_url"]["url"]
        assert image.startswith("data:image/") and "127.0.0.1" not in image  # bytes, never the signed URL

        before_end = len(stub.calls)
        await stub.message(stub.bob, f"is it a {secret}?")
        result = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")), after=before_end)
        await game.wait_closed()
        embed = result.message["embeds"][0]
        # A title and a colour per outcome; each fact once: the word in the description, who scored in fields.
        assert embed["title"] == "🎉 Got it!" and embed["color"] == 0x57F287
        assert secret in embed["description"] and "Bob" not in embed["description"]
        assert [f["name"] for f in embed["fields"]] == ["Bob", "Alice"]
        assert embed["fields"][0]["value"].startswith("Answer: is it a") and "+" in embed["fields"][0]["value"]
        assert "Answer" not in embed["fields"][1]["value"]  # the drawer's line: points only
        # Every public message of the round before its result kept the word secret, and none could ping.
        during = [c for c in stub.public_posts() if stub.calls.index(c) < before_end]
        assert during and not any(shows(" ".join(c.texts()), secret) for c in during)
        assert all(c.message.get("allowed_mentions") == NO_PINGS for c in stub.public_posts())

        await stub.slash("leaderboard", user=stub.bob)
        board = await stub.wait_for_call("POST", "/callback", lambda c: bool(c.message.get("embeds")))
        embed = board.message["embeds"][0]
        assert not board.flags & EPHEMERAL
        assert embed["description"].splitlines()[0].startswith("**1.** Bob")
        assert "Alice" in embed["description"] and "#1" in embed["footer"]["text"]


async def test_prefix_draw_sends_the_secret_by_dm(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.message(stub.alice, "!draw")
        active = await game.wait_round()
        dm = await stub.wait_for_call("POST", f"/channels/{stub.dm_channel_of(stub.alice)}/messages")
        assert active.word.en in dm.message["content"]  # type: ignore[union-attr]
        assert not shows(" ".join(stub.public_texts()), active.word.en)  # type: ignore[union-attr]
        # The Korean alias works as a prefix command too: a second start hears that a round is running.
        mark = len(stub.calls)
        await stub.message(stub.bob, "!그림")
        notice = await game.channel_post(
            stub.general_id, lambda c: "Alice" in c.message["content"] and not c.message["components"], after=mark
        )
        assert "running" in notice.message["content"]


async def test_closed_dms_cancel_the_round_without_showing_the_word(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub, db = game.stub, game.engine.db
        stub.closed_dms.add(stub.alice.id)
        await stub.message(stub.alice, "!draw")
        refused = await stub.wait_for_call("POST", f"/channels/{stub.dm_channel_of(stub.alice)}/messages")
        said = await game.channel_post(stub.general_id, lambda c: "cancelled" in " ".join(c.texts()))
        assert stub.calls.index(said) > stub.calls.index(refused) and "Alice" in " ".join(said.texts())
        assert game.round_in() is None
        async with db._conn.execute("SELECT status, secret FROM rounds") as cur:
            (status, word_id), *others = await cur.fetchall()
        assert status == "skipped" and others == []
        word = game.engine.services.words.get(word_id)
        assert word is not None and not shows(" ".join(stub.public_texts()), word.en)
        async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
            assert (await cur.fetchone())[0] == 0


async def test_show_my_word_button_answers_the_drawer_only(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice)
        active = await game.wait_round()
        secret = active.word.en  # type: ignore[union-attr]
        await game.channel_post(stub.general_id, lambda c: bool(c.message.get("components")))
        message = round_message(stub, stub.general_id)

        mark = len(stub.calls)
        await stub.press(f"catchbot:secret:{active.id}", user=stub.bob, message=message)
        refusal = await stub.wait_for_call("POST", "/callback", after=mark)
        assert refusal.flags & EPHEMERAL and not shows(refusal.message["content"], secret)
        assert "Alice" in refusal.message["content"]

        mark = len(stub.calls)
        await stub.press(f"catchbot:secret:{active.id}", user=stub.alice, message=message)
        again = await stub.wait_for_call("POST", "/callback", after=mark)
        assert again.flags & EPHEMERAL and secret in again.message["content"]

        mark = len(stub.calls)
        await stub.press(f"catchbot:hint:{active.id}", user=stub.bob, message=message)
        no_hint = await stub.wait_for_call("POST", "/callback", after=mark)
        assert no_hint.flags & EPHEMERAL
        mark = len(stub.calls)
        await stub.press(f"catchbot:hint:{active.id}", user=stub.alice, message=message)
        hint = await stub.wait_for_call("POST", "/callback", after=mark)
        assert not hint.flags & EPHEMERAL and hint_for(active.word, "en") in hint.message["content"]  # type: ignore[arg-type]
        assert not shows(hint.message["content"], secret)

        mark = len(stub.calls)
        await stub.press(f"catchbot:skip:{active.id}", user=stub.alice, message=message)
        await game.wait_closed()
        # The presser hears privately that it worked; the result is announced to the channel once committed.
        done = await stub.wait_for_call("POST", "/callback", after=mark)
        assert done.flags & EPHEMERAL and not shows(done.message["content"], secret)
        ended = await game.channel_post(stub.general_id, lambda c: bool(c.message.get("embeds")), after=mark)
        assert "skipped" in " ".join(ended.texts()) and shows(" ".join(ended.texts()), secret)

        await stub.slash("draw", user=stub.bob)
        second = await game.wait_round()
        mark = len(stub.calls)
        await stub.press(f"catchbot:skip:{active.id}", user=stub.owner, message=message)  # the old round's button
        stale = await stub.wait_for_call("POST", "/callback", after=mark)
        assert stale.flags & EPHEMERAL and "over" in stale.message["content"]
        assert game.round_in() is second


async def test_oversized_and_text_attachments_get_a_sentence_and_are_never_downloaded(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice)
        await game.wait_round()
        big = stub.attachment(b"\x89PNG not really", "huge.png", "image/png", size=30 * 1024 * 1024)
        await stub.message(stub.alice, "", attachments=[big])
        too_big = await game.channel_post(stub.general_id, lambda c: "MB" in c.message.get("content", ""))
        assert "20" in too_big.message["content"]
        notes = stub.attachment(b"just words", "notes.txt", "text/plain")
        await stub.message(stub.alice, "", attachments=[notes])
        not_image = await game.channel_post(stub.general_id, lambda c: "image" in c.message.get("content", "").lower())
        assert stub.calls.index(not_image) > stub.calls.index(too_big)
        assert stub.downloads == []
        assert game.round_in() is not None  # the round carries on
        # Several attachments in one message: the first image counts, the others are never fetched.
        first_image = stub.attachment(drawing_png(), "drawing.png")
        second_image = stub.attachment(drawing_png(), "other.png")
        await stub.message(
            stub.alice, "", attachments=[stub.attachment(b"x", "a.txt", "text/plain"), first_image, second_image]
        )
        await game.channel_post(stub.general_id, lambda c: "1/4" in c.message.get("content", ""))
        assert stub.downloads == [int(first_image["id"])]


async def test_a_round_started_in_a_thread_stays_in_the_thread(make_settings) -> None:
    async with discord_game(make_settings) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice, channel=stub.thread_id)
        active = await game.wait_round(stub.thread_id)
        assert active.channel == str(stub.thread_id) and game.round_in() is None
        await game.channel_post(stub.thread_id, lambda c: bool(c.message.get("components")))
        await stub.message(stub.bob, active.word.en, channel=stub.thread_id)  # type: ignore[union-attr]
        result = await game.channel_post(stub.thread_id, lambda c: bool(c.message.get("embeds")))
        assert result.message["embeds"][0]["fields"][0]["name"] == "Bob"
        assert not any(c.path == f"/channels/{stub.general_id}/messages" for c in stub.calls)


def shows(text: str, word: str) -> bool:
    """Whether ``text`` shows ``word`` as a word of its own ("lock" is not in "clock")."""
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) is not None


async def test_the_launcher_runs_discord_and_routes_later_messages_to_it(make_settings, ai: OpenAIStub) -> None:
    async with DiscordStub() as stub:
        settings = make_settings(
            discord_token="test-token",
            discord_api_base=stub.api_base,
            discord_gateway_url=stub.gateway_url,
            openai_base_url=ai.base_url,
            openai_api_key="test-key",
            model_retries=0,
        )
        ai.chat_reply = lambda body: "a flibbertigibbet"
        task = asyncio.create_task(serve_platforms(settings, ["discord"]))
        try:
            await stub.wait_ready()
            await stub.slash("draw", user=stub.alice)
            await stub.wait_for_call("POST", "/callback")
            await stub.message(stub.alice, "", attachments=[stub.attachment(drawing_png(), "d.png")])
            # The AI's answer comes later, through the launcher's router, to this adapter's transport.
            said = await stub.wait_for_call(
                "POST",
                f"/channels/{stub.general_id}/messages",
                lambda c: "flibbertigibbet" in c.message.get("content", ""),
            )
            assert said.message["allowed_mentions"] == NO_PINGS
            await stub.settle()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_an_attachment_larger_than_it_says_is_read_only_up_to_the_cap(make_settings) -> None:
    async with discord_game(make_settings, upload_max_bytes=2 * 1024 * 1024) as game:
        stub = game.stub
        await stub.slash("draw", user=stub.alice)
        await game.wait_round()
        liar = stub.attachment(drawing_png() + b"\0" * (200 * 1024 * 1024), "small.png", "image/png", size=40_000)
        mark = len(stub.calls)
        await stub.message(stub.alice, "", attachments=[liar])
        await stub.wait_for_call("POST", "/messages", after=mark)  # the bot's answer to the upload
        (att_id,) = stub.downloads
        assert stub.bytes_sent[att_id] < 60 * 1024 * 1024  # not 200 MB: the reader stopped near its cap
        assert game.round_in() is not None  # the round carries on
