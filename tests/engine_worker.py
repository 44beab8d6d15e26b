"""One engine process for multi-process tests: JSON events on stdin, JSON replies on stdout.

Run: python -m tests.engine_worker --database-url URL|PATH [--draw-seconds N] [--dialect-seconds N] [--tick S]
[--hold-results]

Each stdin line is an event: ``{"kind": "command"|"chat", "space", "channel", "user", "name"|"text",
"args": [...], "event_id"}``. Each stdout line is one reply, immediate (an answer to an event) or later
(a hint, a time-out, the AI's answer): ``{"pid", "space", "channel", "immediate", "reply": {...}}``,
the reply as :func:`bot.replies.to_record` makes it. ``{"ready": pid}`` comes first.
This is a test harness, not an adapter: it is how a test sprays one crowd at several processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from bot.config import load_settings
from bot.engine import Engine
from bot.events import ChatMessage, Command, Event, Origin
from bot.replies import Reply, RoundResult, to_record
from storage import open_database


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


class StdoutTransport:
    def __init__(self, hold_results: bool = False) -> None:
        # A platform that hangs while a result is being posted: the test kills the process meanwhile.
        self.hold_results = hold_results

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        if self.hold_results and any(isinstance(r, RoundResult) for r in replies):
            await asyncio.Event().wait()
        for reply in replies:
            emit(
                {"pid": os.getpid(), "space": space, "channel": channel, "immediate": False, "reply": to_record(reply)}
            )


def event_of(line: dict[str, Any]) -> Event:
    origin = Origin(line["space"], line["channel"], line["user"], line.get("display", line["user"]))
    if line["kind"] == "command":
        return Command(origin, line["name"], tuple(line.get("args", ())), event_id=line.get("event_id"))
    return ChatMessage(origin, line["text"], event_id=line.get("event_id"))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--draw-seconds", type=int, default=6)
    parser.add_argument("--dialect-seconds", type=int, default=4)
    parser.add_argument("--tick", type=float, default=0.2)
    parser.add_argument("--hold-results", action="store_true", help="never finish delivering a round's result")
    args = parser.parse_args()
    where = {"database_url": args.database_url} if "://" in args.database_url else {"db_path": args.database_url}
    settings = load_settings(
        None,
        **where,
        draw_seconds=args.draw_seconds,
        dialect_seconds=args.dialect_seconds,
        guess_limit=0,
        locale="en",
    )
    db = await open_database(settings)
    engine = Engine(settings, db, transport=StdoutTransport(args.hold_results), tick_interval=args.tick)
    await engine.start()
    emit({"ready": os.getpid()})
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            event = event_of(json.loads(line))
            for reply in await engine.handle(event):
                emit(
                    {
                        "pid": os.getpid(),
                        "space": event.origin.space,
                        "channel": event.origin.channel,
                        "immediate": True,
                        "reply": to_record(reply),
                    }
                )
        await engine.idle()
    finally:
        await engine.stop()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
