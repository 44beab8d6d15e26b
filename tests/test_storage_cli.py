"""``catchbot db ...`` from a shell: migrate-to on a database made by real console play, status, rebuild-totals."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from storage import open_database
from tests.test_console_e2e import ConsoleProcess, drawing_file

ROOT = Path(__file__).resolve().parent.parent


async def catchbot(*args: str, **env: str) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CATCHBOT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**environment, **env}, cwd=ROOT,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def play(db: Path) -> dict[str, int]:
    """A drawing round won by bob and a dialect round with two answers, played in a real console process."""
    bot = await ConsoleProcess.start(db, CATCHBOT_DIALECT_SECONDS="3")
    await bot.send("/draw")
    secret = (await bot.expect(r"\[private to alice\] .*: (.+) \((.+)\)\.")).group(1)
    await bot.send(f"/upload {drawing_file(db.parent)}")
    await bot.expect(r"Drawing 1/4 received")
    await bot.send("/as bob")
    await bot.send(secret)
    await bot.expect(r"bob got it")
    await bot.send("/dialect jeju")
    sentence = (await bot.expect(r"Jeju dialect: «(.+)»")).group(1)
    bank = json.loads((ROOT / "bot" / "data" / "dialect_sentences.json").read_text(encoding="utf-8"))
    reference = next(i["references"][0] for i in bank["items"] if i["dialect"] == sentence)
    for player, answer in (("carol", reference), ("dave", "안녕하세요")):
        await bot.send(f"/as {player}")
        await bot.send(answer)
    await bot.send("/wait 4")
    await bot.expect(r"Time's up! Results")
    await bot.send("/as alice")
    await bot.send("/config collect on")
    board = await bot.board(3)
    assert board["carol"] > 0
    assert await bot.quit() == 0
    return board


@pytest.mark.timeout(180)
async def test_migrate_to_copies_a_played_database_and_the_bot_runs_on_it(tmp_path: Path, pg_server) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "game.db"
    board = await play(db)
    assert board["bob"] > 0 and board["alice"] > 0
    url = pg_server.create_database()

    code, out, err = await catchbot("--db", str(db), "db", "migrate-to", url)
    assert code == 0, err
    assert "ledger: " in out and "same on both sides" in out

    source = await open_database(db)
    target = await open_database(url)
    try:
        for table in ("players", "rounds", "ledger", "drawings", "settings", "participants", "dialect_answers"):
            query = f"SELECT count(*) FROM {table}"
            assert (await source._fetchone(query))[0] == (await target._fetchone(query))[0] > 0, table
        for game in (None, "drawing", "dialect"):
            assert await target.leaderboard("console", game, None, None) == await source.leaderboard(
                "console", game, None, None
            )
        assert await target.check_totals() == []
        [mine, theirs] = [[d async for d in x.iter_drawings()] for x in (source, target)]
        assert [d.image for d in theirs] == [d.image for d in mine] and len(mine) == 1
    finally:
        await source.close()
        await target.close()

    # A second copy into the now non-empty database is refused, and nothing changes.
    code, _out, err = await catchbot("--db", str(db), "db", "migrate-to", url)
    assert code == 2 and "already holds data" in err

    code, out, err = await catchbot("db", "status", CATCHBOT_DATABASE_URL=url)
    assert code == 0, err
    from storage.postgres import _migrations as pg_migrations

    assert "PostgreSQL" in out and f"schema version: {pg_migrations()[-1][0]}" in out and "ledger: " in out

    # The bot itself plays on PostgreSQL: the same board, and a new round's points land there.
    bot = await ConsoleProcess.start(db, CATCHBOT_DATABASE_URL=url)
    assert await bot.board(len(board)) == board
    await bot.send("/draw")
    secret = (await bot.expect(r"\[private to alice\] .*: (.+) \((.+)\)\.")).group(1)
    await bot.send(f"/upload {drawing_file(tmp_path)}")
    await bot.expect(r"Drawing 1/4 received")
    await bot.send("/as erin")
    await bot.send(secret)
    await bot.expect(r"erin got it")
    assert "erin" in await bot.board(len(board) + 1)
    assert await bot.quit() == 0


async def test_migrate_to_refuses_a_database_with_other_tables(tmp_path: Path, pg_server) -> None:  # type: ignore[no-untyped-def]
    db = await open_database(tmp_path / "small.db")
    await db.close()
    url = pg_server.create_database()
    import asyncpg

    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE invoices (id int)")
    await conn.close()
    code, _out, err = await catchbot("--db", str(tmp_path / "small.db"), "db", "migrate-to", url)
    assert code == 2 and "other tables (invoices)" in err
    code, _out, err = await catchbot("--db", str(tmp_path / "small.db"), "db", "migrate-to", "mysql://x")
    assert code == 2 and "postgresql://" in err


async def test_rebuild_totals_and_status_on_sqlite(tmp_path: Path) -> None:
    db_path = tmp_path / "game.db"
    db = await open_database(db_path)
    round_id = await db.open_round(
        space="s", channel="c", game="drawing", starter="a", secret="x", locale="en", payload={},
        started_at=1.7e9, ends_at=1.7e9 + 60,
    )  # fmt: skip
    from storage import Award

    await db.close_round(round_id, status="won", closed_at=1.7e9 + 5, awards=[Award("b", 7, "guess")])
    await db._execute("DELETE FROM board_totals")
    await db.heartbeat("host:1", host="host", pid=1, started_at=0, at=__import__("time").time())
    await db.close()
    code, out, err = await catchbot("--db", str(db_path), "db", "rebuild-totals", "--check")
    assert code == 0, err
    assert "rebuilt the board totals of 1 spaces" in out and "every total equals" in out
    db = await open_database(db_path)
    assert [(e.user, e.points) for e in await db.leaderboard("s", None, None, None)] == [("b", 7)]
    await db.close()
    code, out, err = await catchbot("--db", str(db_path), "db", "status")
    assert code == 0, err
    from storage.db import _migrations

    assert "SQLite" in out and f"schema version: {_migrations()[-1][0]}" in out and "host:1 on host (pid 1)" in out


async def test_a_database_that_cannot_be_reached_is_one_clear_line(tmp_path: Path) -> None:
    url = "postgresql://catchbot:hunter2@127.0.0.1:9/catchbot"  # nothing listens on port 9 (discard)
    code, out, err = await catchbot("db", "status", CATCHBOT_DATABASE_URL=url)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "cannot connect to the database" in lines[0]
    assert "hunter2" not in err + out  # the password never shows
    code, _out, err = await catchbot("db", "status", CATCHBOT_DATABASE_URL=str(tmp_path / "x.db"))
    assert code == 2 and "must start with postgresql://" in err
