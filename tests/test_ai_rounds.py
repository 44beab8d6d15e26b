"""Rounds with AI players: the real openai client talking HTTP to a local OpenAI-compatible server."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from PIL import Image

from bot.engine import Engine
from bot.replies import AdminNotice, RoundResult
from bot.rounds import AI_USER
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command, upload
from tests.stubs.openai_server import OpenAIStub


def drawing() -> bytes:
    image = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    for x in range(100, 500):
        image.putpixel((x, 240), (255, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def ledger(db: Database) -> list[tuple[str, int, str]]:
    async with db._conn.execute("SELECT user_id, points, reason FROM ledger ORDER BY id") as cur:
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def start_drawing(engine: Engine) -> str:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    return word.en


def answering(text: str | Callable[[], str]) -> Callable[[dict[str, Any]], str]:
    return lambda body: text() if callable(text) else text


async def test_ai_recognises_the_drawing_and_wins(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport
) -> None:
    engine = await make_engine(transport)
    secret = await start_drawing(engine)
    stub.chat_reply = answering(f"A simple drawing of a {secret}")
    replies = await engine.handle(upload(drawing()))
    assert "1/4" in replies[0].text
    await engine.idle()
    result = [r for _, _, r in transport.sent if isinstance(r, RoundResult)]
    assert len(result) == 1 and "AI got it" in result[0].text
    body = stub.chat_requests()[-1]
    assert body["model"] == engine.settings.drawing_model
    assert body["messages"][0]["content"] == engine.settings.drawing_system_prompt
    parts = body["messages"][1]["content"]
    assert parts[0]["text"] == engine.settings.drawing_user_prompt
    assert parts[1]["image_url"]["url"].startswith("data:image/") and parts[1]["image_url"]["detail"] == "low"
    rows = await ledger(db)
    assert rows[0][0] == AI_USER and rows[0][2] == "ai_guess"
    assert rows[1] == ("alice", 5, "drawer_ai")
    async with db._conn.execute("SELECT ai_guess, ai_correct FROM drawings") as cur:
        assert tuple(await cur.fetchone()) == (f"A simple drawing of a {secret}", 1)
    usage = (await engine.handle(command("usage")))[0].text
    assert "today: 1 call," in usage
    board = (await engine.handle(command("leaderboard")))[0]
    assert [r.name for r in board.rows] == ["🤖 AI", "Alice"]  # type: ignore[union-attr]


async def test_wrong_ai_guess_is_shown_and_humans_can_still_win(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport
) -> None:
    engine = await make_engine(transport)
    secret = await start_drawing(engine)
    stub.chat_reply = answering("@everyone a zeppelin <@123>")
    await engine.handle(upload(drawing()))
    await engine.idle()
    shown = transport.texts()[-1]
    assert "zeppelin" in shown and "@everyone" not in shown and "<@123>" not in shown
    await engine.handle(chat(secret, user="bob"))
    assert len(transport.results()) == 1
    assert [r[0] for r in await ledger(db)] == ["bob", "alice"]


async def test_a_wrong_ai_guess_that_names_the_secret_never_shows_it(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport
) -> None:
    """Denied, listed, offered as an alternative, misspelt: the word stays hidden until the round ends."""
    from bot.judge import normalise
    from bot.replies import Whisper

    engine = await make_engine(transport)
    framings = (
        "{o} or {w}. Not it!",
        "not a {w}",
        "{w}s and {o}s",
        "a tree, a {w}, a house",
        "definitely no {w} here",
    )
    for number, framing in enumerate(framings):
        secret = await start_drawing(engine)
        word = engine.rounds[("s1", "c1")].word
        assert word is not None
        guess = framing.format(w=secret, o="cat" if secret != "cat" else "dog")
        stub.chat_reply = answering(guess)
        before = len(transport.sent)
        await engine.handle(upload(drawing()))
        await engine.idle()
        public = [r.text for _, _, r in transport.sent[before:] if not isinstance(r, Whisper) and hasattr(r, "text")]
        assert public and "AI guessed, but not quite" in public[-1], (guess, public)
        for text in public:
            assert all(normalise(name) not in normalise(text) for name in (word.en, word.ko)), (guess, text)
        async with db._conn.execute("SELECT ai_guess, ai_correct FROM drawings ORDER BY id DESC") as cur:
            assert tuple(await cur.fetchone()) == (guess, 0)  # kept for the fine-tuning data as it was
        assert ("s1", "c1") in engine.rounds, guess  # a wrong guess does not end the round
        await engine.handle(chat(secret, user="bob"))
        assert len(transport.results()) == number + 1 and "bob got it" in transport.results()[-1].text.casefold()


async def test_space_model_override_is_sent(make_engine, stub: OpenAIStub, transport: RecordingTransport) -> None:
    engine = await make_engine(transport)
    set_reply = await engine.handle(command("model", "drawing", "ft:gpt-4o-2024-08-06:org:canvas:abc", admin=True))
    assert "ft:gpt-4o-2024-08-06:org:canvas:abc" in set_reply[0].text
    refused = await engine.handle(command("model", "drawing", "other", user="bob"))
    assert "Only admins" in refused[0].text
    await start_drawing(engine)
    stub.chat_reply = answering("nothing")
    await engine.handle(upload(drawing()))
    await engine.idle()
    assert stub.chat_requests()[-1]["model"] == "ft:gpt-4o-2024-08-06:org:canvas:abc"


async def test_retired_model_falls_back_and_admins_hear_once(
    make_engine, stub: OpenAIStub, transport: RecordingTransport, clock: FakeClock
) -> None:
    engine = await make_engine(transport)
    stub.missing_models.add(engine.settings.drawing_model)
    stub.chat_reply = answering("a boat")
    for _ in range(2):
        await start_drawing(engine)
        await engine.handle(upload(drawing()))
        await engine.idle()
        await engine.handle(command("skip"))
        clock.advance(10)
    notices = [r for _, _, r in transport.sent if isinstance(r, AdminNotice)]
    assert len(notices) == 1
    assert (
        engine.settings.drawing_model in notices[0].text and engine.settings.drawing_fallback_model in notices[0].text
    )
    models = [b["model"] for b in stub.chat_requests()]
    assert models[-1] == engine.settings.drawing_fallback_model


async def test_failing_provider_degrades_to_humans_once(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport
) -> None:
    engine = await make_engine(transport)
    secret = await start_drawing(engine)
    fault = stub.fail("/v1/chat/completions", status=500, times=None)
    for _ in range(2):
        await engine.handle(upload(drawing()))
        await engine.idle()
    assert fault.hits == 2 * (engine.settings.model_retries + 1)
    failures = [t for t in transport.texts() if "could not answer" in t]
    assert len(failures) == 1
    await engine.handle(chat(secret, user="bob"))
    assert len(transport.results()) == 1


async def test_a_slow_model_stalls_no_other_channel(
    make_engine, stub: OpenAIStub, transport: RecordingTransport
) -> None:
    engine = await make_engine(transport)
    stub.default_delay = 3.0
    stub.chat_reply = answering("a cloud")
    await start_drawing(engine)
    await engine.handle(upload(drawing()))  # the AI call is now in flight for c1
    await engine.handle(command("draw", user="bob", channel="c2"))
    other = engine.rounds[("s1", "c2")].word
    engine_round_c2 = engine.rounds[("s1", "c2")].id
    assert other is not None
    began = time.perf_counter()
    await engine.handle(chat(other.en, user="carol", channel="c2"))
    same_channel = await engine.handle(chat("a guess while the AI thinks", user="dave"))
    elapsed = time.perf_counter() - began
    assert [r.round_id for r in transport.results()] == [engine_round_c2] and same_channel == []
    assert elapsed < 1.0, f"handling waited {elapsed:.2f}s for another channel's model call"


async def test_late_ai_answer_after_a_human_win_scores_nothing(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport
) -> None:
    engine = await make_engine(transport)
    secret = await start_drawing(engine)
    stub.default_delay = 0.5
    stub.chat_reply = answering(secret)
    await engine.handle(upload(drawing()))
    await engine.handle(chat(secret, user="bob"))
    await engine.idle()
    assert [r[0] for r in await ledger(db)] == ["bob", "alice"]
    (result,) = transport.results()  # bob's win only: the AI's late answer announces nothing
    assert "Bob" in result.text


async def test_ai_only_points_are_capped_per_day(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport, clock: FakeClock
) -> None:
    engine = await make_engine(transport, ai_only_daily_cap=7)
    for _ in range(3):
        secret = await start_drawing(engine)
        stub.chat_reply = answering(secret)
        await engine.handle(upload(drawing()))
        await engine.idle()
        clock.advance(5)
    drawer = [r for r in await ledger(db) if r[2] == "drawer_ai"]
    assert [r[1] for r in drawer] == [5, 2]  # 5, then 2 up to the cap, then nothing (no zero rows)
    clock.advance(86400)
    secret = await start_drawing(engine)
    stub.chat_reply = answering(secret)
    await engine.handle(upload(drawing()))
    await engine.idle()
    assert [r[1] for r in await ledger(db) if r[2] == "drawer_ai"][-1] == 5  # a new day


async def test_daily_budget_makes_the_ai_sit_out(make_engine, stub: OpenAIStub, transport: RecordingTransport) -> None:
    engine = await make_engine(transport, daily_call_budget=1)
    await start_drawing(engine)
    stub.chat_reply = answering("a lamp")
    await engine.handle(upload(drawing()))
    await engine.idle()
    second = await engine.handle(upload(drawing()))
    assert any("budget" in r.text for r in second)
    assert len(stub.chat_requests()) == 1


async def test_dialect_ai_answer_is_hidden_until_the_end(
    make_engine, stub: OpenAIStub, db: Database, transport: RecordingTransport, clock: FakeClock
) -> None:
    engine = await make_engine(transport)
    references: list[str] = []
    stub.chat_reply = lambda body: references[0] if references else "모르겠다"
    await engine.handle(command("dialect", "gangwon"))
    item = engine.rounds[("s1", "c1")].item
    assert item is not None
    references.append(item.references[0])
    await engine.idle()
    body = stub.chat_requests()[-1]
    assert body["messages"] == [
        {"role": "system", "content": engine.settings.dialect_system_prompt},
        {"role": "user", "content": item.dialect},
    ]
    assert all(item.references[0] not in t for t in transport.texts())  # nothing revealed yet
    await engine.handle(chat("몰라요", user="bob"))
    clock.advance(61)
    await engine.tick()
    result = transport.sent[-1][2]
    assert isinstance(result, RoundResult)
    assert "AI: " in result.text and "100.0" in result.text
    rows = await ledger(db)
    assert (AI_USER, 10, "ai_dialect") in rows
