"""The SQLite layer: migrations, the append-only ledger, atomic round closing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import Award, Database, RoundAlreadyOpen, StorageError
from storage.db import _migrations, _split_sql


async def open_round(db: Database, channel: str = "c1") -> int:
    return await db.open_round(
        space="s",
        channel=channel,
        game="drawing",
        starter="alice",
        secret="apple",
        locale="en",
        payload={},
        started_at=100.0,
        ends_at=280.0,
    )


async def test_fresh_database_is_at_the_newest_version_in_wal_mode(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "a.db")
    assert await db.schema_version() == _migrations()[-1][0]
    assert (await db._fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await db._fetchone("PRAGMA foreign_keys"))[0] == 1
    await db.close()


async def test_an_old_database_is_migrated_and_keeps_its_points(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first = _migrations()[0]
    conn = sqlite3.connect(path)
    for statement in _split_sql(first[2]):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {first[0]}")
    conn.execute(
        "INSERT INTO rounds (space, channel, game, status, starter, secret, locale, started_at, ends_at) "
        "VALUES ('s', 'c', 'drawing', 'won', 'a', 'apple', 'en', 1, 2)"
    )
    conn.execute(
        "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
        "VALUES ('s', 'bob', 1, 'drawing', 7, 'guess', 1)"
    )
    conn.commit()
    conn.close()
    db = await Database.open(path)
    assert await db.schema_version() == _migrations()[-1][0]
    board = await db.leaderboard("s", None, None, None)
    assert [(e.user, e.points) for e in board] == [("bob", 7)]
    indexes = {r[0] for r in await db._fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ledger_by_period" in indexes and "ledger_board" not in indexes
    await db.close()


async def test_a_database_from_a_newer_catchbot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StorageError, match="newer"):
        await Database.open(path)


async def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="cannot use the database"):
        await Database.open(path)


async def test_the_ledger_is_append_only(db: Database) -> None:
    round_id = await open_round(db)
    assert await db.close_round(
        round_id, status="won", closed_at=200.0, winner="bob", awards=[Award("bob", 9, "guess")]
    )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("UPDATE ledger SET points = 100")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM ledger")
    assert [(e.user, e.points) for e in await db.leaderboard("s", None, None, None)] == [("bob", 9)]


async def test_a_round_closes_once_and_scores_once(db: Database) -> None:
    round_id = await open_round(db)
    first = await db.close_round(
        round_id,
        status="won",
        closed_at=200.0,
        winner="bob",
        awards=[Award("bob", 9, "guess"), Award("alice", 5, "drawer")],
    )
    second = await db.close_round(
        round_id, status="won", closed_at=201.0, winner="eve", awards=[Award("eve", 9, "guess")]
    )
    assert (first, second) == (True, False)
    rows = await db._fetchall("SELECT user_id FROM ledger ORDER BY id")
    assert [r[0] for r in rows] == ["bob", "alice"]
    assert (await db.get_round(round_id)).winner == "bob"  # type: ignore[union-attr]


async def test_a_failed_close_leaves_the_round_open_and_unscored(db: Database) -> None:
    round_id = await open_round(db)
    with pytest.raises(sqlite3.IntegrityError):
        # A points row for a round that does not exist breaks the foreign key: all or nothing.
        async with db.transaction() as conn:
            await conn.execute("UPDATE rounds SET status = 'won' WHERE id = ?", (round_id,))
            await conn.execute(
                "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
                "VALUES ('s', 'bob', 9999, 'drawing', 9, 'guess', 1)"
            )
    assert (await db.get_round(round_id)).status == "open"  # type: ignore[union-attr]
    assert await db._fetchall("SELECT * FROM ledger") == []


async def test_one_open_round_per_channel(db: Database) -> None:
    await open_round(db)
    with pytest.raises(RoundAlreadyOpen):
        await open_round(db)
    await open_round(db, channel="c2")


async def test_event_ids_are_seen_once(db: Database) -> None:
    assert await db.first_sighting("Ev1", 1000.0)
    assert not await db.first_sighting("Ev1", 1001.0)
    assert await db.first_sighting("Ev2", 1000.0 + 2 * 86400)
    assert await db.first_sighting("Ev1", 1000.0 + 2 * 86400)  # forgotten after a day


async def test_insert_or_replace_cannot_overwrite_a_ledger_row(db: Database) -> None:
    round_id = await open_round(db)
    assert await db.close_round(
        round_id, status="won", closed_at=200.0, winner="bob", awards=[Award("bob", 9, "guess")]
    )
    for verb in ("INSERT OR REPLACE", "REPLACE"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with db.transaction() as conn:
                await conn.execute(
                    f"{verb} INTO ledger (id, space, user_id, round_id, game, points, reason, created_at) "
                    f"SELECT id, space, 'eve', round_id, game, 1000, reason, created_at FROM ledger"
                )
    rows = await db._fetchall("SELECT user_id, points FROM ledger")
    assert [(r[0], r[1]) for r in rows] == [("bob", 9)]


async def test_a_transaction_run_whole_in_the_database_thread_commits_or_rolls_back_as_one(db: Database) -> None:
    async def writes(value: str) -> int:
        async with db._tx() as tx:
            return await tx.execute("INSERT INTO settings (space, key, value) VALUES ('s', 'k', ?)", (value,))

    assert await db._whole(writes, "first") == 1
    assert await db.get_setting("s", "k") == "first"

    async def awaits_elsewhere() -> None:
        async with db._tx() as tx:
            await tx.execute("UPDATE settings SET value = 'second' WHERE space = 's'")
            await asyncio.sleep(0)  # not the database: it cannot run whole in the database thread

    with pytest.raises(RuntimeError):
        await db._whole(awaits_elsewhere)
    assert await db.get_setting("s", "k") == "first"  # rolled back, and the connection still works
    await db.set_setting("s", "k", "third")
    assert await db.get_setting("s", "k") == "third"
