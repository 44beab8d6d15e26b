"""The hot path: what one guess costs through the real engine on a real SQLite file.

Run: python3 bench/bench_hot_path.py [--guesses N] [--rounds N]

Targets (issue 11): a wrong guess under 30 µs median and under 0.5 ms p99 on one process;
at least 1,500 round-closing correct guesses per second, each committed.
Prints figures beside their targets; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import load_settings
from bot.engine import Engine
from bot.events import ChatMessage, Command, Origin
from bot.replies import Reply
from storage import Database


class NullTransport:
    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def wrong_guesses(folder: Path, guesses: int, channels: int = 20, players: int = 200) -> None:
    settings = load_settings(None, db_path=folder / "wrong.db", locale="en", guess_limit=0)
    db = await Database.open(settings.db_path)
    engine = Engine(settings, db, transport=NullTransport(), tick_interval=3600)
    await engine.start()
    for c in range(channels):
        await engine.handle(Command(Origin("bench", f"c{c}", "drawer", "Drawer"), "draw", ()))
    origins = [Origin("bench", f"c{i % channels}", f"p{i % players}", f"P{i % players}") for i in range(guesses)]
    # Warm-up: every player's first guess in a round writes their participation once; steady state is after it.
    for o in origins[: channels * players]:
        await engine.handle(ChatMessage(o, "a warm-up guess"))
    texts = ["is it a purple elephant", "some kind of vehicle", "나무 같아요", "a spaceship?"]
    latencies = []
    gc.collect()
    for i, o in enumerate(origins):
        message = ChatMessage(o, texts[i % len(texts)])
        began = time.perf_counter()
        await engine.handle(message)
        latencies.append((time.perf_counter() - began) * 1e6)
    await engine.stop()
    await db.close()
    median, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"wrong guess: median {median:.1f} µs (target < 30), p99 {p99:.1f} µs (target < 500), {guesses:,} guesses")


async def correct_guesses(folder: Path, rounds: int) -> None:
    settings = load_settings(None, db_path=folder / "right.db", locale="en", guess_limit=0)
    db = await Database.open(settings.db_path)
    engine = Engine(settings, db, transport=NullTransport(), tick_interval=3600)
    await engine.start()
    answers = []
    for c in range(rounds):
        await engine.handle(Command(Origin("bench", f"c{c}", "drawer", "Drawer"), "draw", ()))
        word = engine.rounds[("bench", f"c{c}")].word
        assert word is not None
        answers.append(ChatMessage(Origin("bench", f"c{c}", f"p{c % 50}", f"P{c % 50}"), word.en))
    began = time.perf_counter()
    await asyncio.gather(*(engine.handle(a) for a in answers))
    elapsed = time.perf_counter() - began
    assert not engine.rounds, "every round closed"
    async with db._conn.execute("SELECT COUNT(*) FROM rounds WHERE status = 'won'") as cur:
        won = (await cur.fetchone())[0]
    await engine.stop()
    await db.close()
    print(f"correct guesses: {won / elapsed:,.0f} round-closing guesses/s committed (target ≥ 1,500), {won} rounds")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guesses", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await wrong_guesses(Path(tmp), args.guesses)
        await correct_guesses(Path(tmp), args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
