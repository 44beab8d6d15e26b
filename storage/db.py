"""SQLite storage on aiosqlite: schema migrations, rounds, the points ledger, drawings, usage.

One connection per process, in WAL mode with foreign keys on. Every write that
must be atomic runs inside :meth:`Database.transaction` (``BEGIN IMMEDIATE``),
serialised by an asyncio lock because all coroutines share the connection.
Closing a round and writing its points happen in one transaction, guarded by
``status = 'open'``, so a crash never leaves a round both open and scored and
two closers can never both score it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

SCHEMA_VERSION_PRAGMA = "user_version"


class StorageError(Exception):
    """The database cannot be used (unreadable, newer schema, locked)."""


class RoundAlreadyOpen(Exception):
    """The channel already has an open round (enforced by a unique index)."""


@dataclass(frozen=True, slots=True)
class RoundRow:
    id: int
    space: str
    channel: str
    game: str
    status: str
    starter: str
    secret: str
    locale: str
    payload: dict[str, Any]
    started_at: float
    ends_at: float
    closed_at: float | None
    winner: str | None


@dataclass(frozen=True, slots=True)
class Award:
    user: str
    points: int
    reason: str


@dataclass(frozen=True, slots=True)
class BoardEntry:
    user: str
    name: str
    points: int
    rank: int


@dataclass(frozen=True, slots=True)
class PlayerStats:
    user: str
    name: str
    rounds_played: int
    wins: int
    points: int
    best_dialect_score: float | None
    drawings_seen_by_ai: int
    drawings_recognised_by_ai: int


@dataclass(frozen=True, slots=True)
class UsageSummary:
    calls: int
    prompt_tokens: int
    completion_tokens: int
    image_tokens: int
    cost_usd: float
    estimated: bool


@dataclass(frozen=True, slots=True)
class DrawingRecord:
    id: int
    space: str
    round_id: int
    user: str
    image: bytes
    mime: str
    width: int
    height: int
    word_id: str
    label_en: str
    label_ko: str
    ai_guess: str | None
    ai_model: str | None
    ai_correct: bool | None
    outcome: str
    created_at: datetime


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("storage").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._write = asyncio.Lock()

    # --- lifecycle ------------------------------------------------------
    @classmethod
    async def open(cls, path: str | Path) -> Database:
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
        db = cls(conn, path)
        try:
            await db._prepare()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StorageError(f"cannot use the database {path}: {exc}") from None
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def _prepare(self) -> None:
        await self._conn.execute("PRAGMA journal_mode = WAL")
        await self._conn.execute("PRAGMA foreign_keys = ON")
        await self._conn.execute("PRAGMA synchronous = NORMAL")
        await self._conn.execute("PRAGMA busy_timeout = 10000")
        await self.migrate()

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
        return await self.schema_version()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._conn.execute(sql, params) as cur:
            return await cur.fetchone()

    async def _write_one(self, sql: str, params: Sequence[Any] = ()) -> int:
        async with self.transaction() as conn:
            cur = await conn.execute(sql, params)
            return cur.lastrowid or 0

    # --- players --------------------------------------------------------
    async def upsert_player(self, space: str, user: str, name: str, *, is_ai: bool = False) -> None:
        await self._write_one(
            "INSERT INTO players (space, user_id, display_name, is_ai) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (space, user_id) DO UPDATE SET display_name = excluded.display_name "
            "WHERE display_name != excluded.display_name",
            (space, user, name, int(is_ai)),
        )

    async def find_player(self, space: str, text: str) -> tuple[str, str] | None:
        """A player of the space by id or display name (case-insensitive)."""
        row = await self._fetchone(
            "SELECT user_id, display_name FROM players WHERE space = ? AND (user_id = ? OR "
            "lower(display_name) = lower(?)) ORDER BY user_id = ? DESC LIMIT 1",
            (space, text, text, text),
        )
        return (row[0], row[1]) if row else None

    # --- rounds ---------------------------------------------------------
    async def open_round(
        self,
        *,
        space: str,
        channel: str,
        game: str,
        starter: str,
        secret: str,
        locale: str,
        payload: dict[str, Any],
        started_at: float,
        ends_at: float,
    ) -> int:
        try:
            async with self.transaction() as conn:
                cur = await conn.execute(
                    "INSERT INTO rounds (space, channel, game, status, starter, secret, locale, payload, "
                    "started_at, ends_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?)",
                    (space, channel, game, starter, secret, locale, json.dumps(payload), started_at, ends_at),
                )
                round_id = cur.lastrowid or 0
                if game == "drawing":
                    await conn.execute(
                        "INSERT INTO participants (round_id, user_id, role) VALUES (?, ?, 'drawer')",
                        (round_id, starter),
                    )
                return round_id
        except sqlite3.IntegrityError as exc:
            raise RoundAlreadyOpen(channel) from exc

    async def update_round(self, round_id: int, *, payload: dict[str, Any], ends_at: float | None = None) -> None:
        if ends_at is None:
            await self._write_one(
                "UPDATE rounds SET payload = ? WHERE id = ? AND status = 'open'",
                (json.dumps(payload), round_id),
            )
        else:
            await self._write_one(
                "UPDATE rounds SET payload = ?, ends_at = ? WHERE id = ? AND status = 'open'",
                (json.dumps(payload), ends_at, round_id),
            )

    async def close_round(
        self,
        round_id: int,
        *,
        status: str,
        closed_at: float,
        winner: str | None = None,
        awards: Iterable[Award] = (),
    ) -> bool:
        """Close an open round and write its points atomically; False if it was not open."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "UPDATE rounds SET status = ?, closed_at = ?, winner = ? WHERE id = ? AND status = 'open'",
                (status, closed_at, winner, round_id),
            )
            if cur.rowcount != 1:
                return False
            row = await (await conn.execute("SELECT space, game FROM rounds WHERE id = ?", (round_id,))).fetchone()
            assert row is not None
            space, game = row[0], row[1]
            await conn.executemany(
                "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(space, a.user, round_id, game, a.points, a.reason, closed_at) for a in awards if a.points],
            )
        return True

    async def get_round(self, round_id: int) -> RoundRow | None:
        row = await self._fetchone("SELECT * FROM rounds WHERE id = ?", (round_id,))
        return _round(row) if row else None

    async def open_rounds(self) -> list[RoundRow]:
        return [_round(r) for r in await self._fetchall("SELECT * FROM rounds WHERE status = 'open' ORDER BY id")]

    async def add_participant(self, round_id: int, user: str, role: str) -> None:
        await self._write_one(
            "INSERT OR IGNORE INTO participants (round_id, user_id, role) VALUES (?, ?, ?)",
            (round_id, user, role),
        )

    async def save_dialect_answer(self, round_id: int, user: str, answer: str, score: float, at: float) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO dialect_answers (round_id, user_id, answer, score, answered_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (round_id, user_id) DO UPDATE SET answer = excluded.answer, score = excluded.score, "
                "answered_at = excluded.answered_at",
                (round_id, user, answer, score, at),
            )
            await conn.execute(
                "INSERT OR IGNORE INTO participants (round_id, user_id, role) VALUES (?, ?, 'answerer')",
                (round_id, user),
            )

    async def dialect_answers(self, round_id: int) -> list[tuple[str, str, str, float]]:
        """(user, display name, answer, score), best first."""
        rows = await self._fetchall(
            "SELECT a.user_id, coalesce(p.display_name, a.user_id), a.answer, a.score FROM dialect_answers a "
            "JOIN rounds r ON r.id = a.round_id "
            "LEFT JOIN players p ON p.space = r.space AND p.user_id = a.user_id "
            "WHERE a.round_id = ? ORDER BY a.score DESC, a.answered_at",
            (round_id,),
        )
        return [(r[0], r[1], r[2], float(r[3])) for r in rows]

    # --- drawings -------------------------------------------------------
    async def add_drawing(
        self,
        *,
        round_id: int,
        space: str,
        user: str,
        upload_no: int,
        image: bytes,
        mime: str,
        width: int,
        height: int,
        word_id: str,
        label_en: str,
        label_ko: str,
        at: float,
    ) -> int:
        return await self._write_one(
            "INSERT INTO drawings (round_id, space, user_id, upload_no, image, mime, width, height, word_id, "
            "label_en, label_ko, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (round_id, space, user, upload_no, image, mime, width, height, word_id, label_en, label_ko, at),
        )

    async def set_drawing_ai(self, drawing_id: int, *, guess: str, model: str, correct: bool) -> None:
        await self._write_one(
            "UPDATE drawings SET ai_guess = ?, ai_model = ?, ai_correct = ? WHERE id = ?",
            (guess, model, int(correct), drawing_id),
        )

    async def iter_drawings(
        self, space: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[DrawingRecord]:
        """Drawings of closed rounds from spaces where collecting is on, oldest first, one at a time."""
        sql = (
            "SELECT d.id, d.space, d.round_id, d.user_id, d.image, d.mime, d.width, d.height, d.word_id, "
            "d.label_en, d.label_ko, d.ai_guess, d.ai_model, d.ai_correct, r.status, d.created_at "
            "FROM drawings d JOIN rounds r ON r.id = d.round_id "
            "WHERE r.status != 'open' AND EXISTS (SELECT 1 FROM settings s WHERE s.space = d.space "
            "AND s.key = 'collect_drawings' AND s.value = 'on')"
        )
        params: list[Any] = []
        if space is not None:
            sql += " AND d.space = ?"
            params.append(space)
        if since is not None:
            sql += " AND d.created_at >= ?"
            params.append(since.timestamp())
        sql += " ORDER BY d.id"
        async with self._conn.execute(sql, params) as cur:
            async for r in cur:
                yield DrawingRecord(
                    id=r[0],
                    space=r[1],
                    round_id=r[2],
                    user=r[3],
                    image=bytes(r[4]),
                    mime=r[5],
                    width=r[6],
                    height=r[7],
                    word_id=r[8],
                    label_en=r[9],
                    label_ko=r[10],
                    ai_guess=r[11],
                    ai_model=r[12],
                    ai_correct=None if r[13] is None else bool(r[13]),
                    outcome=r[14],
                    created_at=datetime.fromtimestamp(r[15]).astimezone(),
                )

    # --- settings -------------------------------------------------------
    async def get_setting(self, space: str, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM settings WHERE space = ? AND key = ?", (space, key))
        return row[0] if row else None

    async def set_setting(self, space: str, key: str, value: str | None) -> None:
        if value is None:
            await self._write_one("DELETE FROM settings WHERE space = ? AND key = ?", (space, key))
        else:
            await self._write_one(
                "INSERT INTO settings (space, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (space, key) DO UPDATE SET value = excluded.value",
                (space, key, value),
            )

    async def settings_for(self, space: str) -> dict[str, str]:
        """The space's settings over the global ones (space ``*``)."""
        rows = await self._fetchall(
            "SELECT key, value FROM settings WHERE space IN ('*', ?) ORDER BY space = ?", (space, space)
        )
        return {r[0]: r[1] for r in rows}

    # --- usage ----------------------------------------------------------
    async def record_usage(
        self, space: str, game: str, answer: Any, purpose: str = "play", at: float | None = None
    ) -> None:
        """Record one model call (``answer`` is a :class:`bot.ai.players.ModelAnswer`)."""
        await self._write_one(
            "INSERT INTO usage (space, game, purpose, model, prompt_tokens, completion_tokens, image_tokens, "
            "cost_usd, estimated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                space,
                game,
                purpose,
                answer.model,
                answer.prompt_tokens,
                answer.completion_tokens,
                answer.image_tokens,
                answer.cost_usd,
                int(answer.cost_estimated),
                time.time() if at is None else at,
            ),
        )

    async def usage_summary(self, space: str, start: float, end: float) -> UsageSummary:
        row = await self._fetchone(
            "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
            "coalesce(sum(image_tokens), 0), coalesce(sum(cost_usd), 0), coalesce(max(estimated), 0) "
            "FROM usage WHERE space = ? AND created_at >= ? AND created_at < ?",
            (space, start, end),
        )
        return UsageSummary(int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4]), bool(row[5]))

    # --- points ---------------------------------------------------------
    async def leaderboard(
        self, space: str, game: str | None, start: float | None, end: float | None, limit: int = 10
    ) -> list[BoardEntry]:
        where, params = _board_filter(space, game, start, end)
        rows = await self._fetchall(
            "SELECT l.user_id, coalesce(p.display_name, l.user_id), sum(l.points) AS total "
            f"FROM ledger l LEFT JOIN players p ON p.space = l.space AND p.user_id = l.user_id WHERE {where} "
            "GROUP BY l.user_id HAVING total != 0 ORDER BY total DESC, min(l.id) LIMIT ?",
            (*params, limit),
        )
        return [BoardEntry(r[0], r[1], int(r[2]), i + 1) for i, r in enumerate(rows)]

    async def rank_of(
        self, space: str, game: str | None, start: float | None, end: float | None, user: str
    ) -> BoardEntry | None:
        where, params = _board_filter(space, game, start, end)
        rows = await self._fetchall(
            "WITH totals AS (SELECT l.user_id AS u, sum(l.points) AS total, min(l.id) AS first "
            f"FROM ledger l WHERE {where} GROUP BY l.user_id HAVING total != 0), "
            "ranked AS (SELECT u, total, row_number() OVER (ORDER BY total DESC, first) AS place FROM totals) "
            "SELECT r.place, r.total, "
            "coalesce((SELECT display_name FROM players p WHERE p.space = ? AND p.user_id = r.u), r.u) "
            "FROM ranked r WHERE r.u = ?",
            (*params, space, user),
        )
        if not rows:
            return None
        return BoardEntry(user, rows[0][2], int(rows[0][1]), int(rows[0][0]))

    async def points_since(self, space: str, user: str, reason: str, start: float) -> int:
        row = await self._fetchone(
            "SELECT coalesce(sum(points), 0) FROM ledger WHERE space = ? AND user_id = ? AND reason = ? "
            "AND created_at >= ?",
            (space, user, reason, start),
        )
        return int(row[0])

    async def stats(self, space: str, user: str) -> PlayerStats:
        name_row = await self._fetchone(
            "SELECT display_name FROM players WHERE space = ? AND user_id = ?", (space, user)
        )
        played = await self._fetchone(
            "SELECT count(*) FROM participants pa JOIN rounds r ON r.id = pa.round_id "
            "WHERE r.space = ? AND pa.user_id = ? AND r.status != 'open'",
            (space, user),
        )
        wins = await self._fetchone("SELECT count(*) FROM rounds WHERE space = ? AND winner = ?", (space, user))
        points = await self._fetchone(
            "SELECT coalesce(sum(points), 0) FROM ledger WHERE space = ? AND user_id = ?", (space, user)
        )
        best = await self._fetchone(
            "SELECT max(a.score) FROM dialect_answers a JOIN rounds r ON r.id = a.round_id "
            "WHERE r.space = ? AND a.user_id = ? AND r.status != 'open'",
            (space, user),
        )
        ai = await self._fetchone(
            "SELECT count(DISTINCT d.round_id), count(DISTINCT CASE WHEN d.ai_correct = 1 THEN d.round_id END) "
            "FROM drawings d WHERE d.space = ? AND d.user_id = ? AND d.ai_guess IS NOT NULL",
            (space, user),
        )
        return PlayerStats(
            user=user,
            name=name_row[0] if name_row else user,
            rounds_played=int(played[0]),
            wins=int(wins[0]),
            points=int(points[0]),
            best_dialect_score=None if best[0] is None else float(best[0]),
            drawings_seen_by_ai=int(ai[0]),
            drawings_recognised_by_ai=int(ai[1]),
        )

    # --- custom banks ---------------------------------------------------
    async def custom_entries(self, table: str, space: str) -> list[dict[str, Any]]:
        column = _custom_table(table)
        rows = await self._fetchall(f"SELECT data FROM {table} WHERE space = ? ORDER BY {column}", (space,))
        return [json.loads(r[0]) for r in rows]

    async def put_custom_entries(self, table: str, space: str, entries: Iterable[tuple[str, dict[str, Any]]]) -> int:
        column = _custom_table(table)
        rows = [(space, key, json.dumps(data, ensure_ascii=False)) for key, data in entries]
        async with self.transaction() as conn:
            await conn.executemany(
                f"INSERT INTO {table} (space, {column}, data) VALUES (?, ?, ?) "
                f"ON CONFLICT (space, {column}) DO UPDATE SET data = excluded.data",
                rows,
            )
        return len(rows)

    async def delete_custom_entry(self, table: str, space: str, key: str) -> bool:
        column = _custom_table(table)
        async with self.transaction() as conn:
            cur = await conn.execute(f"DELETE FROM {table} WHERE space = ? AND {column} = ?", (space, key))
            return cur.rowcount > 0

    # --- idempotency ----------------------------------------------------
    async def first_sighting(self, event_id: str, at: float) -> bool:
        """True the first time an event id is seen (platform retries are then ignored)."""
        async with self.transaction() as conn:
            cur = await conn.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, seen_at) VALUES (?, ?)", (event_id, at)
            )
            first = cur.rowcount == 1
            if first:  # platforms retry within minutes; a day of memory is plenty
                await conn.execute("DELETE FROM seen_events WHERE seen_at < ?", (at - 86400,))
            return first


def _custom_table(table: str) -> str:
    columns = {"custom_words": "word_id", "custom_dialect": "item_id"}
    if table not in columns:
        raise ValueError(f"unknown custom table {table!r}")
    return columns[table]


def _board_filter(space: str, game: str | None, start: float | None, end: float | None) -> tuple[str, list[Any]]:
    where = ["l.space = ?"]
    params: list[Any] = [space]
    if game is not None:
        where.append("l.game = ?")
        params.append(game)
    if start is not None:
        where.append("l.created_at >= ?")
        params.append(start)
    if end is not None:
        where.append("l.created_at < ?")
        params.append(end)
    return " AND ".join(where), params


def _round(row: Sequence[Any]) -> RoundRow:
    return RoundRow(
        id=row[0],
        space=row[1],
        channel=row[2],
        game=row[3],
        status=row[4],
        starter=row[5],
        secret=row[6],
        locale=row[7],
        payload=json.loads(row[8] or "{}"),
        started_at=row[9],
        ends_at=row[10],
        closed_at=row[11],
        winner=row[12],
    )


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
