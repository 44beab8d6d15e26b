"""PostgreSQL storage on asyncpg: several catchbot processes on one database.

The queries are :mod:`storage.base`'s, with ``?`` rewritten to ``$n``; what
differs lives here and in ``storage/pg_migrations/``: a connection pool sized
by ``CATCHBOT_DB_POOL_SIZE``, plpgsql triggers that keep the ledger
append-only, and migrations applied under ``pg_advisory_lock`` so two processes
starting at once migrate once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.base import DEFAULT_ZONE, SqlStorage
from storage.types import StorageError

# Any constant works as long as every catchbot uses the same one ("catchbot" in ASCII).
MIGRATION_LOCK = 0x6361746368626F74
_STATUS_COUNT = re.compile(r"(\d+)$")


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("storage").joinpath("pg_migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


@lru_cache(maxsize=512)
def to_dollar(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (the shared SQL never has ``?`` in a literal)."""
    count = 0

    def number(_match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


def redact(url: str) -> str:
    """The URL without its password, for logs and status lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class _PgTx:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        status = await self.conn.execute(to_dollar(sql), *params)
        found = _STATUS_COUNT.search(status or "")
        return int(found.group(1)) if found else 0

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.conn.executemany(to_dollar(sql), rows)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self.conn.fetchrow(to_dollar(sql), *params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self.conn.fetch(to_dollar(sql), *params))


log = logging.getLogger("catchbot.storage")
SETTINGS_CHANNEL = "catchbot_settings"


EVERY_SPACE = "*"  # what the callback hears when changes may have been missed (or the global settings changed)


class _Listener:
    """The LISTEN connection for settings changes; :meth:`keep_alive` opens it again after it was lost."""

    def __init__(self, url: str, callback: Any) -> None:
        self.url, self.callback = url, callback
        self.conn: asyncpg.Connection | None = None

    def _handler(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.callback(payload)

    async def open(self) -> None:
        conn = await asyncpg.connect(self.url)
        await conn.add_listener(SETTINGS_CHANNEL, self._handler)
        self.conn = conn

    async def keep_alive(self) -> bool:
        """Reconnect when the connection is gone (a server restart, a failover); True when it is up.

        Changes made while it was down were not heard, so every cached space is forgotten.
        """
        if self.conn is not None and not self.conn.is_closed():
            return True
        try:
            await self.open()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("settings listener still down: %s", type(exc).__name__)
            return False
        log.info("settings listener connected again")
        self.callback(EVERY_SPACE)
        return True

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.remove_listener(SETTINGS_CHANNEL, self._handler)
            await self.conn.close()


class PostgresDatabase(SqlStorage):
    backend = "postgresql"
    _integrity_errors = (asyncpg.UniqueViolationError,)
    _skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, url: str, default_zone: str = DEFAULT_ZONE) -> None:
        self._pool = pool
        self.url = url
        self.default_zone = default_zone

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10, default_zone: str | None = None) -> PostgresDatabase:
        """Connect and migrate; ``default_zone`` as in :meth:`storage.Database.open`."""
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=max(1, pool_size), command_timeout=60)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StorageError(f"cannot connect to the database {redact(url)}: {exc}") from None
        db = cls(pool, url, default_zone or DEFAULT_ZONE)
        try:
            await db.migrate()
            if default_zone is not None:
                await db.rezone_stale_spaces()
        except asyncpg.PostgresError as exc:
            await pool.close()
            raise StorageError(f"cannot use the database {redact(url)}: {exc}") from None
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self._pool.close()

    def describe(self) -> str:
        return redact(self.url)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A raw pooled connection (tools and tests)."""
        async with self._pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[_PgTx]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PgTx(conn)

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._pool.fetch(to_dollar(sql), *params))

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return await self._pool.fetchrow(to_dollar(sql), *params)

    async def _closing_zone(self, tx: Any, space: str, seen: str | None) -> str:
        # FOR SHARE: a time-zone change in another process (UPDATE board_zones, then re-cut) waits for this
        # close to commit, and this close waits for a re-cut under way, so no total is cut in a stale zone.
        row = await tx.fetchone("SELECT zone FROM board_zones WHERE space = ? FOR SHARE", (space,))
        return str(row[0]) if row is not None else await self._board_zone(tx, space)

    async def _space_changed(self, tx: Any, space: str) -> None:
        await tx.execute("SELECT pg_notify(?, ?)", (SETTINGS_CHANNEL, space))

    async def listen_settings(self, callback: Any) -> _Listener:
        """``callback(space)`` for every committed change of a space's settings or words, from any process."""
        listener = _Listener(self.url, callback)
        await listener.open()
        return listener

    async def _after_bulk_change(self) -> None:
        await self._pool.execute("ANALYZE")

    # --- schema ---------------------------------------------------------
    async def schema_version(self) -> int:
        exists = await self._pool.fetchval("SELECT to_regclass('catchbot_schema') IS NOT NULL")
        if not exists:
            return 0
        return int(await self._pool.fetchval("SELECT coalesce(max(version), 0) FROM catchbot_schema"))

    async def migrate(self) -> int:
        """Apply missing migrations, one process at a time (the others wait on the advisory lock)."""
        migrations = _migrations()
        newest = migrations[-1][0] if migrations else 0
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS catchbot_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM catchbot_schema"))
                if current > newest:
                    raise StorageError(
                        f"the database {redact(self.url)} has schema version {current}, newer than this "
                        f"catchbot knows ({newest}); upgrade catchbot"
                    )
                for version, name, sql in migrations:
                    if version <= current:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO catchbot_schema (version, name) VALUES ($1, $2)", version, name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        return await self.schema_version()
