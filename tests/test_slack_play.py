"""Slack end to end: signed requests through Bolt's own handling, the Web API stand-in, the real engine."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import pytest

from tests.imagecorpus import drawing_png
from tests.slack_harness import CHANNEL, slack_game
from tests.stubs.openai_server import OpenAIStub
from tests.stubs.slack_api import command_body


@pytest.fixture
async def ai() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub() as server:
        yield server


def shows(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None


async def ledger(game) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with game.engine.db._conn.execute("SELECT user_id, reason FROM ledger ORDER BY id") as cur:
        return [(r[0], r[1]) for r in await cur.fetchall()]


async def test_a_whole_drawing_round(make_settings, ai: OpenAIStub) -> None:
    async with slack_game(make_settings, ai=ai) as game:
        stub = game.stub
        ai.chat_reply = lambda body: "<!channel> a zeppelin <@U999>"
        began = time.monotonic()
        assert await game.command("draw easy", user="UALICE") == 200
        assert time.monotonic() - began < 3  # acknowledged within Slack's three seconds
        active = await game.wait_round()
        secret = active.word.en  # type: ignore[union-attr]
        whisper = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UALICE")
        assert secret in whisper.text
        started = await stub.wait_for("chat.postMessage", lambda c: "catchbot_secret" in c.text)
        assert all(f"catchbot_{a}" in started.text for a in ("secret", "hint", "skip"))

        assert await game.share("UALICE", "cat.png", drawing_png(), "image/png") == 200
        wrong = await stub.wait_for("chat.postMessage", lambda c: "zeppelin" in c.text)
        assert "<!channel>" not in wrong.text and "<@U999>" not in wrong.text  # escaped: plain text on Slack
        assert stub.downloads == ["cat.png"]  # fetched with the bot token (the stand-in checks it)
        image = ai.chat_requests()[-1]["messages"][1]["content"][1]["image_url"]["url"]
        assert image.startswith("data:image/")  # bytes, never Slack's private URL

        mark = len(stub.calls)
        assert await game.message("UBOB", f"is it a {secret}?") == 200
        result = await stub.wait_for("chat.postMessage", lambda c: "got it" in c.text, after=mark)
        assert result.fields.get("blocks") and shows(result.text, secret)
        public_before = [c.text for c in stub.of("chat.postMessage") if stub.calls.index(c) < stub.calls.index(result)]
        assert public_before and not any(shows(t, secret) for t in public_before)
        assert await ledger(game) == [("UBOB", "guess"), ("UALICE", "drawer")]


async def test_show_my_word_and_other_buttons(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        await game.command("draw", user="UALICE")
        active = await game.wait_round()
        secret = active.word.en  # type: ignore[union-attr]
        mark = len(stub.calls)
        assert await game.press("secret", active.id, user="UBOB") == 200
        refusal = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UBOB", after=mark)
        assert not shows(refusal.text, secret)
        mark = len(stub.calls)
        await game.press("secret", active.id, user="UALICE")
        again = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UALICE", after=mark)
        assert secret in again.text
        mark = len(stub.calls)
        await game.press("skip", active.id + 1, user="UALICE")  # a button of some other round
        stale = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UALICE", after=mark)
        assert "over" in stale.text and game.round_in() is not None
        await game.press("skip", active.id, user="UALICE")
        await game.wait_closed()
        ended = await stub.wait_for("chat.postMessage", lambda c: "skipped" in c.text, after=mark)
        assert shows(ended.text, secret)


async def test_a_file_that_is_not_an_image_gets_a_sentence_and_is_never_downloaded(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        await game.command("draw", user="UALICE")
        await game.wait_round()
        mark = len(stub.calls)
        await game.share("UALICE", "notes.txt", b"hello", "text/plain")
        said = await stub.wait_for("chat.postMessage", lambda c: "not a picture" in c.text, after=mark)
        assert said and stub.downloads == []
        mark = len(stub.calls)
        await game.share("UALICE", "huge.png", b"x", "image/png", size=30 * 1024 * 1024)
        await stub.wait_for("chat.postMessage", lambda c: "MB" in c.text, after=mark)
        assert stub.downloads == []


async def test_the_bot_token_goes_only_to_slack_file_hosts_and_bad_files_get_a_sentence(make_settings) -> None:
    from aiohttp import web

    seen: list[str | None] = []

    async def grab(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(body=b"\x89PNG")

    app = web.Application()
    app.router.add_get("/{name}", grab)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.2", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with slack_game(make_settings) as game:
            stub = game.stub
            await game.command("draw", user="UALICE")
            await game.wait_round()
            hostile = (
                {"url": f"http://127.0.0.2:{port}/steal.png"},  # not Slack's host: the token must not go there
                {"url": ""},  # no download URL at all
                {"url": stub.file_url("gone.png") + "-missing"},  # Slack answers 404
                {"size": "12kb"},  # a size that is not a number
            )
            for options in hostile:
                mark = len(stub.calls)
                await game.share("UALICE", "drawing.png", b"not really a png", "image/png", **options)
                said = await stub.wait_for("chat.postMessage", lambda c: "UALICE" not in c.text, after=mark)
                assert "went wrong" not in said.text, (options, said.text)
            assert seen == []
            assert game.round_in() is not None  # nothing ended the round
    finally:
        await runner.cleanup()


async def test_a_dialect_round_and_the_board(make_settings, ai: OpenAIStub) -> None:
    async with slack_game(make_settings, ai=ai, dialect_seconds=2) as game:
        stub = game.stub
        ai.chat_reply = lambda body: "밥 먹었어요?"
        assert await game.command("jeju", user="UALICE", command="/dialect") == 200
        active = await game.wait_round()
        reference = active.item.references[0]  # type: ignore[union-attr]
        await game.message("UBOB", reference)
        await game.message("UCAROL", "Tom & Jerry <3")
        await stub.wait_for("reactions.add", lambda c: c.fields["name"] == "white_check_mark")
        result = await stub.wait_for("chat.postMessage", lambda c: "100" in c.text and "🤖" in c.text, within=10)
        assert result.fields.get("blocks")
        # Slack sent "Tom &amp; Jerry &lt;3"; it is shown as typed, escaped once.
        assert "Tom &amp; Jerry &lt;3" in result.text and "&amp;amp;" not in result.text
        mark = len(stub.calls)
        await game.command("", user="UBOB", command="/leaderboard")
        board = await stub.wait_for("chat.postMessage", lambda c: "header" in c.text, after=mark)
        assert "#1" in board.text  # the caller's rank, in the board's context line


async def test_resends_and_late_guesses_never_score(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        await game.command("draw", user="UALICE")
        active = await game.wait_round()
        secret = active.word.en  # type: ignore[union-attr]
        guess = {"type": "message", "user": "UBOB", "text": secret, "channel": CHANNEL, "ts": "1700000200.000001"}
        assert await game.event(guess, event_id="EvSAME") == 200
        assert await game.event(guess, event_id="EvSAME", retry=1) == 200  # Slack's resend
        await game.wait_closed()
        late = {**guess, "user": "UCAROL", "ts": "1700000200.000002"}
        assert await game.event(late, event_id="EvLATE") == 200  # delivered after the round closed
        await stub.wait_for("chat.postMessage", lambda c: "got it" in c.text)
        await game.engine.idle()
        assert await ledger(game) == [("UBOB", "guess"), ("UALICE", "drawer")]
        assert len([c for c in stub.of("chat.postMessage") if "got it" in c.text]) == 1


async def test_requests_without_a_good_signature_are_refused(make_settings) -> None:
    async with slack_game(make_settings) as game:
        body = command_body("/catchbot", "draw", user="UALICE")
        form = "application/x-www-form-urlencoded"
        assert (await game.post(body, form, sign=False))[0] == 401
        assert (await game.post(body, form, headers={"X-Slack-Signature": "v0=" + "0" * 64}))[0] == 401
        assert (await game.post(body, form, timestamp=int(time.time()) - 600))[0] == 401
        for stamp in ("soon", "1.5e9", "١٧٠٠٠٠٠٠٠٠", ""):
            assert (await game.post(body, form, headers={"X-Slack-Request-Timestamp": stamp}))[0] == 401
        assert game.round_in() is None and game.stub.of("chat.postEphemeral") == []


async def test_admin_commands_are_refused_to_members(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        stub.users["UADMIN"] = {"is_admin": True, "name": "Ada"}
        await game.command("model drawing ft:gpt-test", user="UBOB")
        refusal = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UBOB")
        assert "admin" in refusal.text.lower()
        assert (await game.engine.space(game.space)).values.get("model.drawing") is None
        await game.command("model drawing ft:gpt-test", user="UADMIN")
        await stub.wait_for("chat.postMessage", lambda c: "ft:gpt-test" in c.text)
        assert (await game.engine.space(game.space)).values.get("model.drawing") == "ft:gpt-test"


async def test_a_rate_limited_message_is_sent_after_the_wait(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        stub.rate_limit("chat.postMessage", 1)
        await game.command("draw", user="UALICE")
        first = await stub.wait_for("chat.postMessage", lambda c: "catchbot_secret" in c.text)
        began = time.monotonic()
        again = await stub.wait_for("chat.postMessage", lambda c: c is not first and "catchbot_secret" in c.text)
        # The first met 429 with Retry-After: 1; the same message went again after the wait.
        assert again.fields["text"] == first.fields["text"] and time.monotonic() - began > 0.5


async def test_a_space_speaks_one_language_whoever_plays_and_dms_are_pointed_to_a_channel(make_settings) -> None:
    async with slack_game(make_settings, locale=None) as game:  # no deployment language
        stub = game.stub
        stub.users["UKO"] = {"locale": "ko-KR", "name": "민수"}
        # A Korean user's command does not switch the channel to Korean: the space's language stands.
        await game.command("그림", user="UKO")
        await stub.wait_for("chat.postMessage", lambda c: "is drawing" in c.text)
        active = await game.wait_round()
        mark = len(stub.calls)
        await game.message("UKO", active.word.en)  # type: ignore[union-attr]
        await game.message("UBOB", active.word.en)  # type: ignore[union-attr]
        result = await stub.wait_for("chat.postMessage", lambda c: "got it" in c.text, after=mark)
        assert "맞혔어요" not in result.text
        stub.users["UADMIN"] = {"is_admin": True, "name": "Ada"}
        await game.command("config locale ko", user="UADMIN")
        mark = len(stub.calls)
        await game.command("draw", user="UBOB")  # an English user, in a space set to Korean
        await stub.wait_for("chat.postMessage", lambda c: "그림을 그립니다" in c.text, after=mark)
        mark = len(stub.calls)
        await game.command("draw", user="UBOB", channel="D123")
        said = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["channel"] == "D123", after=mark)
        assert "channel" in said.text


async def test_a_round_started_in_a_thread_stays_there(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        thread = "1700000000.500000"
        mention = {
            "type": "app_mention",
            "user": "UALICE",
            "text": "<@UBOT> draw",
            "channel": CHANNEL,
            "ts": "1700000000.600000",
            "thread_ts": thread,
        }
        await game.event(mention)
        active = await game.wait_round(f"{CHANNEL}/{thread}")
        started = await stub.wait_for("chat.postMessage", lambda c: "catchbot_secret" in c.text)
        assert started.fields.get("thread_ts") == thread
        await game.message("UBOB", active.word.en)  # type: ignore[union-attr]  # in the channel, not the thread
        await game.engine.idle()
        assert game.round_in(f"{CHANNEL}/{thread}") is not None
        await game.message("UBOB", active.word.en, thread_ts=thread)  # type: ignore[union-attr]
        await game.wait_closed(f"{CHANNEL}/{thread}")
        result = await stub.wait_for("chat.postMessage", lambda c: "got it" in c.text)
        assert result.fields.get("thread_ts") == thread


async def test_catchbot_run_serves_slack_in_http_mode(make_settings) -> None:
    import asyncio
    import contextlib
    import socket

    import aiohttp

    from adapters.launch import serve_platforms
    from tests.slack_harness import SECRET
    from tests.stubs.slack_api import SlackStub, signed

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with SlackStub() as stub:
        settings = make_settings(
            slack_bot_token=stub.token, slack_signing_secret=SECRET, slack_api_url=stub.api_url, slack_port=port
        )
        running = asyncio.create_task(serve_platforms(settings, ["slack"]))
        try:
            body = command_body("/draw", "", user="UALICE")
            headers = {"Content-Type": "application/x-www-form-urlencoded", **signed(SECRET, body)}
            async with aiohttp.ClientSession() as session:
                for _ in range(100):
                    try:
                        async with session.post(
                            f"http://127.0.0.1:{port}/slack/events", data=body, headers=headers
                        ) as r:
                            assert r.status == 200
                            break
                    except aiohttp.ClientConnectionError:
                        await asyncio.sleep(0.05)
            whisper = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UALICE")
            assert "secret word" in whisper.text
            assert stub.of("auth.test")  # the token was checked at start-up
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def test_catchbot_run_plays_over_socket_mode_by_default(make_settings) -> None:
    import asyncio
    import contextlib
    from urllib.parse import parse_qsl

    from adapters.launch import serve_platforms
    from tests.stubs.slack_api import SlackStub

    async with SlackStub() as stub:
        settings = make_settings(slack_bot_token=stub.token, slack_app_token=stub.app_token, slack_api_url=stub.api_url)
        running = asyncio.create_task(serve_platforms(settings, ["slack"]))
        try:
            command = dict(parse_qsl(command_body("/catchbot", "draw", user="UALICE")))
            ack = await stub.envelope("slash_commands", command)
            assert ack["envelope_id"]
            whisper = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UALICE")
            assert "secret word" in whisper.text
            assert stub.of("apps.connections.open")  # connected with the app-level token, no public URL
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def test_a_picture_goes_up_with_the_current_files_api(make_settings) -> None:
    from bot.replies import Picture

    async with slack_game(make_settings) as game:
        stub = game.stub
        picture = Picture(drawing_png(), "round.png", "the drawing <!channel>")
        await game.adapter.deliver(game.space, CHANNEL, [picture])
        assert stub.of("files.getUploadURLExternal") and stub.of("files.completeUploadExternal")
        assert list(stub.uploads.values()) == [picture.data]
        complete = stub.of("files.completeUploadExternal")[0]
        assert complete.fields.get("channel_id") == CHANNEL and "<!channel>" not in str(complete.fields)
        assert not stub.of("files.upload")  # the retired method is never called


async def test_a_refused_bot_token_is_one_clear_sentence(make_settings) -> None:
    from adapters.launch import serve_platforms
    from bot.errors import UserError
    from tests.stubs.slack_api import SlackStub

    async with SlackStub() as stub:
        settings = make_settings(
            slack_bot_token="xoxb-wrong", slack_app_token=stub.app_token, slack_api_url=stub.api_url
        )
        with pytest.raises(UserError) as refused:
            await serve_platforms(settings, ["slack"])
        assert "SLACK_BOT_TOKEN" in refused.value.message("en") and "invalid_auth" in refused.value.message("en")


async def test_help_and_settings_are_shown_only_to_the_caller(make_settings) -> None:
    async with slack_game(make_settings) as game:
        stub = game.stub
        for text in ("help", "usage", "model", "config"):
            mark = len(stub.calls)
            assert await game.command(text, user="UBOB") == 200
            shown = await stub.wait_for("chat.postEphemeral", lambda c: c.fields["user"] == "UBOB", after=mark)
            assert shown.text
        await game.engine.idle()
        assert stub.of("chat.postMessage") == []  # nothing of it in the channel
