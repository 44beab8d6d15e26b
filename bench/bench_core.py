"""Core throughput: guesses through the engine, the judge alone, and leaderboards over a big ledger.

Run: python3 bench/bench_core.py [--ledger-rows N]
Prints figures only; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import load_settings
from bot.engine import Engine
from bot.events import ChatMessage, Command, Origin
from bot.judge import Judge
from bot.replies import Reply
from bot.words import default_bank
from storage import Database


class NullTransport:
    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        return None


def bench_judge(rounds: int = 20_000) -> None:
    bank = default_bank()
    judge = Judge(bank)
    words = list(bank)
    rng = random.Random(1)
    guesses = [rng.choice(words).en for _ in range(rounds)]
    secrets = [rng.choice(words) for _ in range(rounds)]
    began = time.perf_counter()
    for secret, guess in zip(secrets, guesses, strict=True):
        judge.judge(secret, guess)
    elapsed = time.perf_counter() - began
    print(f"judge: {rounds / elapsed:,.0f} verdicts/s ({elapsed * 1e6 / rounds:.1f} µs each)")


async def bench_engine(folder: Path, guesses: int = 5_000, channels: int = 20) -> None:
    settings = load_settings(None, db_path=folder / "engine.db", guess_limit=0, locale="en")
    db = await Database.open(settings.db_path)
    engine = Engine(settings, db, transport=NullTransport(), tick_interval=3600)
    await engine.start()
    for c in range(channels):
        await engine.handle(Command(Origin("bench", f"c{c}", "drawer", "Drawer"), "draw", ()))
    players = [Origin("bench", f"c{i % channels}", f"p{i % 200}", f"P{i % 200}") for i in range(guesses)]
    began = time.perf_counter()
    await asyncio.gather(*(engine.handle(ChatMessage(o, "definitely wrong guess")) for o in players))
    elapsed = time.perf_counter() - began
    print(
        f"engine: {guesses / elapsed:,.0f} wrong guesses/s across {channels} channels "
        f"(each makes the player's first-guess row once)"
    )
    await engine.stop()
    await db.close()


async def bench_leaderboard(folder: Path, rows: int) -> None:
    db = await Database.open(folder / "board.db")
    now = time.time()
    round_id = await db.open_round(
        space="bench",
        channel="c",
        game="drawing",
        starter="x",
        secret="apple",
        locale="en",
        payload={},
        started_at=now,
        ends_at=now + 1,
    )
    await db.close_round(round_id, status="won", closed_at=now)
    rng = random.Random(2)
    batch = 10_000
    began = time.perf_counter()
    async with db.transaction() as conn:
        for start in range(0, rows, batch):
            await conn.executemany(
                "INSERT INTO ledger (space, user_id, round_id, game, points, reason, created_at) "
                "VALUES ('bench', ?, ?, ?, ?, 'guess', ?)",
                [
                    (
                        f"u{rng.randrange(5000)}",
                        round_id,
                        rng.choice(("drawing", "dialect")),
                        rng.randint(1, 10),
                        now - rng.uniform(0, 86400 * 90),
                    )
                    for _ in range(min(batch, rows - start))
                ],
            )
    print(f"ledger: {rows:,} rows written in {time.perf_counter() - began:.1f} s")
    for label, start_at in (("week", now - 7 * 86400), ("all time", None)):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            await db.leaderboard("bench", "drawing", start_at, None)
            await db.rank_of("bench", "drawing", start_at, None, "u42")
            times.append((time.perf_counter() - t0) * 1000)
        print(f"leaderboard + own rank ({label}) over {rows:,} rows: median {statistics.median(times):.1f} ms")
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ledger-rows", type=int, default=200_000)
    args = parser.parse_args()
    bench_judge()
    with tempfile.TemporaryDirectory() as tmp:
        await bench_engine(Path(tmp))
        await bench_leaderboard(Path(tmp), args.ledger_rows)


if __name__ == "__main__":
    asyncio.run(main())
