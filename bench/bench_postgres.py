"""PostgreSQL beside SQLite: board latency, guesses per second, with one and with three processes.

Run: python3 bench/bench_postgres.py [--rows 200000] [--rounds 1500] [--url postgresql://...]

Without --url a throw-away PostgreSQL server is started in a temporary folder
(initdb/pg_ctl from Debian's postgresql package, as the tests do). The same
skewed year of ledger rows is built in SQLite and copied with `migrate-to`'s code.
Three processes each play their own channels of one database (several processes
on the same channels need issue 13's engine work). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_boards import ZONE, make_database, measure_boards  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.events import ChatMessage, Command, Origin  # noqa: E402
from bot.replies import Reply  # noqa: E402
from storage import open_database  # noqa: E402
from storage.copy import copy_sqlite_to_postgres  # noqa: E402


class NullTransport:
    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        return None


async def play(target: str, space: str, rounds: int, wrong: int) -> tuple[float, float]:
    """(wrong guesses/s, round-closing correct guesses/s) through the real engine on ``target``."""
    settings = load_settings(None, db_path=Path("unused.db"), locale="en", guess_limit=0)
    db = await open_database(target, default_zone=ZONE, pool_size=10)
    engine = Engine(settings, db, transport=NullTransport(), tick_interval=3600)
    await engine.start()
    try:
        channels = 20
        for c in range(channels):
            await engine.handle(Command(Origin(space, f"w{c}", "drawer", "Drawer"), "draw", ()))
        origins = [Origin(space, f"w{i % channels}", f"p{i % 100}", f"P{i % 100}") for i in range(wrong)]
        for o in origins[: channels * 100]:  # first guesses write a participation row; steady state after
            await engine.handle(ChatMessage(o, "warm-up"))
        began = time.perf_counter()
        for o in origins:
            await engine.handle(ChatMessage(o, "no idea at all"))  # names no word of the bank
        wrong_rate = len(origins) / (time.perf_counter() - began)
        answers = []
        for c in range(rounds):
            await engine.handle(Command(Origin(space, f"r{c}", "drawer", "Drawer"), "draw", ()))
            word = engine.rounds[(space, f"r{c}")].word
            assert word is not None
            answers.append(ChatMessage(Origin(space, f"r{c}", f"p{c % 50}", f"P{c % 50}"), word.en))
        began = time.perf_counter()
        await asyncio.gather(*(engine.handle(a) for a in answers))
        right_rate = len(answers) / (time.perf_counter() - began)
        won = (
            await db._fetchone(
                "SELECT count(*) FROM rounds WHERE space = ? AND channel LIKE 'r%' AND status = 'won'", (space,)
            )
        )[0]
        assert won == rounds, (won, rounds)
    finally:
        await engine.stop()
        await db.close()
    return wrong_rate, right_rate


async def processes(target: str, count: int, rounds: int, wrong: int) -> tuple[float, float]:
    """Run ``count`` worker processes at once on one database; the summed rates."""
    workers = []
    for n in range(count):
        command = [__file__, "--worker", target, f"space-{count}-{n}", str(rounds), str(wrong)]
        workers.append(await asyncio.create_subprocess_exec(sys.executable, *command, stdout=PIPE, cwd=ROOT))
    outputs = [await w.communicate() for w in workers]
    rates = [tuple(float(x) for x in out.decode().split()) for out, _ in outputs]
    return sum(r[0] for r in rates), sum(r[1] for r in rates)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--players", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=1_500, help="round-closing guesses per process")
    parser.add_argument("--wrong", type=int, default=5_000, help="wrong guesses per process")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--url", help="an empty PostgreSQL database (default: start a temporary server)")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        target, space, rounds, wrong = args.worker
        rates = await play(target, space, int(rounds), int(wrong))
        print(f"{rates[0]} {rates[1]}")
        return

    server = None
    if args.url is None:
        from tests.pg import PgServer

        server = PgServer()
        server.start()
        url = server.create_database()
    else:
        url = args.url
    try:
        with tempfile.TemporaryDirectory() as tmp:
            now = time.time()
            sqlite_path = await make_database(Path(tmp), args.rows, args.players, now)
            began = time.perf_counter()
            await copy_sqlite_to_postgres(sqlite_path, url, default_zone=ZONE)
            took = time.perf_counter() - began
            print(f"migrate-to PostgreSQL: {args.rows:,} ledger rows copied and verified in {took:.1f} s")
            for label, target in (("SQLite", str(sqlite_path)), ("PostgreSQL", url)):
                db = await open_database(target, default_zone=ZONE)
                print(f"{label}, boards over {args.rows:,} rows (top 10 + own rank):")
                await measure_boards(db, now, args.runs, 3, args.players)
                await db.close()
            for label, target in (("SQLite", str(Path(tmp) / "play.db")), ("PostgreSQL", url)):
                wrong, right = await play(target, "one", args.rounds, args.wrong)
                print(
                    f"{label}, 1 process: {wrong:,.0f} wrong guesses/s, {right:,.0f} round-closing guesses/s committed"
                )
                wrong, right = await processes(target, 3, args.rounds, args.wrong)
                print(f"{label}, 3 processes: {wrong:,.0f} wrong guesses/s, {right:,.0f} closing guesses/s committed")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
