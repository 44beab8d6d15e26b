"""Dialect rounds through the engine: answers, scores, points, results."""

from __future__ import annotations

from bot.dialect.scoring import points_for, score_answer
from bot.engine import Engine
from bot.replies import Ack, RoundResult, RoundStarted
from storage import Database
from tests.helpers import FakeClock, RecordingTransport, chat, command


async def test_dialect_round_scores_every_last_answer(
    engine: Engine, db: Database, clock: FakeClock, transport: RecordingTransport
) -> None:
    started = await engine.handle(command("dialect", "jeju"))
    active = engine.rounds[("s1", "c1")]
    item = active.item
    assert item is not None and item.region == "jeju"
    assert isinstance(started[0], RoundStarted) and item.dialect in started[0].text and "Jeju" in started[0].text
    reference = item.references[0]
    first = await engine.handle(chat("모르겠어요", user="bob"))
    assert isinstance(first[0], Ack) and first[0].user == "bob"
    await engine.handle(chat(reference, user="bob"))  # bob's last answer counts
    await engine.handle(chat(item.dialect, user="carol"))  # copying the dialect earns nothing
    await engine.handle(chat(reference.replace(" ", ""), user="dave"))  # no spaces: still exact
    clock.advance(61)
    await engine.tick()
    result = transport.sent[-1][2]
    assert isinstance(result, RoundResult) and result.game == "dialect"
    scores = {line.name: line.score for line in result.lines}
    assert scores == {"Bob": 100.0, "Dave": 100.0, "Carol": 0.0}
    assert reference in result.text and item.dialect in result.text
    async with db._conn.execute("SELECT user_id, points, reason FROM ledger ORDER BY id") as cur:
        rows = [tuple(r) for r in await cur.fetchall()]
    best = 10 + engine.settings.dialect_best_bonus
    assert ("bob", best, "dialect") in rows and ("dave", 10, "dialect") in rows
    assert all(r[0] != "carol" for r in rows)  # zero points make no ledger row


async def test_partial_answers_earn_partial_points(engine: Engine, db: Database, clock: FakeClock) -> None:
    await engine.handle(command("dialect", "gyeongsang"))
    item = engine.rounds[("s1", "c1")].item
    assert item is not None
    half = item.references[0][: max(1, len(item.references[0]) // 2)]
    await engine.handle(chat(half, user="bob"))
    clock.advance(61)
    await engine.tick()
    expected = score_answer(half, item.dialect, item.references)
    async with db._conn.execute("SELECT score FROM dialect_answers") as cur:
        assert (await cur.fetchone())[0] == expected
    async with db._conn.execute("SELECT points FROM ledger WHERE user_id = 'bob'") as cur:
        row = await cur.fetchone()
    if expected > 0:
        assert row[0] == points_for(expected) + engine.settings.dialect_best_bonus


async def test_bad_region_is_one_sentence(engine: Engine) -> None:
    replies = await engine.handle(command("dialect", "seoul"))
    assert len(replies) == 1 and "not a region" in replies[0].text
    assert ("s1", "c1") not in engine.rounds


async def test_korean_region_names_and_locale(engine: Engine, db: Database) -> None:
    await db.set_setting("s1", "locale", "ko")
    replies = await engine.handle(command("사투리", "전라도"))
    assert "전라" in replies[0].text and "표준어" in replies[0].text
    assert engine.rounds[("s1", "c1")].item.region == "jeolla"  # type: ignore[union-attr]


async def test_nobody_answers_closes_without_points(
    engine: Engine, clock: FakeClock, transport: RecordingTransport
) -> None:
    await engine.handle(command("dialect"))
    clock.advance(61)
    await engine.tick()
    assert "Nobody answered" in transport.texts()[-1]
    board = (await engine.handle(command("leaderboard", "dialect", "all")))[0]
    assert board.rows == ()  # type: ignore[union-attr]


async def test_a_restart_with_an_open_dialect_round_goes_on(make_settings, tmp_path, clock: FakeClock) -> None:
    """The bot stops while a dialect round is open; the next start resumes it instead of crashing."""
    from storage import Database

    db = await Database.open(tmp_path / "catchbot.db")
    first = Engine(make_settings(), db, transport=RecordingTransport(), clock=clock, tick_interval=3600)
    await first.start()
    await first.handle(command("dialect", "jeju"))
    item = first.rounds[("s1", "c1")].item
    assert item is not None
    await first.handle(chat(item.references[0], user="bob"))
    await db.close()  # the process dies: no stop(), the round stays open in the file

    clock.advance(20)
    db2 = await Database.open(tmp_path / "catchbot.db")
    transport = RecordingTransport()
    second = Engine(make_settings(), db2, transport=transport, clock=clock, tick_interval=3600)
    await second.start()
    resumed = transport.texts()
    assert any("goes on" in t and "40" in t and item.dialect in t for t in resumed)
    await second.handle(chat(item.references[0], user="carol"))
    clock.advance(41)
    await second.tick()
    result = transport.results()[-1]
    assert {line.name for line in result.lines} == {"Bob", "Carol"}  # the answer from before the stop counts
    await second.stop()
    await db2.close()
