"""The storage interface the engine talks to, written once over a tiny driver layer.

Every public method is here, in SQL that SQLite (3.35+) and PostgreSQL both run
(``?`` placeholders, ``ON CONFLICT``, ``RETURNING``); each backend supplies the
primitives (``_fetchall``, ``_fetchone``, ``_tx``) and its own migrations, and
PostgreSQL rewrites ``?`` to ``$n``.

Board totals: points stay append-only in ``ledger``; ``board_totals`` holds one
row per (space, game or ``*``, kind, period start, player), written in the same
transaction as the ledger rows. Week and month buckets are cut in the zone named
in ``board_zones`` for the space, which is always the space's current zone: a
time-zone change re-cuts that space's buckets in the transaction that stores
the setting. A board whose bounds are not exactly one bucket (another zone, an
odd range) is summed from the ledger, so it is always right, only slower.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from storage import periods
from storage.types import (
    SPACE_NAME,
    Announcement,
    Award,
    BoardEntry,
    DrawingRecord,
    PlayerStats,
    ProcessInfo,
    RoundAlreadyOpen,
    RoundRow,
    SpaceInfo,
    Timer,
    TotalsMismatch,
    UsageSummary,
)

DEFAULT_ZONE = "Asia/Seoul"  # the default of CATCHBOT_TIMEZONE
TOTALS_VERSION_KEY = "board_totals_built"
_DRAWING_BATCH = 64


class Tx(Protocol):
    """One open transaction: the few calls the shared SQL needs."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...  # rows changed
    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...


