"""Bot processes killed while they play: several on one PostgreSQL database, one on a SQLite file.

Each process is ``tests/engine_worker.py``: the real engine on the real PostgreSQL backend, events in
as JSON lines, every reply out as JSON lines. Nothing is mocked: timers, winners, resends and the
takeover of a dead process's rounds all go through the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.words import default_bank

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    def __init__(self, index: int, proc: asyncio.subprocess.Process, seen: list[tuple[int, dict[str, Any]]]) -> None:
        self.index, self.proc, self.seen = index, proc, seen
        self.ready = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            record = json.loads(line)
            if "ready" in record:
                self.ready.set()
            else:
                self.seen.append((self.index, record))

    async def send(self, **event: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(event, ensure_ascii=False) + "\n").encode())
        await self.proc.stdin.drain()


async def start_worker(index: int, url: str, seen: list[tuple[int, dict[str, Any]]], *options: str) -> Worker:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATCHBOT_", "OPENAI_", "DISCORD_", "SLACK_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.engine_worker",
        "--database-url",
        url,
        "--draw-seconds",
        "4",
        "--dialect-seconds",
        "3",
        "--tick",
        "0.1",
        *options,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    return Worker(index, proc, seen)


async def wait_for(check: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(120)
async def test_three_processes_one_truth(pg_server) -> None:  # type: ignore[no-untyped-def]
    url = pg_server.create_database()
    rng = random.Random(11)
    seen: list[tuple[int, dict[str, Any]]] = []
    workers = [await start_worker(i, url, seen) for i in range(3)]
    conn = None
    try:
        async with asyncio.timeout(30):
            for w in workers:
                await w.ready.wait()
        conn = await asyncpg.connect(url)
        games = {"c0": "draw", "c1": "draw", "c2": "draw", "c3": "draw", "c4": "dialect", "c5": "dialect"}
        # Worker 0 opens two rounds, then dies holding them (and holding nothing it could hand over).
        for i, (channel, game) in enumerate(games.items()):
            await workers[i % 3].send(kind="command", space="s", channel=channel, user=f"d{i}", name=game)

        async def all_open() -> list[Any]:
            rows = await conn.fetch("SELECT id, channel, game, secret FROM rounds WHERE status = 'open'")
            return rows if len(rows) == len(games) else []

        rounds = {r["channel"]: r for r in await wait_for(all_open, 15, "every round to open")}
        await asyncio.sleep(0.5)  # every process has learned the others' rounds by now
        for n in range(12):  # wrong guesses and dialect answers, to any process
            for channel, game in games.items():
                text = "surely not this" if game == "draw" else f"표준어 대답 {n}"
                await rng.choice(workers).send(kind="chat", space="s", channel=channel, user=f"p{n % 4}", text=text)
        # The same answer delivered twice, to two processes (a platform's resend): counted once.
        for w in workers[:2]:
            await w.send(kind="chat", space="s", channel="c4", user="p9", text="밥 먹었어요?", event_id="resend-1")

        def p9_acked() -> list[Any]:
            return [rec for _, rec in seen if rec["reply"]["type"] == "Ack" and rec["reply"]["user"] == "p9"]

        async def resend_handled() -> bool:
            return bool(p9_acked())

        # Killed only once the answer was handled: a claimer killed before that leaves the event to the
        # platform's next resend, which another process takes over (test_storage_backends covers that).
        await wait_for(resend_handled, 15, "the resent answer to be handled")
        workers[0].proc.send_signal(signal.SIGKILL)
        await workers[0].proc.wait()
        live = workers[1:]
        # c0, c1: the right word from two players at once, each to another process, one also resent.
        bank = default_bank()
        for channel in ("c0", "c1"):
            word = bank.get(rounds[channel]["secret"])
            assert word is not None
            await asyncio.gather(
                live[0].send(kind="chat", space="s", channel=channel, user="w1", text=word.en, event_id=f"{channel}-a"),
                live[1].send(kind="chat", space="s", channel=channel, user="w2", text=word.en, event_id=f"{channel}-b"),
                live[1].send(kind="chat", space="s", channel=channel, user="w1", text=word.en, event_id=f"{channel}-a"),
            )
        # c2, c3 (drawing) and c4, c5 (dialect) run out of time; worker 0's rounds among them are finished
        # by the others once their timers fall due.

        async def all_closed() -> bool:
            return await conn.fetchval("SELECT count(*) FROM rounds WHERE status = 'open'") == 0

        await wait_for(all_closed, 40, "every round to close")
        await asyncio.sleep(1.0)  # the closers' announcements reach stdout

        statuses = {r["channel"]: r["status"] for r in await conn.fetch("SELECT channel, status FROM rounds")}
        assert statuses["c0"] == statuses["c1"] == "won"
        assert statuses["c2"] == statuses["c3"] == "timeout"
        ledger = await conn.fetch("SELECT round_id, user_id, reason, points FROM ledger")
        per_round = Counter((r["round_id"], r["reason"]) for r in ledger if r["reason"] in ("guess", "drawer"))
        assert all(count == 1 for count in per_round.values()), per_round  # one winner, one drawer award
        assert len({(r["round_id"], r["user_id"], r["reason"]) for r in ledger}) == len(ledger)  # no point twice
        assert len(p9_acked()) == 1  # the resent answer was handled by one process only

        results = [(w, rec) for w, rec in seen if rec["reply"]["type"] == "RoundResult"]
        announced = Counter(rec["reply"]["round_id"] for _, rec in results)
        assert announced == {r["id"]: 1 for r in rounds.values()}, announced  # every round announced once
        assert all(w != 0 for w, _ in results)  # the dead process announced nothing after its death
        for _, rec in results:  # every announced winner's points are in the ledger
            for line in rec["reply"]["lines"]:
                if line["points"] and rec["reply"]["game"] == "drawing":
                    assert any(r["round_id"] == rec["reply"]["round_id"] and r["points"] for r in ledger)
        hints = Counter(rec["channel"] for _, rec in seen if "Hint" in (rec["reply"].get("text") or ""))
        assert hints["c2"] == 1 and hints["c3"] == 1  # each hint fired exactly once
        outbox_left = await conn.fetchval("SELECT count(*) FROM outbox WHERE announced_at IS NULL")
        assert outbox_left == 0
    finally:
        if conn is not None:
            await conn.close()
        for w in workers:
            if w.proc.returncode is None:
                assert w.proc.stdin is not None
                w.proc.stdin.close()
                try:
                    async with asyncio.timeout(10):
                        await w.proc.wait()
                except TimeoutError:
                    w.proc.kill()
            w.reader.cancel()


@pytest.mark.timeout(60)
async def test_a_result_committed_but_not_delivered_is_announced_after_a_restart_exactly_once(
    tmp_path: Path,
) -> None:
    db_path = str(tmp_path / "outbox.db")
    seen: list[tuple[int, dict[str, Any]]] = []
    stuck = await start_worker(0, db_path, seen, "--hold-results")

    def status() -> str | None:
        with sqlite3.connect(db_path) as conn:
            row = conn.execute("SELECT status FROM rounds").fetchone()
        return row[0] if row else None

    try:
        async with asyncio.timeout(30):
            await stuck.ready.wait()
        await stuck.send(kind="command", space="s", channel="c", user="drawer", name="draw")
        await wait_for(lambda: asyncio.to_thread(lambda: status() == "open"), 10, "the round to open")
        with sqlite3.connect(db_path) as conn:
            (secret,) = conn.execute("SELECT secret FROM rounds").fetchone()
        word = default_bank().get(secret)
        assert word is not None
        await stuck.send(kind="chat", space="s", channel="c", user="bob", text=word.en)
        # The points are committed; the platform hangs on the announcement; the process dies.
        await wait_for(lambda: asyncio.to_thread(lambda: status() == "won"), 10, "the winning guess to commit")
        stuck.proc.send_signal(signal.SIGKILL)
        await stuck.proc.wait()
        assert not [rec for _, rec in seen if rec["reply"]["type"] == "RoundResult"]

        for index in (1, 2):  # the next start announces it; the one after that has nothing left to say
            worker = await start_worker(index, db_path, seen)
            async with asyncio.timeout(30):
                await worker.ready.wait()
            await asyncio.sleep(0.5)
            assert worker.proc.stdin is not None
            worker.proc.stdin.close()
            await worker.proc.wait()
            await worker.reader
        results = [(w, rec["reply"]) for w, rec in seen if rec["reply"]["type"] == "RoundResult"]
        assert [w for w, _ in results] == [1], results
        assert "bob got it" in results[0][1]["text"] and word.en in results[0][1]["text"]
        with sqlite3.connect(db_path) as conn:
            points = conn.execute("SELECT user_id, points FROM ledger ORDER BY id").fetchall()
            pending = conn.execute("SELECT count(*) FROM outbox WHERE announced_at IS NULL").fetchone()[0]
        assert [u for u, _ in points] == ["bob", "drawer"] and pending == 0
    finally:
        if stuck.proc.returncode is None:
            stuck.proc.kill()
        stuck.reader.cancel()
