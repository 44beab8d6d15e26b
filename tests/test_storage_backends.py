"""One storage suite over both backends: SQLite always, PostgreSQL on a real server (tests/pg.py).

Guarantees: append-only ledger, points in the closing transaction, one open round
per channel, event ids remembered, board totals equal to the ledger's sums (after
random play, a time-zone change and a SIGKILL), the outbox, process heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.periods import month, parse_period, week
from storage import Award, RoundAlreadyOpen, SqlStorage, open_database
from tests.storage_player import play_round

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Asia/Seoul"


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("pg_server").create_database()


@pytest.fixture
async def store(target: str) -> AsyncIterator[SqlStorage]:
    db = await open_database(target, default_zone=ZONE)
    yield db
    await db.close()


async def new_round(db: SqlStorage, channel: str = "c1", space: str = "s", game: str = "drawing") -> int:
    return await db.open_round(
        space=space,
        channel=channel,
        game=game,
        starter="alice",
        secret="apple",
        locale="en",
        payload={"hints": 0},
        started_at=100.0,
        ends_at=280.0,
    )


async def ledger_board(db: SqlStorage, space: str, game: str | None, start: float | None, end: float | None):
    """The plain GROUP BY over the ledger, computed here independently of the totals."""
    rows = await db._fetchall("SELECT id, user_id, game, points, created_at FROM ledger WHERE space = ?", (space,))
    totals: dict[str, int] = defaultdict(int)
    first: dict[str, int] = {}
    for ledger_id, user, row_game, points, at in rows:
        if (game is None or row_game == game) and (start is None or at >= start) and (end is None or at < end):
            totals[user] += int(points)
            first[user] = min(first.get(user, ledger_id), ledger_id)
    ranked = sorted((u for u in totals if totals[u]), key=lambda u: (-totals[u], first[u]))
    return [(u, totals[u], i + 1) for i, u in enumerate(ranked)]


async def assert_boards_match_ledger(db: SqlStorage, spaces: list[str], zone: str, at: float) -> None:
    tz = ZoneInfo(zone)
    for space in spaces:
        for game in (None, "drawing", "dialect"):
            for period in ("week", "month", "all"):
                p = parse_period(period, at, tz)
                expected = await ledger_board(db, space, game, p.start, p.end)
                board = await db.leaderboard(space, game, p.start, p.end, limit=10)
                assert [(e.user, e.points, e.rank) for e in board] == expected[:10], (space, game, period)
                for user, points, rank in expected[:3] + expected[-2:]:
                    mine = await db.rank_of(space, game, p.start, p.end, user)
                    assert mine is not None and (mine.points, mine.rank) == (points, rank)
                assert await db.rank_of(space, game, p.start, p.end, "nobody") is None


async def test_a_fresh_database_is_at_the_newest_schema(store: SqlStorage) -> None:
    if store.backend == "sqlite":
        from storage.db import _migrations
    else:
        from storage.postgres import _migrations
    assert await store.schema_version() == _migrations()[-1][0]


async def test_the_ledger_is_append_only(store: SqlStorage) -> None:
    round_id = await new_round(store)
    assert await store.close_round(round_id, status="won", closed_at=200.0, winner="bob", awards=[Award("bob", 9, "g")])
    attacks = [
        "UPDATE ledger SET points = 100",
        "DELETE FROM ledger",
        "INSERT INTO ledger (id, space, user_id, round_id, game, points, reason, created_at) "
        "SELECT id, space, 'eve', round_id, game, 1000, reason, created_at FROM ledger WHERE true "
        "ON CONFLICT (id) DO UPDATE SET points = 1000, user_id = 'eve'",
        "INSERT OR REPLACE INTO ledger SELECT * FROM ledger" if store.backend == "sqlite" else "TRUNCATE ledger",
    ]
    for sql in attacks:
        with pytest.raises(Exception, match="append-only"):
            await store._execute(sql)
    assert [tuple(r) for r in await store._fetchall("SELECT user_id, points FROM ledger")] == [("bob", 9)]


async def test_a_round_closes_once_and_scores_once_even_when_closers_race(store: SqlStorage) -> None:
    round_id = await new_round(store)
    results = await asyncio.gather(
        *(
            store.close_round(round_id, status="won", closed_at=200.0, winner=u, awards=[Award(u, 9, "guess")])
            for u in ("bob", "eve", "mallory", "trent", "carol")
        )
    )
    assert sorted(results) == [False, False, False, False, True]
    rows = await store._fetchall("SELECT user_id FROM ledger")
    winner = (await store.get_round(round_id)).winner  # type: ignore[union-attr]
    assert [r[0] for r in rows] == [winner]
    assert [(e.user, e.points) for e in await store.leaderboard("s", None, None, None)] == [(winner, 9)]


async def test_a_failed_close_writes_nothing(store: SqlStorage) -> None:
    round_id = await new_round(store)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        async with store._tx() as tx:
            await tx.execute("UPDATE rounds SET status = 'won' WHERE id = ?", (round_id,))
            await tx.execute(
                "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
                "VALUES ('s', 'bob', 9999, 'drawing', 9, 'guess', 1)"
            )
    assert (await store.get_round(round_id)).status == "open"  # type: ignore[union-attr]
    assert await store._fetchall("SELECT * FROM ledger") == []


async def test_one_open_round_per_channel(store: SqlStorage) -> None:
    first = await new_round(store)
    with pytest.raises(RoundAlreadyOpen):
        await new_round(store)
    await new_round(store, channel="c2")
    await store.close_round(first, status="timeout", closed_at=300.0)
    await new_round(store)  # the channel is free again
    assert len(await store.open_rounds()) == 2


async def test_the_spaces_it_knows_with_names_and_rounds(store: SqlStorage) -> None:
    await new_round(store, space="discord:1")
    await new_round(store, channel="c2", space="discord:1")
    await store.set_setting("discord:1", "space_name", "Our server")
    await store.upsert_player("slack:T1", "U1", "Ann")
    await store.set_setting("*", "model.dialect", "m")  # every space's setting is no space
    spaces = await store.spaces()
    assert [(s.id, s.name, s.rounds, s.last_played, s.platform) for s in spaces] == [
        ("discord:1", "Our server", 2, 100.0, "discord"),
        ("slack:T1", None, 0, None, "slack"),
    ]


async def test_event_ids_are_seen_once(store: SqlStorage) -> None:
    assert await store.first_sighting("Ev1", 1000.0)
    assert not await store.first_sighting("Ev1", 1001.0)
    assert await store.first_sighting("Ev2", 1000.0 + 2 * 86400)
    assert await store.first_sighting("Ev1", 1000.0 + 2 * 86400)  # forgotten after a day


async def test_a_resend_is_taken_over_from_a_claimer_that_died_before_it_was_done(store: SqlStorage) -> None:
    await store.heartbeat("alive", host="h", pid=1, started_at=0.0, at=100.0)
    await store.heartbeat("dead", host="h", pid=2, started_at=0.0, at=10.0)
    assert await store.first_sighting("Ev1", 100.0, process="dead", silent_since=85.0)
    # The claimer is silent and never marked it done: the resend goes to a live process, once.
    taken = [await store.first_sighting("Ev1", 101.0, process=p, silent_since=86.0) for p in ("alive", "alive")]
    assert taken == [True, False]
    await store.event_done("Ev1")
    assert not await store.first_sighting("Ev1", 102.0, process="other", silent_since=200.0)
    # A live claimer's event, or one that is done, is never handled twice.
    assert await store.first_sighting("Ev2", 100.0, process="alive", silent_since=85.0)
    assert not await store.first_sighting("Ev2", 101.0, process="third", silent_since=86.0)
    assert await store.first_sighting("Ev3", 100.0, process="dead", silent_since=85.0)
    await store.event_done("Ev3")
    assert not await store.first_sighting("Ev3", 101.0, process="alive", silent_since=86.0)


async def test_everyday_calls_round_trip(store: SqlStorage) -> None:
    await store.upsert_player("s", "u1", "Alice")
    await store.upsert_player("s", "u1", "Alice B")
    assert await store.find_player("s", "alice b") == ("u1", "Alice B")
    round_id = await new_round(store, game="dialect")
    await store.update_round(round_id, payload={"hints": 1}, ends_at=400.0)
    await store.save_dialect_answer(round_id, "u1", "안녕하세요", 87.5, 150.0)
    await store.save_dialect_answer(round_id, "u1", "안녕하십니까", 91.0, 160.0)
    assert await store.dialect_answers(round_id) == [("u1", "Alice B", "안녕하십니까", 91.0)]
    await store.upsert_player("s", "u2", "Bob")
    await store.save_dialect_answer(round_id, "u2", "반갑습니다", 40.0, 170.0)
    # The meaning judge lifts a score: the answer and its time stay, the order follows the new score.
    await store.rescore_dialect_answers(round_id, {"u2": 95.0})
    assert await store.dialect_answers(round_id) == [
        ("u2", "Bob", "반갑습니다", 95.0),
        ("u1", "Alice B", "안녕하십니까", 91.0),
    ]
    drawing_round = await new_round(store, channel="c2")
    drawing = await store.add_drawing(
        round_id=drawing_round, space="s", user="alice", upload_no=1, image=b"\x89PNG\x00", mime="image/png",
        width=4, height=4, word_id="apple", label_en="apple", label_ko="사과", at=120.0,
    )  # fmt: skip
    await store.set_drawing_ai(drawing, guess="apple", model="m", correct=True)
    await store.set_setting("s", "collect_drawings", "on")
    await store.close_round(drawing_round, status="won", closed_at=200.0, winner="u1", awards=[Award("u1", 7, "g")])
    [record] = [d async for d in store.iter_drawings("s")]
    assert (record.image, record.ai_correct, record.outcome) == (b"\x89PNG\x00", True, "won")
    assert (await store.get_round(round_id)).payload == {"hints": 1}  # type: ignore[union-attr]
    assert await store.settings_for("s") == {"collect_drawings": "on"}
    await store.put_custom_entries("custom_words", "s", [("w1", {"en": "kite"})])
    assert await store.custom_entries("custom_words", "s") == [{"en": "kite"}]
    assert await store.delete_custom_entry("custom_words", "s", "w1")
    stats = await store.stats("s", "u1")
    assert (stats.points, stats.wins, stats.name) == (7, 1, "Alice B")
    assert await store.points_since("s", "u1", "g", 0) == 7


async def test_totals_equal_the_ledger_after_random_play(store: SqlStorage) -> None:
    rng = random.Random(11)
    for n in range(120):
        await play_round(store, rng, n)
    assert await store.check_totals() == []
    for at in (1_767_225_600.0 + 40 * 86400, 1_767_225_600.0 + 200 * 86400):
        await assert_boards_match_ledger(store, ["s1", "s2", "s3"], ZONE, at)


async def test_a_time_zone_change_recuts_the_boards_of_that_space(store: SqlStorage) -> None:
    rng = random.Random(5)
    for n in range(80):
        await play_round(store, rng, n)
    await store.set_setting("s1", "timezone", "America/Los_Angeles")
    assert await store.check_totals() == []
    at = 1_767_225_600.0 + 100 * 86400
    await assert_boards_match_ledger(store, ["s1"], "America/Los_Angeles", at)
    await assert_boards_match_ledger(store, ["s2"], ZONE, at)
    # A board cut in a zone the space does not use is still right (summed from the ledger).
    p = week(2026, 15, ZoneInfo("Europe/Paris"))
    expected = await ledger_board(store, "s1", None, p.start, p.end)
    assert [(e.user, e.points) for e in await store.leaderboard("s1", None, p.start, p.end)] == [
        (u, pts) for u, pts, _ in expected[:10]
    ]


async def test_boards_read_the_totals_and_a_rebuild_restores_them(store: SqlStorage) -> None:
    rng = random.Random(3)
    for n in range(60):
        await play_round(store, rng, n)
    m = month(2026, 5, ZoneInfo(ZONE))
    truth = await store.leaderboard("s1", None, m.start, m.end)
    await store._execute("UPDATE board_totals SET points = points + 1000 WHERE space = 's1'")
    assert (await store.leaderboard("s1", None, m.start, m.end))[0].points >= 1000  # the fast path is used
    assert await store.check_totals("s1") != []
    assert await store.rebuild_totals() == 3
    assert await store.check_totals() == []
    assert await store.leaderboard("s1", None, m.start, m.end) == truth


async def test_the_outbox_keeps_results_until_announced_once(store: SqlStorage) -> None:
    first, second = await new_round(store), await new_round(store, channel="c2")
    replies = [{"kind": "text", "key": "draw.won", "params": {"user": "bob"}}]
    assert await store.close_round(
        first, status="won", closed_at=200.0, awards=[Award("bob", 9, "g")], announcement=replies
    )
    assert not await store.close_round(first, status="won", closed_at=201.0, announcement=[{"again": True}])
    assert await store.close_round(second, status="timeout", closed_at=210.0, announcement=[{"kind": "timeout"}])
    pending = await store.pending_announcements()
    assert [(a.round_id, a.channel, a.payload) for a in pending] == [
        (first, "c1", replies),
        (second, "c2", [{"kind": "timeout"}]),
    ]
    results = await asyncio.gather(*(store.mark_announced(pending[0].id) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert [a.round_id for a in await store.pending_announcements()] == [second]


async def test_processes_report_and_hold_rounds(store: SqlStorage) -> None:
    round_id = await new_round(store)
    await store.heartbeat("host-a:1", host="host-a", pid=1, started_at=10.0, at=100.0)
    await store.heartbeat("host-b:2", host="host-b", pid=2, started_at=10.0, at=50.0)
    await store.heartbeat("host-a:1", host="host-a", pid=1, started_at=10.0, at=120.0)
    assert await store.hold_round(round_id, "host-a:1")
    seen = await store.processes_seen(since=90.0)
    assert [(p.id, p.seen_at, p.rounds_held) for p in seen] == [("host-a:1", 120.0, 1)]
    await store.close_round(round_id, status="timeout", closed_at=130.0)
    assert not await store.hold_round(round_id, "host-b:2")
    assert (await store.processes_seen(since=0))[0].rounds_held == 0


async def test_totals_equal_the_ledger_after_a_sigkill(target: str) -> None:
    player = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.storage_player", target, "7", cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert player.stdout is not None
        assert await asyncio.wait_for(player.stdout.readline(), 60) == b"ready\n"
        await asyncio.sleep(0.4 + random.random() * 0.4)
        player.send_signal(signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            player.kill()
        await player.wait()
    db = await open_database(target, default_zone=ZONE)
    try:
        closed = (await db._fetchone("SELECT count(*) FROM rounds WHERE status != 'open'"))[0]
        assert closed >= 20
        assert await db.check_totals() == []
        assert (await db._fetchone("SELECT count(*) FROM outbox"))[0] == closed  # one result per closed round
        await assert_boards_match_ledger(db, ["s1", "s2"], ZONE, 1_767_225_600.0 + 300 * 86400)
    finally:
        await db.close()


async def test_two_processes_starting_at_once_migrate_once(pg_server) -> None:  # type: ignore[no-untyped-def]
    url = pg_server.create_database()
    dbs = await asyncio.gather(*(open_database(url) for _ in range(3)))
    try:
        rows = await dbs[0]._fetchall("SELECT version FROM catchbot_schema ORDER BY version")
        from storage.postgres import _migrations

        assert [r[0] for r in rows] == [m[0] for m in _migrations()]
        assert {await d.schema_version() for d in dbs} == {_migrations()[-1][0]}
    finally:
        for d in dbs:
            await d.close()


async def test_the_pool_is_sized_by_the_setting(pg_server, make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(database_url=pg_server.create_database(), db_pool_size=3)
    db = await open_database(settings)
    try:
        assert db.backend == "postgresql" and db._pool.get_max_size() == 3  # type: ignore[attr-defined]
    finally:
        await db.close()


async def test_a_new_default_zone_recuts_the_spaces_that_follow_it_at_the_next_start(target: str) -> None:
    db = await open_database(target, default_zone=ZONE)
    rng = random.Random(9)
    for n in range(40):
        await play_round(db, rng, n)
    await db.set_setting("s2", "timezone", "Asia/Tokyo")
    await db.close()
    db = await open_database(target, default_zone="Europe/Paris")
    try:
        zones = dict(await db._fetchall("SELECT space, zone FROM board_zones ORDER BY space"))
        assert zones == {"s1": "Europe/Paris", "s2": "Asia/Tokyo", "s3": "Europe/Paris"}
        assert await db.check_totals() == []
        at = 1_767_225_600.0 + 150 * 86400
        await assert_boards_match_ledger(db, ["s1"], "Europe/Paris", at)
        await assert_boards_match_ledger(db, ["s2"], "Asia/Tokyo", at)
    finally:
        await db.close()


async def test_each_due_timer_is_claimed_by_one_process_and_fires_once(target: str) -> None:
    """Three database handles stand for three processes; a dead holder's lease runs out to the others."""
    handles = [await open_database(target, default_zone=ZONE) for _ in range(3)]
    first = handles[0]
    try:
        rounds = [await new_round(first, channel=f"c{n}") for n in range(30)]
        for n, round_id in enumerate(rounds):
            await first.schedule_timer(round_id, "timeout", 1000.0 + n)
            await first.schedule_timer(round_id, "hint1", 5000.0)  # not due yet
        claims = await asyncio.gather(*(h.claim_due_timers(f"p{i}", 2000.0, limit=12) for i, h in enumerate(handles)))
        claimed = [t.id for batch in claims for t in batch]
        assert len(claimed) == len(set(claimed)) == 30  # everything due, nothing twice
        assert {t.kind for batch in claims for t in batch} == {"timeout"}
        assert await first.claim_due_timers("p9", 2001.0) == []  # all held
        # p0 dies holding its timers: after the lease the others take them, and p0 can no longer finish them.
        dead = claims[0]
        for i, h in enumerate(handles[1:], start=1):
            for t in claims[i]:
                assert await h.finish_timer(t.id, f"p{i}", 2002.0)
        retaken = await handles[1].claim_due_timers("p1", 2000.0 + 11)
        assert sorted(t.id for t in retaken) == sorted(t.id for t in dead)
        assert not await first.finish_timer(dead[0].id, "p0", 2012.0)
        assert await handles[1].finish_timer(dead[0].id, "p1", 2012.0)
        assert not await handles[1].finish_timer(dead[0].id, "p1", 2013.0)  # once
        for t in retaken:
            await handles[1].finish_timer(t.id, "p1", 2014.0)
        # Moving a timer that has not fired makes it claimable again at its new time.
        await first.schedule_timer(rounds[0], "hint1", 100.0)
        assert [t.kind for t in await handles[2].claim_due_timers("p2", 3000.0)] == ["hint1"]
    finally:
        for h in handles:
            await h.close()


