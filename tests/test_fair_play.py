"""Fair play against a cheating player and a careless admin: lists, floods, late answers, pings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.engine import Engine
from bot.judge import Judge
from bot.replies import Quiet, Say, Whisper
from bot.words import CATEGORIES, default_bank
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command, upload
from tests.imagecorpus import canvas_png
from tests.stubs.openai_server import OpenAIStub

BANK = default_bank()
JUDGE = Judge(BANK)


# --- word lists ---------------------------------------------------------------------------------------


def test_pasting_the_whole_bank_wins_no_word() -> None:
    english = " ".join(word.en for word in BANK)
    assert [w.id for w in BANK if JUDGE.judge(w, english).correct] == []


def test_pasting_one_category_in_korean_wins_no_word() -> None:
    for category in CATEGORIES:
        words = [w for w in BANK if w.category == category]
        korean = " ".join(w.ko for w in words)
        assert [w.id for w in words if JUDGE.judge(w, korean).correct] == [], category


@pytest.mark.parametrize(
    ("secret", "guess"),
    [
        ("apple", "a red apple with a leaf"),
        ("apple", "빨간 사과 같아요"),
        ("giraffe", "a giraffe eating leaves"),
        ("car", "새 차"),
        ("apple", "I think it is an apple"),
    ],
)
def test_natural_guesses_about_one_thing_still_count(secret: str, guess: str) -> None:
    word = BANK.get(secret)
    assert word is not None and JUDGE.judge(word, guess).correct, guess


@pytest.mark.parametrize(
    "guess", ["cat or dog?", "dog or cat", "고양이 아니면 개", "고양이나 개", "cat, dog", "dog / cat", "cat dog house"]
)
def test_two_names_offered_as_alternatives_and_three_names_never_count(guess: str) -> None:
    cat = BANK.get("cat")
    assert cat is not None
    verdict = JUDGE.judge(cat, guess)
    assert not verdict.correct and verdict.kind == "list", guess


def test_the_judge_command_says_a_list_does_not_count() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "judge", "apple", "dog cat apple car house"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "DOES NOT COUNT (list)" in done.stdout


async def test_a_pasted_list_never_wins_and_the_guesser_hears_why_once(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    pasted = " ".join(w.en for w in BANK)[:280]
    pasted = f"{pasted} {word.en}"
    first = await engine.handle(chat(pasted, user="bob"))
    assert [type(r) for r in first] == [Whisper] and "list" in first[0].text
    assert await engine.handle(chat(pasted, user="bob")) == []  # told once
    assert ("s1", "c1") in engine.rounds
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0


# --- length, deadline -----------------------------------------------------------------------------------


async def test_a_huge_guess_is_refused_before_any_work(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    replies = await engine.handle(chat(word.en + " " + "x" * 1_000_000, user="bob"))
    assert [type(r) for r in replies] == [Quiet] and "too long" in replies[0].text
    async with db._conn.execute("SELECT COUNT(*) FROM participants WHERE user_id = 'bob'") as cur:
        assert (await cur.fetchone())[0] == 0  # not even counted as playing
    assert ("s1", "c1") in engine.rounds


async def test_after_the_deadline_nothing_scores_whatever_the_timer_does(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    clock.advance(engine.settings.draw_seconds + 0.5)  # the deadline passed; the tick has not run yet
    late = await engine.handle(chat(word.en, user="bob"))
    assert [type(r) for r in late] == [Quiet] and "too late" in late[0].text
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0
    await engine.tick()
    (result,) = transport.results()
    assert "Time's up" in result.text


async def test_a_late_dialect_answer_is_not_kept(engine: Engine, db: Database, clock: FakeClock) -> None:
    await engine.handle(command("dialect"))
    active = engine.rounds[("s1", "c1")]
    assert active.item is not None
    clock.advance(engine.settings.dialect_seconds + 0.5)
    late = await engine.handle(chat(active.item.references[0], user="bob"))
    assert [type(r) for r in late] == [Quiet]
    assert await db.dialect_answers(active.id) == []


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    async with OpenAIStub() as server:
        yield server


async def _ai_engine(make_settings, db: Database, clock: FakeClock, stub: OpenAIStub, **extra: Any) -> Engine:
    settings = make_settings(openai_base_url=stub.base_url, openai_api_key="k", model_retries=0, **extra)
    engine = Engine(settings, db, transport=RecordingTransport(), clock=clock, tick_interval=3600)
    await engine.start()
    return engine


async def test_the_ai_hedging_between_two_words_does_not_win(
    make_settings, db: Database, clock: FakeClock, stub: OpenAIStub
) -> None:
    engine = await _ai_engine(make_settings, db, clock, stub)
    try:
        await engine.handle(command("draw"))
        word = engine.rounds[("s1", "c1")].word
        assert word is not None
        other = next(w for w in BANK if w.id != word.id and w.category != word.category)
        stub.chat_reply = lambda body: f"{word.en} or {other.en}"
        await engine.handle(upload(canvas_png()))
        await engine.idle()
        assert ("s1", "c1") in engine.rounds
        async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await engine.stop()


async def test_the_ais_answer_after_the_deadline_scores_nothing(
    make_settings, db: Database, clock: FakeClock, stub: OpenAIStub
) -> None:
    engine = await _ai_engine(make_settings, db, clock, stub)
    try:
        await engine.handle(command("draw"))
        word = engine.rounds[("s1", "c1")].word
        assert word is not None

        def late(body: dict[str, Any]) -> str:
            clock.advance(engine.settings.draw_seconds + 1)  # the model answers after the round's time
            return word.en

        stub.chat_reply = late
        await engine.handle(upload(canvas_png()))
        await engine.idle()
        async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await engine.stop()


# --- text an admin sets ---------------------------------------------------------------------------------


async def test_model_ids_that_could_ping_are_refused(engine: Engine) -> None:
    for bad in ("@everyone", "<!channel>", "model@here", "<@123>"):
        replies = await engine.handle(command("model", "drawing", bad, admin=True))
        assert isinstance(replies[0], Say) and "does not look like a model id" in replies[0].text, bad
        assert "@everyone" not in replies[0].text and "<!channel>" not in replies[0].text
    listing = await engine.handle(command("model"))
    assert "@everyone" not in listing[0].text
    ok = await engine.handle(command("model", "drawing", "ft:gpt-4o-mini-2024-07-18:org:canvas:abc", admin=True))
    assert "ft:gpt-4o-mini" in ok[0].text


async def test_a_spaces_own_words_cannot_carry_a_mention(engine: Engine) -> None:
    for bad in ("@everyone", "<!channel>", "@here"):
        replies = await engine.handle(command("word", "add", bad, "모두", admin=True))
        assert "Latin letters" in replies[0].text, bad
    listing = await engine.handle(command("word", "list"))
    assert all("@everyone" not in r.text for r in listing)
