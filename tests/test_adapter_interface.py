"""The neutral line adapters stand on: the command table, buttons as commands, platform files, languages."""

from __future__ import annotations

import random
from pathlib import Path

from bot import i18n
from bot.commands import COMMANDS, lookup
from bot.engine import Engine
from bot.events import Command, ImageUpload, Origin, SecretUndelivered
from bot.replies import Quiet, RoundResult, RoundStarted, Say, StatsCard, Whisper
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command, origin
from tests.imagecorpus import canvas_png


def test_every_catalogued_name_resolves_and_korean_aliases_work() -> None:
    seen: set[str] = set()
    for spec in COMMANDS:
        for name in spec.names:
            assert name not in seen, f"{name} names two commands"
            seen.add(name)
            assert lookup(name) is spec and lookup(f"/{name.upper()}") is spec
    assert lookup("그림").name == "draw" and lookup("힌트").name == "hint" and lookup("내단어").name == "secret"
    assert lookup("//draw") is None and lookup("nonsense") is None


def test_every_description_exists_in_both_languages() -> None:
    for spec in COMMANDS:
        keys = [spec.description_key, *(p.description_key for p in spec.params)]
        for locale in i18n.LOCALES:
            for key in keys:
                assert key in i18n.catalog(locale), f"{locale}: {key}"


def test_platform_language_tags_map_to_ours() -> None:
    assert [i18n.language_of(t) for t in ("ko", "ko-KR", "ko_KR.UTF-8", "en-US", "fr", None, " ")] == [
        *("ko", "ko", "ko", "en", "en"),
        *(None, None),
    ]


async def test_start_is_a_round_message_with_buttons_and_a_secret_for_the_drawer(engine: Engine) -> None:
    replies = await engine.handle(command("draw"))
    active = engine.rounds[("s1", "c1")]
    started = [r for r in replies if isinstance(r, RoundStarted)]
    assert len(started) == 1 and started[0].round_id == active.id and started[0].actions == ("secret", "hint", "skip")
    secret = [r for r in replies if isinstance(r, Whisper)]
    assert secret[0].user == "alice" and secret[0].round_id == active.id


async def test_show_my_word_answers_the_drawer_only(engine: Engine) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    mine = await engine.handle(command("secret"))
    assert len(mine) == 1 and isinstance(mine[0], Whisper) and word.en in mine[0].text and mine[0].user == "alice"
    theirs = await engine.handle(command("secret", user="bob"))
    assert isinstance(theirs[0], Whisper) and theirs[0].user == "bob" and word.en not in theirs[0].text
    assert "Alice" in theirs[0].text


async def test_early_hint_is_the_drawers_and_is_given_once(engine: Engine, transport: RecordingTransport) -> None:
    await engine.handle(command("draw"))
    active = engine.rounds[("s1", "c1")]
    refused = await engine.handle(command("hint", user="bob"))
    assert isinstance(refused[0], Whisper) and refused[0].user == "bob" and not active.payload["hint_sent"]
    hint = await engine.handle(command("hint"))
    assert isinstance(hint[0], Say) and "Hint" in hint[0].text and active.payload["hint_sent"]
    await engine.tick()  # half time has not come, and the hint is already out: nothing more is said
    assert transport.sent == []


