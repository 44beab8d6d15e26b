"""SQLite storage on aiosqlite: the embedded default backend.

One connection per process, in WAL mode with foreign keys on. Every write that
must be atomic runs inside :meth:`Database.transaction` (``BEGIN IMMEDIATE``),
serialised by an asyncio lock because all coroutines share the connection.
Closing a round and writing its points happen in one transaction, guarded by
``status = 'open'``, so a crash never leaves a round both open and scored and
two closers can never both score it. The queries themselves live in
:mod:`storage.base`, shared with PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from storage.base import DEFAULT_ZONE, SqlStorage
from storage.types import (  # noqa: F401  (re-exported for older imports)
    Announcement,
    Award,
    BoardEntry,
    DrawingRecord,
    PlayerStats,
    ProcessInfo,
    RoundAlreadyOpen,
    RoundRow,
    StorageError,
    UsageSummary,
)

SCHEMA_VERSION_PRAGMA = "user_version"
TOTALS_MIGRATION = 4  # the migration that adds board_totals: totals of older ledgers are built after it
# Every this many closed rounds, PRAGMA optimize refreshes the statistics that have drifted.
OPTIMIZE_EVERY = 20_000


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("storage").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class _SqliteTx:
    """Each call is one trip to aiosqlite's thread (``execute_fetchall``), not three (execute, fetch, close)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self.conn.execute(sql, params)
        return cur.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self.conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, params))


class _InlineTx:
    """The same calls straight on the sqlite3 connection, for a transaction run whole in the database thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()


class _AwaitedOutside(RuntimeError):
    """A transaction meant to run whole in the database thread awaited something else."""


class Database(SqlStorage):
    """The SQLite backend (``storage.Database.open(path)`` or ``storage.open_database(settings)``)."""

    backend = "sqlite"
    _integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, conn: aiosqlite.Connection, path: Path, default_zone: str = DEFAULT_ZONE) -> None:
        self._conn = conn
        self.path = path
        self.default_zone = default_zone
        self._write = asyncio.Lock()
        self._closes = 0
        # The sqlite3 connection while _whole() runs a transaction in the database thread (that thread only).
        self._thread = threading.local()

    # --- lifecycle ------------------------------------------------------
    @classmethod
    async def open(cls, path: str | Path, *, default_zone: str | None = None) -> Database:
        """Open (and migrate) the file. ``default_zone`` is CATCHBOT_TIMEZONE: pass it where rounds are
        played, so spaces without their own zone have their boards re-cut when it changed; tools that
        only read may leave it out (nothing is re-cut then)."""
        path = Path(path)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder for the database {path}: {exc.strerror}") from None
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None, timeout=10)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the database {path}: {exc}") from None
        db = cls(conn, path, default_zone or DEFAULT_ZONE)
        try:
            await db._prepare(recut=default_zone is not None)
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(f"cannot use the database {path}: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        try:
            # Cheap when nothing changed; keeps the planner's statistics fresh for the next start.
            await self._conn.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass
        await self._conn.close()

    def describe(self) -> str:
        return str(self.path)

    async def _prepare(self, recut: bool = True) -> None:
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        await self._conn.execute("PRAGMA busy_timeout = 10000")
        await self.migrate()
        if recut:
            await self.rezone_stale_spaces()
        await self._analyze_if_never_done()

    async def schema_version(self) -> int:
        async with self._conn.execute(f"PRAGMA {SCHEMA_VERSION_PRAGMA}") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the file's version, each in its own transaction."""
        migrations = _migrations()
        newest = migrations[-1][0] if migrations else 0
        current = await self.schema_version()
        if current > newest:
            raise StorageError(
                f"the database {self.path} has schema version {current}, newer than this catchbot "
                f"knows ({newest}); upgrade catchbot"
            )
        for version, _name, sql in migrations:
            if version <= current:
                continue
            async with self.transaction() as conn:
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA {SCHEMA_VERSION_PRAGMA} = {version}")
        if current and current < TOTALS_MIGRATION <= newest:
            await self.rebuild_totals()
        return await self.schema_version()

    async def _analyze_if_never_done(self) -> None:
        """ANALYZE once when the ledger has rows but the planner has never seen statistics."""
        if await self._fetchone("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"):
            return
        if await self._fetchone("SELECT 1 FROM ledger LIMIT 1"):
            await self._after_bulk_change()

    async def _after_bulk_change(self) -> None:
        await self._conn.execute("ANALYZE")

    async def open_round(self, **kwargs: Any) -> int:
        return await self._whole(super().open_round, **kwargs)  # type: ignore[no-any-return]

    async def close_round(self, round_id: int, **kwargs: Any) -> bool:
        closed = await self._whole(super().close_round, round_id, **kwargs)
        if closed:
            self._closes += 1
            if self._closes % OPTIMIZE_EVERY == 0:
                # A long-lived connection re-plans with fresh statistics now and then (cheap when unneeded).
                await self._conn.execute("PRAGMA optimize")
        return closed

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The raw connection inside ``BEGIN IMMEDIATE`` (tests and tools; the API uses ``_tx``)."""
        async with self._write:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[_SqliteTx | _InlineTx]:
        raw: sqlite3.Connection | None = getattr(self._thread, "inline", None)
        if raw is None:
            async with self.transaction() as conn:
                yield _SqliteTx(conn)
            return
        # Inside _whole(): this is the database thread, and the write lock is held by the caller.
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield _InlineTx(raw)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        else:
            raw.execute("COMMIT")

    async def _whole(self, method: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        """Run one of the shared storage methods as a single trip to aiosqlite's thread.

        Each statement of a transaction is otherwise a trip of its own (about 0.1 ms each, a dozen for
        closing a round); here the method's coroutine is driven to its end inside the database thread,
        its transaction talking to the sqlite3 connection directly. The method must await nothing but
        its transaction's calls. Where aiosqlite does not offer the means, the method runs as usual.
        """
        run_in_thread = getattr(self._conn, "_execute", None)
        if run_in_thread is None:
            return await method(*args, **kwargs)

        def whole() -> Any:
            self._thread.inline = self._conn._conn
            coro = method(*args, **kwargs)
            try:
                coro.send(None)
            except StopIteration as done:
                return done.value
            finally:
                self._thread.inline = None
            coro.close()  # rolls its transaction back
            raise _AwaitedOutside(getattr(method, "__name__", "a storage method"))

        async with self._write:
            return await run_in_thread(whole)

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement: its own transaction in autocommit mode, so one trip to the database thread,
        under the write lock so that it never lands inside another coroutine's open transaction."""
        async with self._write:
            cur = await self._conn.execute(sql, params)
            return cur.rowcount

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._conn.execute_fetchall(sql, params)
        return rows[0] if rows else None

    async def _write_one(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(sql, params)
            return cur.lastrowid or 0


def _split_sql(sql: str) -> list[str]:
    """Statements of a migration file; trigger bodies keep their inner semicolons."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if stripped.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    if "\n".join(buffer).strip():
        statements.append("\n".join(buffer))
    return statements
