"""Copy a SQLite database into an empty PostgreSQL database, then prove nothing was lost.

Every table is copied as it is (ids included, so rounds, points and drawings
keep pointing at each other), the identity counters are moved past the copied
ids, and the copy is verified: the same number of rows in every table and the
same point total per space in the ledger and in the board totals.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.base import DEFAULT_ZONE
from storage.db import Database
from storage.postgres import PostgresDatabase, redact

# Parents before children (foreign keys); the board tables last.
TABLES = (
    "players",
    "rounds",
    "participants",
    "dialect_answers",
    "ledger",
    "drawings",
    "settings",
    "usage",
    "custom_words",
    "custom_dialect",
    "seen_events",
    "outbox",
    "timers",
    "processes",
    "board_zones",
    "board_periods",
    "board_totals",
)
_BATCH = 2000


class CopyRefused(Exception):
    """The copy cannot start or did not verify (one sentence for the user)."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)


def _convert(kind: str) -> Any:
    if kind in ("bigint", "integer", "smallint"):
        return lambda v: None if v is None else int(v)
    if kind == "double precision":
        return lambda v: None if v is None else float(v)
    if kind == "bytea":
        return lambda v: None if v is None else bytes(v)
    return lambda v: None if v is None else str(v)


def _read_batches(path: Path, table: str, columns: list[str]) -> list[list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = conn.execute(f"SELECT {', '.join(columns)} FROM {table}")
        batches = []
        while rows := cur.fetchmany(_BATCH):
            batches.append(rows)
        return batches
    finally:
        conn.close()


async def copy_sqlite_to_postgres(source: Path, url: str, *, default_zone: str = DEFAULT_ZONE) -> CopyReport:
    # Bring the source to the newest schema first (and its totals up to date) so both sides match.
    sqlite_db = await Database.open(source, default_zone=default_zone)
    try:
        source_counts = {t: int((await sqlite_db._fetchone(f"SELECT count(*) FROM {t}"))[0]) for t in TABLES}
        source_points = await _points_per_space(sqlite_db)
        columns = {t: [r[1] for r in await sqlite_db._fetchall(f"PRAGMA table_info({t})")] for t in TABLES}
    finally:
        await sqlite_db.close()

    await _refuse_foreign_tables(url)
    target = await PostgresDatabase.open(url, pool_size=2, default_zone=default_zone)
    try:
        async with target.connection() as conn:
            for table in TABLES:
                if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
                    raise CopyRefused(
                        f"{redact(url)} already holds data (table {table}); migrate-to needs an empty database"
                    )
            async with conn.transaction():
                for table in TABLES:
                    kinds = dict(
                        await conn.fetch(
                            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1",
                            table,
                        )
                    )
                    missing = [c for c in columns[table] if c not in kinds]
                    if missing:
                        raise CopyRefused(f"PostgreSQL's table {table} has no column {missing[0]}")
                    converters = [_convert(kinds[c]) for c in columns[table]]
                    for batch in await asyncio.to_thread(_read_batches, source, table, columns[table]):
                        records = [tuple(f(v) for f, v in zip(converters, row, strict=True)) for row in batch]
                        await conn.copy_records_to_table(table, records=records, columns=columns[table])
                    if kinds.get("id") == "bigint":  # identity columns: new rows continue after the copied ids
                        await conn.execute(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
                        )
        await target._after_bulk_change()
        report = CopyReport()
        for table in TABLES:
            copied = int((await target._fetchone(f"SELECT count(*) FROM {table}"))[0])
            if copied != source_counts[table]:
                raise CopyRefused(f"table {table}: {source_counts[table]} rows in SQLite but {copied} in PostgreSQL")
            report.rows[table] = copied
        target_points = await _points_per_space(target)
        if target_points != source_points:
            raise CopyRefused("the point totals per space differ after the copy; nothing should use the target")
        if await target.check_totals():  # totals are derived: the ledger decides
            await target.rebuild_totals()
        report.points = {space: ledger for space, (ledger, _board) in target_points.items()}
        return report
    finally:
        await target.close()


async def _refuse_foreign_tables(url: str) -> None:
    """A database holding anything but catchbot's (empty) tables is not ours to write into."""
    import asyncpg

    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncpg.PostgresError) as exc:
        raise CopyRefused(f"cannot connect to {redact(url)}: {exc}") from None
    try:
        names = {
            r[0]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        }
    finally:
        await conn.close()
    foreign = sorted(names - set(TABLES) - {"catchbot_schema"})
    if foreign:
        raise CopyRefused(f"{redact(url)} already holds other tables ({foreign[0]}); migrate-to needs an empty one")


async def _points_per_space(db: Any) -> dict[str, tuple[int, int]]:
    """(ledger sum, all-time board total) per space."""
    ledger = {r[0]: int(r[1]) for r in await db._fetchall("SELECT space, sum(points) FROM ledger GROUP BY space")}
    board = {
        r[0]: int(r[1])
        for r in await db._fetchall(
            "SELECT space, sum(points) FROM board_totals WHERE game = '*' AND kind = 'all' GROUP BY space"
        )
    }
    return {space: (ledger.get(space, 0), board.get(space, 0)) for space in ledger.keys() | board.keys()}