class SqlStorage:
    """The public storage API; subclasses are :class:`storage.Database` (SQLite) and ``PostgresDatabase``."""

    backend = "sql"
    default_zone = DEFAULT_ZONE
    _integrity_errors: tuple[type[BaseException], ...] = ()

    # --- primitives each backend provides --------------------------------
    def _tx(self) -> AbstractAsyncContextManager[Tx]:
        raise NotImplementedError

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def schema_version(self) -> int:
        raise NotImplementedError

    def describe(self) -> str:
        """Where the data lives (a path, or a URL without its password), for logs and ``catchbot db status``."""
        raise NotImplementedError

    async def _execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement in its own transaction (rows changed)."""
        async with self._tx() as tx:
            return await tx.execute(sql, params)

    # --- players --------------------------------------------------------
    async def upsert_player(self, space: str, user: str, name: str, *, is_ai: bool = False) -> None:
        await self._execute(
            "INSERT INTO players (space, user_id, display_name, is_ai) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (space, user_id) DO UPDATE SET display_name = excluded.display_name "
            "WHERE players.display_name != excluded.display_name",
            (space, user, name, int(is_ai)),
        )

    async def find_player(self, space: str, text: str) -> tuple[str, str] | None:
        """A player of the space by id or display name (case-insensitive)."""
        row = await self._fetchone(
            "SELECT user_id, display_name FROM players WHERE space = ? AND (user_id = ? OR "
            "lower(display_name) = lower(?)) ORDER BY CASE WHEN user_id = ? THEN 0 ELSE 1 END LIMIT 1",
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
        holder: str | None = None,
        timers: Iterable[tuple[str, float]] = (),
    ) -> int:
        """Record an open round, its holder process and its timers (kind, due) in one transaction."""
        try:
            async with self._tx() as tx:
                row = await tx.fetchone(
                    "INSERT INTO rounds (space, channel, game, status, starter, secret, locale, payload, "
                    "started_at, ends_at, holder) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (space, channel, game, starter, secret, locale, json.dumps(payload), started_at, ends_at, holder),
                )
                round_id = int(row[0])
                due = [(round_id, kind, float(at)) for kind, at in timers]
                if due:
                    await tx.executemany("INSERT INTO timers (round_id, kind, due_at) VALUES (?, ?, ?)", due)
                if game == "drawing":
                    await tx.execute(
                        "INSERT INTO participants (round_id, user_id, role) VALUES (?, ?, 'drawer')",
                        (round_id, starter),
                    )
                return round_id
        except self._integrity_errors as exc:
            raise RoundAlreadyOpen(channel) from exc

    async def update_round(self, round_id: int, *, payload: dict[str, Any], ends_at: float | None = None) -> None:
        if ends_at is None:
            await self._execute(
                "UPDATE rounds SET payload = ? WHERE id = ? AND status = 'open'", (json.dumps(payload), round_id)
            )
        else:
            await self._execute(
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
        announcement: Any = None,
    ) -> bool:
        """Close an open round and write its points, their board totals and its announcement atomically.

        False if the round was not open (someone else closed it: nothing is written).
        ``announcement`` (anything JSON can hold, e.g. serialised replies) goes to the outbox.
        """
        async with self._tx() as tx:
            row = await tx.fetchone(
                "UPDATE rounds SET status = ?, closed_at = ?, winner = ? WHERE id = ? AND status = 'open' "
                "RETURNING space, game, channel, (SELECT zone FROM board_zones z WHERE z.space = rounds.space)",
                (status, closed_at, winner, round_id),
            )
            if row is None:
                return False
            space, game, channel = row[0], row[1], row[2]
            scored = [a for a in awards if a.points]
            if scored:
                zone = await self._closing_zone(tx, space, row[3])
                keys = periods.buckets(closed_at, zone)
                # One statement for every award (one trip to the driver), then the totals from what it wrote.
                values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(scored))
                params = [v for a in scored for v in (space, a.user, round_id, game, a.points, a.reason, closed_at)]
                written = await tx.fetchall(
                    "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
                    f"VALUES {values} RETURNING id, user_id, points",
                    params,
                )
                totals = [
                    (space, board_game, kind, start, user, int(points), int(ledger_id))
                    for ledger_id, user, points in written
                    for board_game in (game, "*")
                    for kind, start in keys
                ]
                await tx.executemany(_ADD_TOTAL, totals)
            # A closed round's hint and time-out have nothing left to do.
            await tx.execute(
                "UPDATE timers SET done_at = ? WHERE round_id = ? AND done_at IS NULL", (closed_at, round_id)
            )
            if announcement is not None:
                await tx.execute(
                    "INSERT INTO outbox (round_id, space, channel, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                    (round_id, space, channel, json.dumps(announcement, ensure_ascii=False), closed_at),
                )
        return True

    async def get_round(self, round_id: int) -> RoundRow | None:
        row = await self._fetchone(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = ?", (round_id,))
        return _round(row) if row else None

    async def open_rounds(self) -> list[RoundRow]:
        rows = await self._fetchall(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE status = 'open' ORDER BY id")
        return [_round(r) for r in rows]

    async def add_participant(self, round_id: int, user: str, role: str) -> None:
        await self._execute(
            "INSERT INTO participants (round_id, user_id, role) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (round_id, user, role),
        )

    async def save_dialect_answer(self, round_id: int, user: str, answer: str, score: float, at: float) -> None:
        async with self._tx() as tx:
            await tx.execute(
                "INSERT INTO dialect_answers (round_id, user_id, answer, score, answered_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (round_id, user_id) DO UPDATE SET answer = excluded.answer, score = excluded.score, "
                "answered_at = excluded.answered_at",
                (round_id, user, answer, score, at),
            )
            await tx.execute(
                "INSERT INTO participants (round_id, user_id, role) VALUES (?, ?, 'answerer') ON CONFLICT DO NOTHING",
                (round_id, user),
            )

    async def rescore_dialect_answers(self, round_id: int, scores: dict[str, float]) -> None:
        """Set the final score of answers the meaning judge lifted (their text and time stay)."""
        async with self._tx() as tx:
            await tx.executemany(
                "UPDATE dialect_answers SET score = ? WHERE round_id = ? AND user_id = ?",
                [(score, round_id, user) for user, score in scores.items()],
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
        async with self._tx() as tx:
            row = await tx.fetchone(
                "INSERT INTO drawings (round_id, space, user_id, upload_no, image, mime, width, height, word_id, "
                "label_en, label_ko, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (round_id, space, user, upload_no, image, mime, width, height, word_id, label_en, label_ko, at),
            )
            return int(row[0])

    async def set_drawing_ai(self, drawing_id: int, *, guess: str, model: str, correct: bool) -> None:
        await self._execute(
            "UPDATE drawings SET ai_guess = ?, ai_model = ?, ai_correct = ? WHERE id = ?",
            (guess, model, int(correct), drawing_id),
        )

    async def iter_drawings(
        self, space: str | None = None, since: datetime | None = None
    ) -> AsyncIterator[DrawingRecord]:
        """Drawings of closed rounds from spaces where collecting is on, oldest first, a few in memory at a time."""
        sql = (
            "SELECT d.id, d.space, d.round_id, d.user_id, d.image, d.mime, d.width, d.height, d.word_id, "
            "d.label_en, d.label_ko, d.ai_guess, d.ai_model, d.ai_correct, r.status, d.created_at "
            "FROM drawings d JOIN rounds r ON r.id = d.round_id "
            "WHERE d.id > ? AND r.status != 'open' AND EXISTS (SELECT 1 FROM settings s WHERE s.space = d.space "
            "AND s.key = 'collect_drawings' AND s.value = 'on')"
        )
        params: list[Any] = []
        if space is not None:
            sql += " AND d.space = ?"
            params.append(space)
        if since is not None:
            sql += " AND d.created_at >= ?"
            params.append(since.timestamp())
        sql += f" ORDER BY d.id LIMIT {_DRAWING_BATCH}"
        after = 0
        while True:
            rows = await self._fetchall(sql, (after, *params))
            for r in rows:
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
            if len(rows) < _DRAWING_BATCH:
                return
            after = rows[-1][0]

    # --- settings -------------------------------------------------------
    async def get_setting(self, space: str, key: str) -> str | None:
        row = await self._fetchone("SELECT value FROM settings WHERE space = ? AND key = ?", (space, key))
        return row[0] if row else None

    async def set_setting(self, space: str, key: str, value: str | None) -> None:
        async with self._tx() as tx:
            if value is None:
                await tx.execute("DELETE FROM settings WHERE space = ? AND key = ?", (space, key))
            else:
                await tx.execute(
                    "INSERT INTO settings (space, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (space, key) DO UPDATE SET value = excluded.value",
                    (space, key, value),
                )
            if key == "timezone":  # the boards follow the zone from now on, past weeks included
                await self._rezone_if_needed(tx, space)
            await self._space_changed(tx, space)

    async def spaces(self) -> list[SpaceInfo]:
        """Every space that played, set something or has players, with its name and rounds."""
        rows = await self._fetchall(
            "SELECT k.space, n.value, count(r.id), max(r.started_at) FROM "
            "(SELECT space FROM rounds UNION SELECT space FROM players "
            " UNION SELECT space FROM settings WHERE space <> '*') AS k "
            "LEFT JOIN settings AS n ON n.space = k.space AND n.key = ? "
            "LEFT JOIN rounds AS r ON r.space = k.space "
            "GROUP BY k.space, n.value ORDER BY k.space",
            (SPACE_NAME,),
        )
        return [SpaceInfo(r[0], r[1], int(r[2]), None if r[3] is None else float(r[3])) for r in rows]

    async def settings_for(self, space: str) -> dict[str, str]:
        """The space's settings over the global ones (space ``*``)."""
        rows = await self._fetchall(
            "SELECT key, value FROM settings WHERE space IN ('*', ?) ORDER BY CASE WHEN space = ? THEN 1 ELSE 0 END",
            (space, space),
        )
        return {r[0]: r[1] for r in rows}

    # --- usage ----------------------------------------------------------
    async def record_usage(
        self, space: str, game: str, answer: Any, purpose: str = "play", at: float | None = None
    ) -> None:
        """Record one model call (``answer`` is a :class:`bot.ai.players.ModelAnswer`)."""
        await self._execute(
            "INSERT INTO usage (space, game, purpose, model, prompt_tokens, completion_tokens, image_tokens, "
            "cost_usd, estimated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                space,
                game,
                purpose,
                answer.model,
                int(answer.prompt_tokens),
                int(answer.completion_tokens),
                int(answer.image_tokens),
                float(answer.cost_usd),
                int(answer.cost_estimated),
                time.time() if at is None else float(at),
            ),
        )

    async def usage_summary(self, space: str, start: float, end: float) -> UsageSummary:
        row = await self._fetchone(
            "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), "
            "coalesce(sum(image_tokens), 0), coalesce(sum(cost_usd), 0), coalesce(max(estimated), 0) "
            "FROM usage WHERE space = ? AND created_at >= ? AND created_at < ?",
            (space, float(start), float(end)),
        )
        return UsageSummary(int(row[0]), int(row[1]), int(row[2]), int(row[3]), float(row[4]), bool(row[5]))

    # --- points ---------------------------------------------------------
    async def leaderboard(
        self, space: str, game: str | None, start: float | None, end: float | None, limit: int = 10
    ) -> list[BoardEntry]:
        bucket = await self._bucket(space, start, end)
        if bucket is not None:
            rows = await self._fetchall(
                "SELECT t.user_id, coalesce(p.display_name, t.user_id), t.points FROM board_totals t "
                "LEFT JOIN players p ON p.space = t.space AND p.user_id = t.user_id "
                "WHERE t.space = ? AND t.game = ? AND t.kind = ? AND t.period_start = ? AND t.points != 0 "
                "ORDER BY t.points DESC, t.first_id LIMIT ?",
                (space, game or "*", bucket[0], bucket[1], limit),
            )
        else:
            where, params = _ledger_filter(space, game, start, end)
            rows = await self._fetchall(
                "SELECT t.u, coalesce(p.display_name, t.u), t.total FROM ("
                "SELECT l.user_id AS u, sum(l.points) AS total, min(l.id) AS first FROM ledger l "
                f"WHERE {where} GROUP BY l.user_id HAVING sum(l.points) != 0 "
                "ORDER BY total DESC, first LIMIT ?) t "
                "LEFT JOIN players p ON p.space = ? AND p.user_id = t.u ORDER BY t.total DESC, t.first",
                (*params, limit, space),
            )
        return [BoardEntry(r[0], r[1], int(r[2]), i + 1) for i, r in enumerate(rows)]

    async def rank_of(
        self, space: str, game: str | None, start: float | None, end: float | None, user: str
    ) -> BoardEntry | None:
        bucket = await self._bucket(space, start, end)
        if bucket is not None:
            key = (space, game or "*", bucket[0], bucket[1])
            mine = await self._fetchone(
                "SELECT t.points, t.first_id, coalesce(p.display_name, t.user_id) FROM board_totals t "
                "LEFT JOIN players p ON p.space = t.space AND p.user_id = t.user_id "
                "WHERE t.space = ? AND t.game = ? AND t.kind = ? AND t.period_start = ? AND t.user_id = ?",
                (*key, user),
            )
            if mine is None or int(mine[0]) == 0:
                return None
            points, first = int(mine[0]), int(mine[1])
            # Two index range counts (an OR here makes SQLite merge row sets: 20x slower).
            ahead = await self._fetchone(
                "SELECT (SELECT count(*) FROM board_totals WHERE space = ? AND game = ? AND kind = ? "
                "AND period_start = ? AND points > ? AND points != 0), "
                "(SELECT count(*) FROM board_totals WHERE space = ? AND game = ? AND kind = ? "
                "AND period_start = ? AND points = ? AND first_id < ?)",
                (*key, points, *key, points, first),
            )
            return BoardEntry(user, mine[2], points, int(ahead[0]) + int(ahead[1]) + 1)
        where, params = _ledger_filter(space, game, start, end)
        rows = await self._fetchall(
            "WITH totals AS (SELECT l.user_id AS u, sum(l.points) AS total, min(l.id) AS first "
            f"FROM ledger l WHERE {where} GROUP BY l.user_id HAVING sum(l.points) != 0), "
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
            (space, user, reason, float(start)),
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

    # --- board totals ---------------------------------------------------
    async def _desired_zone(self, tx: Tx, space: str) -> str:
        """The zone the engine uses for the space: its valid ``timezone`` setting, else the default."""
        row = await tx.fetchone("SELECT value FROM settings WHERE space = ? AND key = 'timezone'", (space,))
        name = row[0] if row else None
        return name if periods.valid_zone(name) else self.default_zone

    async def _closing_zone(self, tx: Tx, space: str, seen: str | None) -> str:
        """The zone to cut a closing round's totals in (``seen``: read by the closing UPDATE).

        SQLite has one writer at a time, so what the UPDATE read still holds at commit.
        """
        return seen or await self._board_zone(tx, space)

    async def _board_zone(self, tx: Tx, space: str) -> str:
        row = await tx.fetchone("SELECT zone FROM board_zones WHERE space = ?", (space,))
        if row is not None:
            return str(row[0])
        zone = await self._desired_zone(tx, space)
        await tx.execute(
            "INSERT INTO board_zones (space, zone) VALUES (?, ?) ON CONFLICT (space) DO NOTHING", (space, zone)
        )
        row = await tx.fetchone("SELECT zone FROM board_zones WHERE space = ?", (space,))
        return str(row[0])

    async def _bucket(self, space: str, start: float | None, end: float | None) -> tuple[str, int] | None:
        if start is None and end is None:
            return ("all", periods.ALL_START)
        row = await self._fetchone("SELECT zone FROM board_zones WHERE space = ?", (space,))
        if row is None:
            return None  # no points yet: the ledger answers (with nothing) at once
        return periods.bucket_for_bounds(start, end, str(row[0]))

    async def _rezone_if_needed(self, tx: Tx, space: str) -> bool:
        row = await tx.fetchone("SELECT zone FROM board_zones WHERE space = ?", (space,))
        if row is None:
            return False
        zone = await self._desired_zone(tx, space)
        if zone == row[0]:
            return False
        await tx.execute("UPDATE board_zones SET zone = ? WHERE space = ?", (zone, space))
        await self._build_space_totals(tx, space, zone)
        return True

    async def rezone_stale_spaces(self) -> list[str]:
        """Re-cut the boards of spaces whose zone changed outside :meth:`set_setting` (e.g. a new default)."""
        rows = await self._fetchall(
            "SELECT b.space, b.zone, s.value FROM board_zones b "
            "LEFT JOIN settings s ON s.space = b.space AND s.key = 'timezone' ORDER BY b.space"
        )
        changed = []
        for space, zone, own in rows:
            if zone != (own if periods.valid_zone(own) else self.default_zone):
                async with self._tx() as tx:
                    if await self._rezone_if_needed(tx, space):
                        changed.append(space)
        return changed

    async def _build_space_totals(self, tx: Tx, space: str, zone: str) -> None:
        """Replace every bucket of one space with sums from the ledger, cut in ``zone``."""
        await tx.execute("DELETE FROM board_totals WHERE space = ?", (space,))
        span = await tx.fetchone("SELECT min(created_at), max(created_at) FROM ledger WHERE space = ?", (space,))
        if span is None or span[0] is None:
            return
        await tx.executemany(
            "INSERT INTO board_periods (zone, kind, period_start, period_end) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            [(zone, kind, s, e) for kind, s, e in periods.periods_between(float(span[0]), float(span[1]), zone)],
        )
        await tx.execute(
            "INSERT INTO board_totals (space, game, kind, period_start, user_id, points, first_id) "
            "SELECT space, game, 'all', 0, user_id, sum(points), min(id) FROM ledger WHERE space = ? "
            "GROUP BY space, game, user_id",
            (space,),
        )
        await tx.execute(
            "INSERT INTO board_totals (space, game, kind, period_start, user_id, points, first_id) "
            "SELECT l.space, l.game, p.kind, p.period_start, l.user_id, sum(l.points), min(l.id) "
            "FROM board_periods p JOIN ledger l ON l.space = ? AND l.created_at >= p.period_start "
            "AND l.created_at < p.period_end WHERE p.zone = ? "
            "GROUP BY l.space, l.game, p.kind, p.period_start, l.user_id",
            (space, zone),
        )
        await tx.execute(
            "INSERT INTO board_totals (space, game, kind, period_start, user_id, points, first_id) "
            "SELECT space, '*', kind, period_start, user_id, sum(points), min(first_id) FROM board_totals "
            "WHERE space = ? AND game != '*' GROUP BY space, kind, period_start, user_id",
            (space,),
        )

    async def rebuild_totals(self) -> int:
        """Rebuild every board total from the ledger (each space in its current zone); the spaces rebuilt."""
        async with self._tx() as tx:
            await tx.execute("DELETE FROM board_totals")
            await tx.execute("DELETE FROM board_zones")
            spaces = [r[0] for r in await tx.fetchall("SELECT DISTINCT space FROM ledger ORDER BY space")]
            for space in spaces:
                await self._build_space_totals(tx, space, await self._board_zone(tx, space))
        await self._after_bulk_change()
        return len(spaces)

    async def check_totals(self, space: str | None = None) -> list[TotalsMismatch]:
        """Every bucket whose total differs from the ledger's sum (empty when all agree)."""
        filter_sql, params = ("WHERE space = ?", [space]) if space is not None else ("", [])
        mismatches: list[TotalsMismatch] = []
        zones = {r[0]: r[1] for r in await self._fetchall(f"SELECT space, zone FROM board_zones {filter_sql}", params)}
        expected: dict[tuple[str, str, str, int, str], int] = {}
        rows = await self._fetchall(
            f"SELECT space, game, user_id, points, created_at FROM ledger {filter_sql} ORDER BY id", params
        )
        for sp, game, user, points, at in rows:
            zone = zones.get(sp)
            if zone is None:
                mismatches.append(TotalsMismatch(sp, game, "zone", 0, user, int(points), None))
                continue
            for kind, start in periods.buckets(float(at), zone):
                for board_game in (game, "*"):
                    key = (sp, board_game, kind, start, user)
                    expected[key] = expected.get(key, 0) + int(points)
        stored = {
            (r[0], r[1], r[2], int(r[3]), r[4]): int(r[5])
            for r in await self._fetchall(
                f"SELECT space, game, kind, period_start, user_id, points FROM board_totals {filter_sql}", params
            )
        }
        for key in sorted(expected.keys() | stored.keys()):
            if expected.get(key) != stored.get(key):
                mismatches.append(TotalsMismatch(*key, expected.get(key), stored.get(key)))
        return mismatches

    async def _after_bulk_change(self) -> None:
        """Refresh planner statistics after a large write (backends override)."""

    # --- outbox ---------------------------------------------------------
    async def pending_announcements(self, limit: int = 100) -> list[Announcement]:
        """Results committed but not yet marked announced, oldest first."""
        rows = await self._fetchall(
            "SELECT id, round_id, space, channel, payload, created_at FROM outbox WHERE announced_at IS NULL "
            "ORDER BY id LIMIT ?",
            (limit,),
        )
        return [Announcement(int(r[0]), int(r[1]), r[2], r[3], json.loads(r[4]), float(r[5])) for r in rows]

    async def mark_announced(self, announcement_id: int, at: float | None = None) -> bool:
        """Mark one result announced; False if it already was (another deliverer got there first)."""
        changed = await self._execute(
            "UPDATE outbox SET announced_at = ? WHERE id = ? AND announced_at IS NULL",
            (time.time() if at is None else float(at), announcement_id),
        )
        return changed == 1

    async def unmark_announced(self, announcement_id: int) -> None:
        """Undo a claim whose delivery failed: the result is pending again."""
        await self._execute("UPDATE outbox SET announced_at = NULL WHERE id = ?", (announcement_id,))

    async def mark_round_announced(self, round_id: int, at: float | None = None) -> bool:
        """Mark a round's result announced once its deliverer has delivered it; False if it already was."""
        changed = await self._execute(
            "UPDATE outbox SET announced_at = ? WHERE announced_at IS NULL AND round_id = ?",
            (time.time() if at is None else float(at), round_id),
        )
        return changed >= 1

    # --- processes ------------------------------------------------------
    async def heartbeat(self, process_id: str, *, host: str, pid: int, started_at: float, at: float) -> None:
        """Record that a bot process is alive (called every few seconds by each process)."""
        await self._execute(
            "INSERT INTO processes (id, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            (process_id, host, pid, float(started_at), float(at)),
        )

    async def hold_round(self, round_id: int, process_id: str | None) -> bool:
        """Name the process that runs an open round's timers (None lets it go)."""
        return (
            await self._execute("UPDATE rounds SET holder = ? WHERE id = ? AND status = 'open'", (process_id, round_id))
            == 1
        )

    async def processes_seen(self, since: float) -> list[ProcessInfo]:
        """Processes that reported at or after ``since``, with the open rounds each holds, newest first."""
        rows = await self._fetchall(
            "SELECT p.id, p.host, p.pid, p.started_at, p.seen_at, "
            "(SELECT count(*) FROM rounds r WHERE r.status = 'open' AND r.holder = p.id) "
            "FROM processes p WHERE p.seen_at >= ? ORDER BY p.seen_at DESC, p.id",
            (float(since),),
        )
        return [ProcessInfo(r[0], r[1], int(r[2]), float(r[3]), float(r[4]), int(r[5])) for r in rows]

    async def take_over_rounds(self, process_id: str, silent_since: float) -> list[int]:
        """Hand the open rounds of processes not seen since ``silent_since`` to ``process_id``; their ids."""
        async with self._tx() as tx:  # a write: inside a transaction (SQLite shares one connection)
            rows = await tx.fetchall(
                "UPDATE rounds SET holder = ? WHERE status = 'open' AND holder IS NOT NULL AND holder != ? "
                "AND holder NOT IN (SELECT id FROM processes WHERE seen_at >= ?) RETURNING id",
                (process_id, process_id, float(silent_since)),
            )
        return sorted(int(r[0]) for r in rows)

    # --- timers (several processes: each fires once) ---------------------
    _skip_locked = ""  # PostgreSQL: FOR UPDATE SKIP LOCKED (SQLite has one writer at a time anyway)

    async def schedule_timer(self, round_id: int, kind: str, due_at: float) -> None:
        """Set (or move) a round's timer of one kind, e.g. ``timeout`` or ``hint1``."""
        await self._execute(
            "INSERT INTO timers (round_id, kind, due_at) VALUES (?, ?, ?) ON CONFLICT (round_id, kind) "
            "DO UPDATE SET due_at = excluded.due_at, claimed_by = NULL, claimed_until = NULL "
            "WHERE timers.done_at IS NULL",
            (round_id, kind, float(due_at)),
        )

    async def ensure_timer(self, round_id: int, kind: str, due_at: float) -> None:
        """Set a round's timer of one kind unless it is set already (a restart must not reset a claimed one)."""
        await self._execute(
            "INSERT INTO timers (round_id, kind, due_at) VALUES (?, ?, ?) ON CONFLICT (round_id, kind) DO NOTHING",
            (round_id, kind, float(due_at)),
        )

    async def claim_due_timers(
        self, process_id: str, now: float, *, lease_seconds: float = 10.0, limit: int = 100
    ) -> list[Timer]:
        """Timers due at ``now`` that nobody holds (or whose holder's lease ran out), now held by this process.

        Two processes claiming at once get different timers; a process that dies holding
        one leaves it to the others after ``lease_seconds``. Act, then :meth:`finish_timer`.
        """
        until = float(now) + lease_seconds
        async with self._tx() as tx:
            rows = await tx.fetchall(
                "UPDATE timers SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                "SELECT id FROM timers WHERE done_at IS NULL AND due_at <= ? "
                "AND (claimed_until IS NULL OR claimed_until < ?) ORDER BY due_at LIMIT ?"
                f"{self._skip_locked}) RETURNING id, round_id, kind, due_at, claimed_until",
                (process_id, until, float(now), float(now), limit),
            )
        timers = [Timer(int(r[0]), int(r[1]), r[2], float(r[3]), float(r[4])) for r in rows]
        return sorted(timers, key=lambda t: (t.due_at, t.id))

    async def finish_timer(self, timer_id: int, process_id: str, at: float) -> bool:
        """Mark a claimed timer done; False if this process no longer holds it (it fired elsewhere)."""
        changed = await self._execute(
            "UPDATE timers SET done_at = ? WHERE id = ? AND claimed_by = ? AND done_at IS NULL",
            (float(at), timer_id, process_id),
        )
        return changed == 1

    # --- settings changes seen by other processes -------------------------
    async def _space_changed(self, tx: Tx, space: str) -> None:
        """Inside the changing transaction: tell other processes (PostgreSQL sends it on commit)."""

    async def listen_settings(self, callback: Any) -> Any:
        """Call ``callback(space)`` when any process changes a space's settings; returns an object to
        ``await .close()``. One process on SQLite has nobody to hear from: the default does nothing."""
        return _Silent()

    # --- custom banks ---------------------------------------------------
    async def custom_entries(self, table: str, space: str) -> list[dict[str, Any]]:
        column = _custom_table(table)
        rows = await self._fetchall(f"SELECT data FROM {table} WHERE space = ? ORDER BY {column}", (space,))
        return [json.loads(r[0]) for r in rows]

    async def put_custom_entries(self, table: str, space: str, entries: Iterable[tuple[str, dict[str, Any]]]) -> int:
        column = _custom_table(table)
        rows = [(space, key, json.dumps(data, ensure_ascii=False)) for key, data in entries]
        async with self._tx() as tx:
            await tx.executemany(
                f"INSERT INTO {table} (space, {column}, data) VALUES (?, ?, ?) "
                f"ON CONFLICT (space, {column}) DO UPDATE SET data = excluded.data",
                rows,
            )
            await self._space_changed(tx, space)
        return len(rows)

    async def delete_custom_entry(self, table: str, space: str, key: str) -> bool:
        column = _custom_table(table)
        async with self._tx() as tx:
            removed = await tx.execute(f"DELETE FROM {table} WHERE space = ? AND {column} = ?", (space, key)) > 0
            await self._space_changed(tx, space)
        return removed

    # --- idempotency ----------------------------------------------------
    async def first_sighting(
        self, event_id: str, at: float, *, process: str | None = None, silent_since: float | None = None
    ) -> bool:
        """True when this process is to handle the event: the first time its id is seen, or when the
        process that claimed it went silent (``silent_since``) before marking it done.

        Platforms resend an event they think was lost; the resend is ignored while the claimer lives
        or once it is done (:meth:`event_done`), and taken over from a dead claimer.
        """
        async with self._tx() as tx:
            first = (
                await tx.execute(
                    "INSERT INTO seen_events (event_id, seen_at, process, done) VALUES (?, ?, ?, 0) "
                    "ON CONFLICT DO NOTHING",
                    (event_id, float(at), process),
                )
                == 1
            )
            if first:  # platforms retry within minutes; a day of memory is plenty
                await tx.execute("DELETE FROM seen_events WHERE seen_at < ?", (float(at) - 86400,))
                return True
            if process is None or silent_since is None:
                return False
            taken = await tx.execute(
                "UPDATE seen_events SET process = ?, seen_at = ? WHERE event_id = ? AND done = 0 "
                "AND process IS NOT NULL AND process <> ? "
                "AND process NOT IN (SELECT id FROM processes WHERE seen_at >= ?)",
                (process, float(at), event_id, process, float(silent_since)),
            )
            return taken == 1

    async def event_done(self, event_id: str) -> None:
        """The event was handled: a resend is ignored from now on, whoever receives it."""
        await self._execute("UPDATE seen_events SET done = 1 WHERE event_id = ?", (event_id,))


class _Silent:
    async def close(self) -> None:
        return None


_ADD_TOTAL = (
    "INSERT INTO board_totals (space, game, kind, period_start, user_id, points, first_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (space, game, kind, period_start, user_id) "
    "DO UPDATE SET points = board_totals.points + excluded.points, "
    # concurrent closers (PostgreSQL) may commit a later id first: keep the smallest
    "first_id = CASE WHEN excluded.first_id < board_totals.first_id THEN excluded.first_id "
    "ELSE board_totals.first_id END"
)

_ROUND_COLUMNS = (
    "id, space, channel, game, status, starter, secret, locale, payload, started_at, ends_at, closed_at, winner"
)


def _custom_table(table: str) -> str:
    columns = {"custom_words": "word_id", "custom_dialect": "item_id"}
    if table not in columns:
        raise ValueError(f"unknown custom table {table!r}")
    return columns[table]


def _ledger_filter(space: str, game: str | None, start: float | None, end: float | None) -> tuple[str, list[Any]]:
    where = ["l.space = ?"]
    params: list[Any] = [space]
    if game is not None:
        where.append("l.game = ?")
        params.append(game)
    if start is not None:
        where.append("l.created_at >= ?")
        params.append(float(start))
    if end is not None:
        where.append("l.created_at < ?")
        params.append(float(end))
    return " AND ".join(where), params


def _round(row: Sequence[Any]) -> RoundRow:
    return RoundRow(
        id=int(row[0]),
        space=row[1],
        channel=row[2],
        game=row[3],
        status=row[4],
        starter=row[5],
        secret=row[6],
        locale=row[7],
        payload=json.loads(row[8] or "{}"),
        started_at=float(row[9]),
        ends_at=float(row[10]),
        closed_at=None if row[11] is None else float(row[11]),
        winner=row[12],
    )