async def test_undeliverable_secret_cancels_the_round_without_the_word(
    engine: Engine, db: Database, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    active = engine.rounds[("s1", "c1")]
    assert active.word is not None
    stranger = await engine.handle(SecretUndelivered(origin("bob"), active.id))
    assert stranger == [] and ("s1", "c1") in engine.rounds
    assert await engine.handle(SecretUndelivered(origin("alice"), active.id)) == []
    assert ("s1", "c1") not in engine.rounds
    (cancelled,) = transport.results()
    assert "cancelled" in cancelled.text and cancelled.answer == ""
    assert active.word.en.lower() not in cancelled.text.lower() and active.word.ko not in cancelled.text
    row = await db.get_round(active.id)
    assert row is not None and row.status == "skipped"
    async with db._conn.execute("SELECT COUNT(*) FROM ledger") as cur:
        assert (await cur.fetchone())[0] == 0


def _platform_upload(data: bytes, *, declared: str | None, size: int | None, calls: list[int]) -> ImageUpload:
    async def fetch(limit: int) -> bytes:
        calls.append(limit)
        return data[:limit]

    return ImageUpload(origin("alice"), b"", "drawing.png", declared, size=size, fetch=fetch)


async def test_platform_files_are_checked_before_download(engine: Engine) -> None:
    calls: list[int] = []
    outside = await engine.handle(_platform_upload(canvas_png(), declared="image/png", size=100, calls=calls))
    assert isinstance(outside[0], Quiet) and calls == []  # no round: never downloaded
    await engine.handle(command("draw"))
    text_file = await engine.handle(_platform_upload(b"hello", declared="text/plain", size=5, calls=calls))
    assert isinstance(text_file[0], Say) and "not a picture" in text_file[0].text and calls == []
    limit = engine.settings.upload_max_bytes
    huge = await engine.handle(_platform_upload(b"x", declared="image/png", size=30 * 1024 * 1024, calls=calls))
    assert isinstance(huge[0], Say) and "MB" in huge[0].text and calls == []
    good = await engine.handle(_platform_upload(canvas_png(), declared="image/png", size=1000, calls=calls))
    assert calls == [limit + 1] and "received" in good[0].text


async def test_platform_language_unless_the_space_chose(tmp_path: Path, make_settings) -> None:
    db = await Database.open(tmp_path / "lang.db")
    eng = Engine(make_settings(locale=None), db, transport=RecordingTransport(), clock=FakeClock(), tick_interval=3600)
    try:
        korean = Origin("discord:1", "c", "u", "U", locale="ko")
        english = Origin("discord:2", "c", "u", "U", locale="en-US")
        assert (await eng.space(korean.space, korean.locale)).locale == "ko"
        assert (await eng.space(english.space, english.locale)).locale == "en"
        assert (await eng.space("console")).locale == "en"
        admin = Origin("discord:1", "c", "u", "U", is_admin=True, locale="ko")
        await eng.handle(Command(admin, "config", ("locale", "en")))
        # The setting is seen at once (the cached settings were dropped) and beats the platform's language.
        assert (await eng.space(korean.space, korean.locale)).locale == "en"
    finally:
        await db.close()


async def test_timers_speak_the_language_the_round_started_in(tmp_path: Path, make_settings) -> None:
    db = await Database.open(tmp_path / "lang.db")
    clock, transport = FakeClock(), RecordingTransport()
    eng = Engine(make_settings(locale=None), db, transport=transport, clock=clock, rng=random.Random(3))
    try:
        korean = Origin("discord:1", "c", "alice", "Alice", locale="ko")
        await eng.handle(Command(korean, "draw"))
        clock.advance(eng.settings.draw_seconds + 1)
        await eng.tick()
        (result,) = [r for _, _, r in transport.sent if isinstance(r, RoundResult)]
        assert "시간" in result.text
    finally:
        await db.close()


async def test_resumed_drawing_round_whispers_the_word_again(tmp_path: Path, make_settings) -> None:
    path = tmp_path / "resume.db"
    clock = FakeClock()
    db = await Database.open(path)
    first = Engine(make_settings(db_path=path), db, transport=RecordingTransport(), clock=clock, tick_interval=3600)
    await first.handle(command("draw"))
    word = first.rounds[("s1", "c1")].word
    await db.close()
    assert word is not None

    db = await Database.open(path)
    transport = RecordingTransport()
    second = Engine(make_settings(db_path=path), db, transport=transport, clock=clock, tick_interval=3600)
    try:
        await second.start()
        whispers = [r for _, _, r in transport.sent if isinstance(r, Whisper)]
        assert len(whispers) == 1 and whispers[0].user == "alice" and word.en in whispers[0].text
        public = [r for _, _, r in transport.sent if not isinstance(r, Whisper)]
        assert public and all(word.en not in r.text for r in public)
    finally:
        await second.stop()
        await db.close()


async def test_stats_card_and_board_rows_are_structured(engine: Engine) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    (card,) = await engine.handle(command("stats", user="bob"))
    assert isinstance(card, StatsCard) and card.user == "bob" and not card.is_ai
    assert dict(card.fields)["Wins"] == "1"
    (board,) = await engine.handle(command("leaderboard", user="bob"))
    assert board.title in board.text and board.you_text in board.text and board.caller is not None
    assert board.rows[0].user == "bob" and board.caller.user == "bob"


def test_every_reply_survives_the_round_trip_through_a_record() -> None:
    import json

    from bot.replies import (
        Ack,
        AdminNotice,
        BoardRow,
        Leaderboard,
        Picture,
        ResultLine,
        Thinking,
        from_record,
        to_record,
    )

    replies = [
        Say("hi"),
        Whisper("u", "secret", round_id=3),
        Ack("u", "ok"),
        Quiet("u", "why"),
        AdminNotice("admins"),
        Picture(b"\x89PNG\x00", "a.png", "caption"),
        Thinking("drawing"),
        RoundStarted("go", "drawing", 4, ("secret", "hint", "skip")),
        Leaderboard(
            "b", "both", "all", (BoardRow(1, "u", "U", 9, is_ai=True),), BoardRow(1, "u", "U", 9), "t", "y", "e"
        ),
        RoundResult(
            "r", "dialect", 5, "ans", (ResultLine("U", "a", 51.5, 8), ResultLine("AI", "b", None, 0, True)), "T"
        ),
        StatsCard("s", "u", "U", False, (("Wins", "1"), ("Points", "3"))),
    ]
    for reply in replies:
        assert from_record(json.loads(json.dumps(to_record(reply)))) == reply
