"""Leaderboards over a big ledger: top 10 + the caller's rank, from the board totals vs a plain GROUP BY.

Run: python3 bench/bench_boards.py [--rows 1000000] [--players 5000] [--runs 200]

Target (issue 11): top 10 + own rank for this week, this month and all time in under
5 ms median over 1,000,000 ledger rows and 5,000 players in one space (under 10 ms
at 10,000,000 rows). The data is a year of rounds with a skewed crowd (a few players
play most rounds, like a real server), both games, and two small neighbour spaces.
Prints figures and percentiles beside the baseline; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.periods import parse_period
from storage import SqlStorage, open_database

SPACE = "bench"
ZONE = "Asia/Seoul"
YEAR = 365 * 86400


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):7.2f} ms  p90 {percentile(values, 0.9):7.2f}  "
        f"p99 {percentile(values, 0.99):7.2f}  ({len(values)} runs)"
    )


def build_sqlite(path: Path, rows: int, players: int, now: float, seed: int = 1) -> None:
    """A year of ledger rows (about two per round) written straight into the tables, then totals rebuilt."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    # Skewed: player k plays with weight 1/(k+1)^0.8 (a long tail of occasional players).
    weights = [1 / (k + 1) ** 0.8 for k in range(players)]
    users = [f"u{k}" for k in range(players)]
    conn.execute("BEGIN")
    rounds = max(1, rows // 2)
    written = 0
    round_rows, ledger_rows = [], []
    for r in range(1, rounds + 1):
        space = SPACE if rng.random() < 0.97 else rng.choice(("small-1", "small-2"))
        game = "drawing" if rng.random() < 0.6 else "dialect"
        # Play grows over the year: more recent weeks hold more rounds.
        closed = now - YEAR * (1 - rng.random() ** 0.7)
        round_rows.append((r, space, f"c{r % 50}", game, "won", "x", "apple", "en", closed - 60, closed, closed))
        for user in rng.choices(users, weights, k=2 if written + 2 <= rows else rows - written):
            ledger_rows.append((space, user, r, game, rng.choice((3, 5, 7, 10)), "guess", closed))
            written += 1
        if len(round_rows) >= 20_000:
            _flush(conn, round_rows, ledger_rows)
    _flush(conn, round_rows, ledger_rows)
    conn.execute("COMMIT")
    conn.close()


def _flush(conn: sqlite3.Connection, round_rows: list, ledger_rows: list) -> None:  # type: ignore[type-arg]
    conn.executemany(
        "INSERT INTO rounds (id, space, channel, game, status, starter, secret, locale, started_at, ends_at, "
        "closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        round_rows,
    )
    conn.executemany(
        "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ledger_rows,
    )
    round_rows.clear()
    ledger_rows.clear()


async def make_database(folder: Path, rows: int, players: int, now: float) -> Path:
    path = folder / f"boards-{rows}.db"
    db = await open_database(path, default_zone=ZONE)  # the schema
    await db.close()
    began = time.perf_counter()
    await asyncio.to_thread(build_sqlite, path, rows, players, now)
    print(f"data: {rows:,} ledger rows, {players:,} players, one year, written in {time.perf_counter() - began:.1f} s")
    db = await open_database(path, default_zone=ZONE)
    began = time.perf_counter()
    await db.rebuild_totals()
    print(f"catchbot db rebuild-totals: {time.perf_counter() - began:.1f} s (includes ANALYZE)")
    await db.close()
    return path


async def group_by_board(db: SqlStorage, game: str | None, start: float | None, end: float | None, user: str):
    """The baseline: a plain GROUP BY for the top 10, and one more for the caller's rank."""
    where, params = "space = ?", [SPACE]
    if game:
        where, params = where + " AND game = ?", [*params, game]
    if start is not None:
        where, params = where + " AND created_at >= ? AND created_at < ?", [*params, start, end]
    top = await db._fetchall(
        f"SELECT user_id, sum(points) AS t FROM ledger WHERE {where} GROUP BY user_id ORDER BY t DESC LIMIT 10",
        params,
    )
    mine = await db._fetchall(
        f"SELECT count(*) + 1 FROM (SELECT user_id, sum(points) AS t FROM ledger WHERE {where} GROUP BY user_id) x "
        f"WHERE t > (SELECT coalesce(sum(points), 0) FROM ledger WHERE {where} AND user_id = ?)",
        [*params, *params, user],
    )
    return top, mine


async def measure_boards(db: SqlStorage, now: float, runs: int, baseline_runs: int, players: int) -> None:
    rng = random.Random(3)
    zone = ZoneInfo(ZONE)
    for game in (None, "drawing"):
        for word in ("week", "month", "all"):
            period = parse_period(word, now, zone)
            label = f"{word:>5} {'both games' if game is None else game:>10}"
            fast = []
            for _ in range(runs):
                user = f"u{int(rng.paretovariate(0.8)) % players}"
                began = time.perf_counter()
                board = await db.leaderboard(SPACE, game, period.start, period.end)
                await db.rank_of(SPACE, game, period.start, period.end, user)
                fast.append((time.perf_counter() - began) * 1000)
            assert len(board) == 10
            slow = []
            for _ in range(baseline_runs):
                began = time.perf_counter()
                await group_by_board(db, game, period.start, period.end, "u42")
                slow.append((time.perf_counter() - began) * 1000)
            ratio = statistics.median(slow) / statistics.median(fast)
            print(f"  {label}  totals: {figures(fast)}  (target < 5 ms)")
            print(f"  {label}  GROUP BY baseline: {figures(slow)}  -> totals {ratio:,.0f}x faster")


async def measure_writes(db: SqlStorage, now: float, rounds: int = 2000) -> None:
    """What the totals cost a round close (the ledger rows and 6 total rows per award, one transaction)."""
    from storage import Award

    ids = []
    for c in range(rounds):
        round_id = await db.open_round(
            space=SPACE, channel=f"w{c}", game="drawing", starter="x", secret="apple", locale="en",
            payload={}, started_at=now, ends_at=now + 60,
        )  # fmt: skip
        ids.append(round_id)
    times = []
    for c, round_id in enumerate(ids):
        began = time.perf_counter()
        await db.close_round(
            round_id,
            status="won",
            closed_at=now,
            winner=f"u{c % 100}",
            awards=[Award(f"u{c % 100}", 7, "guess"), Award("x", 5, "drawer")],
        )
        times.append((time.perf_counter() - began) * 1000)
    print(f"  close_round with 2 awards (ledger + totals + commit): {figures(times)}")


async def run(folder: Path, rows: int, players: int, runs: int, baseline_runs: int) -> Path:
    now = time.time()
    path = await make_database(folder, rows, players, now)
    db = await open_database(path, default_zone=ZONE)
    try:
        print(f"SQLite, {rows:,} rows:")
        await measure_boards(db, now, runs, baseline_runs, players)
        assert not await db.check_totals(SPACE) if rows <= 2_000_000 else True
        await measure_writes(db, now)
    finally:
        await db.close()
    return path


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--players", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(Path(tmp), args.rows, args.players, args.runs, args.baseline_runs)


if __name__ == "__main__":
    asyncio.run(main())