async def test_rounds_of_a_silent_process_are_taken_over(store: SqlStorage) -> None:
    mine, theirs, free = await new_round(store, "c1"), await new_round(store, "c2"), await new_round(store, "c3")
    await store.heartbeat("alive", host="h", pid=1, started_at=0, at=100.0)
    await store.heartbeat("dead", host="h", pid=2, started_at=0, at=40.0)
    await store.hold_round(mine, "alive")
    await store.hold_round(theirs, "dead")
    assert await store.take_over_rounds("alive", silent_since=90.0) == [theirs]
    assert await store.take_over_rounds("alive", silent_since=90.0) == []
    seen = {p.id: p.rounds_held for p in await store.processes_seen(0)}
    assert seen == {"alive": 2, "dead": 0}
    assert (await store.get_round(free)).status == "open"  # type: ignore[union-attr]


async def test_a_settings_change_reaches_other_processes(pg_server) -> None:  # type: ignore[no-untyped-def]
    url = pg_server.create_database()
    writer, reader = await open_database(url), await open_database(url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await reader.listen_settings(heard.put_nowait)
    try:
        await writer.set_setting("guild-1", "locale", "en")
        assert await asyncio.wait_for(heard.get(), 1.0) == "guild-1"
        await writer.put_custom_entries("custom_words", "guild-2", [("w", {"en": "kite"})])
        assert await asyncio.wait_for(heard.get(), 1.0) == "guild-2"
        with pytest.raises(RuntimeError):  # a change rolled back is never announced
            async with writer._tx() as tx:
                await writer._space_changed(tx, "guild-3")
                raise RuntimeError
        await writer.set_setting("guild-4", "locale", "ko")
        assert await asyncio.wait_for(heard.get(), 1.0) == "guild-4"
        # The listening connection dies (a server restart or failover does this to every connection).
        assert await listener.keep_alive()
        pid = listener.conn.get_server_pid()  # type: ignore[union-attr]
        await writer._fetchone("SELECT pg_terminate_backend(?)", (pid,))
        for _ in range(50):
            if listener.conn.is_closed():  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        await writer.set_setting("guild-5", "locale", "en")  # made while nobody listened
        assert await listener.keep_alive()  # what the engine's tick calls: connected again
        assert await asyncio.wait_for(heard.get(), 1.0) == "*"  # missed changes: forget every space
        await writer.set_setting("guild-6", "locale", "ko")
        assert await asyncio.wait_for(heard.get(), 1.0) == "guild-6"
    finally:
        await listener.close()
        await writer.close()
        await reader.close()


async def test_totals_stay_right_when_a_zone_changes_while_other_processes_close_rounds(target: str) -> None:
    handles = [await open_database(target, default_zone=ZONE) for _ in range(3)]
    try:
        rng = random.Random(21)
        for n in range(10):
            await play_round(handles[0], rng, n)
        rounds = [await new_round(handles[0], channel=f"z{n}", space="s1") for n in range(60)]

        async def close(db: SqlStorage, round_id: int, n: int) -> None:
            at = 1_767_225_600.0 + rng.random() * 365 * 86400
            await db.close_round(round_id, status="won", closed_at=at, awards=[Award(f"p{n % 7}", 3, "guess")])

        async def change_zones() -> None:
            for zone in ("America/Los_Angeles", "Asia/Kolkata", "Europe/Paris", "Pacific/Auckland"):
                await handles[2].set_setting("s1", "timezone", zone)
                await asyncio.sleep(0)

        await asyncio.gather(change_zones(), *(close(handles[n % 2], round_id, n) for n, round_id in enumerate(rounds)))
        assert await handles[0].check_totals() == []
        await assert_boards_match_ledger(handles[1], ["s1"], "Pacific/Auckland", 1_767_225_600.0 + 200 * 86400)
    finally:
        for h in handles:
            await h.close()
