"""Drawing rounds through the engine, with a real SQLite file and real Pillow images."""

from __future__ import annotations

import asyncio
import io
import random

import pytest
from PIL import Image

from bot.engine import Engine
from bot.replies import Leaderboard, Quiet, RoundResult, RoundStarted, Say, Whisper
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command, upload


def png(size: tuple[int, int] = (300, 200)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    for x in range(20, 120):
        image.putpixel((x, 50), (0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def ledger(db: Database) -> list[tuple[str, int, str]]:
    async with db._conn.execute("SELECT user_id, points, reason FROM ledger ORDER BY id") as cur:
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def test_start_whispers_the_secret_and_blocks_a_second_round(engine: Engine) -> None:
    replies = await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    public = [r for r in replies if isinstance(r, Say | RoundStarted)]
    secret = [r for r in replies if isinstance(r, Whisper)]
    assert len(secret) == 1 and secret[0].user == "alice"
    assert word.en in secret[0].text and word.ko in secret[0].text
    assert all(word.en not in r.text for r in public)
    assert "Alice" in public[0].text and "180" in public[0].text
    again = await engine.handle(command("draw", user="carol"))
    assert len(again) == 1 and "already running" in again[0].text and "Alice" in again[0].text


async def test_human_wins_with_speed_points_and_drawer_bonus(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    assert await engine.handle(chat("definitely not it", user="bob")) == []
    clock.advance(90)  # half the time gone: 3 + 7 * 0.5 = 6.5 -> 6 or 7
    assert await engine.handle(chat(word.ko, user="carol")) == []  # the result goes out once committed
    (result,) = transport.results()
    assert word.ko in result.text
    rows = await ledger(db)
    assert rows[0][0] == "carol" and rows[0][2] == "guess" and rows[0][1] in (6, 7)
    assert rows[1] == ("alice", 5, "drawer")
    assert ("s1", "c1") not in engine.rounds
    # Late guesses after the end score nothing.
    assert await engine.handle(chat(word.en, user="bob")) == []
    assert len(await ledger(db)) == 2


async def test_fast_guess_earns_the_maximum(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    assert (await ledger(db))[0] == ("bob", 10, "guess")


async def test_drawer_cannot_guess_and_flooding_is_limited_but_never_a_fast_typist(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    # The drawer's chat scores nothing; chat platforms drop the Quiet reason.
    drawer = await engine.handle(chat(word.en, user="alice"))
    assert [type(r) for r in drawer] == [Quiet] and "drawing" in drawer[0].text
    # Brute force: eight guesses in ten seconds are fine, the ninth is ignored and the player told once.
    for n in range(8):
        assert await engine.handle(chat(f"wrong {n}", user="bob")) == []
        clock.advance(0.1)
    told = await engine.handle(chat(word.en, user="bob"))
    assert [type(r) for r in told] == [Whisper] and "Too many guesses" in told[0].text
    again = await engine.handle(chat(word.en, user="bob"))
    assert [type(r) for r in again] == [Quiet]  # told already: chat platforms stay quiet now
    assert await ledger(db) == []
    clock.advance(10)  # the window has room again
    # A fast typist: a typo and the right word a tenth of a second apart; the right word wins.
    assert await engine.handle(chat("forrest gump", user="carol")) == []
    clock.advance(0.1)
    await engine.handle(chat(word.en, user="carol"))
    (result,) = transport.results()
    assert "Carol" in result.text


async def test_concurrent_correct_guesses_make_exactly_one_winner(
    engine: Engine, db: Database, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await asyncio.gather(*(engine.handle(chat(word.en, user=f"p{i}")) for i in range(20)))
    assert len(transport.results()) == 1
    rows = await ledger(db)
    assert [r[2] for r in rows] == ["guess", "drawer"]


async def test_two_engines_on_one_database_never_score_a_round_twice(
    make_settings, db: Database, tmp_path, clock: FakeClock
) -> None:
    announced = RecordingTransport()
    first = Engine(make_settings(), db, transport=announced, clock=clock, tick_interval=3600)
    await first.start()
    await first.handle(command("draw"))
    word = first.rounds[("s1", "c1")].word
    assert word is not None
    other_db = await Database.open(tmp_path / "catchbot.db")
    second = Engine(make_settings(), other_db, transport=announced, clock=clock, tick_interval=3600)
    await second.start()  # resumes the same open round
    assert ("s1", "c1") in second.rounds
    await asyncio.gather(first.handle(chat(word.en, user="bob")), second.handle(chat(word.en, user="eve")))
    assert len(announced.results()) == 1
    assert len([r for r in await ledger(db) if r[2] == "guess"]) == 1
    await second.stop()
    await other_db.close()
    await first.stop()


async def test_hint_at_half_time_then_timeout_reveals_and_scores_nobody(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    clock.advance(60)
    await engine.tick()
    assert transport.sent == []
    clock.advance(31)
    await engine.tick()
    assert len(transport.sent) == 1 and "Hint" in transport.texts()[0]
    assert word.en[0] in transport.texts()[0] and word.en not in transport.texts()[0].replace(" ", "")
    clock.advance(90)
    await engine.tick()
    result = transport.sent[-1][2]
    assert isinstance(result, RoundResult) and "Time's up" in result.text and word.en in result.text
    assert await ledger(db) == []
    assert ("s1", "c1") not in engine.rounds


async def test_skip_only_by_starter_or_admin(engine: Engine, db: Database, transport: RecordingTransport) -> None:
    await engine.handle(command("draw"))
    refused = await engine.handle(command("skip", user="bob"))
    assert "Only Alice" in refused[0].text and ("s1", "c1") in engine.rounds
    assert await engine.handle(command("skip", user="bob", admin=True)) == []
    (done,) = transport.results()
    assert "skipped" in done.text
    assert await ledger(db) == []


async def test_uploads_are_stored_re_encoded_and_limited(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    original = png()
    other = await engine.handle(upload(original, user="bob"))
    assert isinstance(other[0], Whisper) and other[0].user == "bob"
    for number in range(1, 5):
        replies = await engine.handle(upload(original))
        assert f"{number}/4" in replies[0].text
    refused = await engine.handle(upload(original))
    assert "No redraws left" in refused[0].text
    async with db._conn.execute("SELECT image, mime, width, label_en FROM drawings ORDER BY id") as cur:
        rows = await cur.fetchall()
    assert len(rows) == 4
    stored = bytes(rows[0][0])
    assert stored != original
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "RGB"
        assert image.getpixel((5, 5)) == (255, 255, 255)  # transparency flattened onto white
    word = engine.rounds[("s1", "c1")].word
    assert word is not None and rows[0][3] == word.en


async def test_broken_upload_gets_one_sentence_and_nothing_is_stored(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw"))
    replies = await engine.handle(upload(b"\x89PNG\r\n\x1a\nnot really", filename="x.png"))
    assert len(replies) == 1 and isinstance(replies[0], Say)
    assert "\n" not in replies[0].text and "Traceback" not in replies[0].text
    async with db._conn.execute("SELECT count(*) FROM drawings") as cur:
        assert (await cur.fetchone())[0] == 0
    assert engine.rounds[("s1", "c1")].payload["uploads"] == 0


async def test_no_model_means_humans_only_once(engine: Engine) -> None:
    replies = await engine.handle(command("draw"))
    assert sum("humans only" in r.text for r in replies if isinstance(r, Say)) == 1


async def test_rounds_in_two_channels_run_side_by_side(engine: Engine, db: Database) -> None:
    await engine.handle(command("draw", channel="c1"))
    await engine.handle(command("draw", user="bob", channel="c2"))
    w1, w2 = engine.rounds[("s1", "c1")].word, engine.rounds[("s1", "c2")].word
    assert w1 is not None and w2 is not None
    await engine.handle(chat(w2.en, user="carol", channel="c2"))
    assert ("s1", "c1") in engine.rounds and ("s1", "c2") not in engine.rounds


async def test_restart_resumes_or_expires_open_rounds(make_settings, tmp_path, clock: FakeClock) -> None:
    db = await Database.open(tmp_path / "catchbot.db")
    first = Engine(
        make_settings(),
        db,
        transport=RecordingTransport(),
        clock=clock,
        rng=random.Random(1),
        tick_interval=3600,
    )
    await first.start()
    await first.handle(command("draw", channel="c1"))
    await first.handle(command("dialect", channel="c2"))
    word = first.rounds[("s1", "c1")].word
    drawing_id = first.rounds[("s1", "c1")].id
    assert word is not None
    # The process dies: no stop(), the rounds stay open in the file.
    await db.close()

    clock.advance(100)  # the drawing round has 80 s left, the dialect round is over
    db2 = await Database.open(tmp_path / "catchbot.db")
    transport = RecordingTransport()
    second = Engine(make_settings(), db2, transport=transport, clock=clock, tick_interval=3600)
    await second.start()
    texts = transport.texts()
    assert any("goes on" in t and "80" in t for t in texts)
    assert any("while I was away" in t for t in texts)
    assert ("s1", "c1") in second.rounds and ("s1", "c2") not in second.rounds
    await second.handle(chat(word.en, user="bob", channel="c1"))
    won = transport.results()[-1]
    assert won.round_id == drawing_id and "got it" in won.text
    assert [r[2] for r in await ledger(db2)] == ["guess", "drawer"]
    await second.stop()
    await db2.close()


async def test_leaderboard_and_stats_after_play(engine: Engine, clock: FakeClock) -> None:
    for winner in ("bob", "bob", "carol"):
        await engine.handle(command("draw"))
        word = engine.rounds[("s1", "c1")].word
        assert word is not None
        await engine.handle(chat(word.en, user=winner))
        clock.advance(5)
    board = (await engine.handle(command("leaderboard", "drawing", "week", user="carol")))[0]
    assert isinstance(board, Leaderboard)
    assert [(r.name, r.points) for r in board.rows] == [("Bob", 20), ("Alice", 15), ("Carol", 10)]
    assert board.caller is not None and board.caller.rank == 3
    stats = (await engine.handle(command("stats", "bob")))[0]
    assert "Bob: 2 rounds played, 2 wins, 20 points" in stats.text
    alice = (await engine.handle(command("stats")))[0]
    assert "3 rounds played, 0 wins, 15 points" in alice.text


async def test_past_weeks_stay_queryable(engine: Engine, clock: FakeClock) -> None:
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    clock.advance(14 * 86400)
    current = (await engine.handle(command("leaderboard")))[0]
    assert isinstance(current, Leaderboard) and current.rows == ()
    past = (await engine.handle(command("leaderboard", "2026-W47")))[0]
    assert isinstance(past, Leaderboard) and past.rows[0].name == "Bob"
    bad = (await engine.handle(command("leaderboard", "2026-W99")))[0]
    assert "not a period" in bad.text


@pytest.mark.parametrize("args", [("9999-W52",), ("9999-12",), ("dialect", "0001-W01"), ("0001-01",), ("1969-12",)])
async def test_periods_at_the_calendars_edges_get_a_sentence(engine: Engine, args: tuple[str, ...]) -> None:
    reply = (await engine.handle(command("leaderboard", *args)))[0]
    assert "not a period" in reply.text


async def test_retried_events_are_ignored(engine: Engine) -> None:
    from bot.events import Command

    event = Command(command("draw").origin, "draw", (), event_id="Ev123")
    first = await engine.handle(event)
    assert first
    assert await engine.handle(event) == []


async def test_hostile_names_and_guesses_never_ping(engine: Engine, transport: RecordingTransport) -> None:
    from bot.events import ChatMessage, Command, Origin

    evil = Origin("s1", "c1", "u9", "@everyone <!channel>")
    replies = await engine.handle(Command(evil, "draw", ()))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    text = " ".join(r.text for r in replies)
    assert "@everyone" not in text and "<!channel>" not in text
    await engine.handle(ChatMessage(Origin("s1", "c1", "u8", "@here"), f"{word.en} @everyone"))
    (result,) = transport.results()
    assert "@everyone" not in result.text and "@here" not in result.text
    assert all("@everyone" not in line.answer and "@here" not in line.name for line in result.lines)


async def test_a_result_the_platform_refuses_stays_pending_for_the_next_sweep(
    make_settings, db: Database, clock
) -> None:
    """Even when a sweep claims it first (several processes), a failed delivery gives the claim back."""
    from bot.services import Undelivered

    class Down(RecordingTransport):
        up = False

        async def deliver(self, space, channel, replies) -> None:
            if not self.up and any(isinstance(r, RoundResult) for r in replies):
                raise Undelivered("503")
            await super().deliver(space, channel, replies)

    transport = Down()
    engine = Engine(make_settings(), db, transport=transport, clock=clock, tick_interval=3600)
    await engine.start()
    await engine.handle(command("draw"))
    word = engine.rounds[("s1", "c1")].word
    assert word is not None
    await engine.handle(chat(word.en, user="bob"))
    assert transport.results() == [] and len(await db.pending_announcements()) == 1
    for claim_first in (True, False):
        assert await engine.services.announce_pending(before=clock() + 1, claim_first=claim_first) == 0
        assert len(await db.pending_announcements()) == 1
    transport.up = True
    assert await engine.services.announce_pending(before=clock() + 1, claim_first=True) == 1
    assert len(transport.results()) == 1 and await db.pending_announcements() == []
    await engine.stop()
