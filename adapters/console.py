"""The console adapter: play in a terminal, or script a whole game through a pipe.

Lines starting with ``/`` are commands (``/draw``, ``/dialect jeju``, ``/leaderboard``),
other lines are chat. Console-only commands:

- ``/upload PATH``: the current player uploads an image file;
- ``/as NAME``: switch the current player (so one person can try a multi-player round);
- ``/channel NAME``: switch channel (one round per channel, several at once);
- ``/wait SECONDS``: pause the script (time-outs and hints keep running);
- ``/quit``: leave (end of input does the same).
"""

from __future__ import annotations

import asyncio
import mimetypes
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.engine import Engine
from bot.events import ChatMessage, Command, ImageUpload, Origin
from bot.replies import (
    Ack,
    AdminNotice,
    Leaderboard,
    Picture,
    Quiet,
    Reply,
    RoundResult,
    RoundStarted,
    Say,
    StatsCard,
    Thinking,
    Whisper,
)

SPACE = "console"


class ConsoleTransport:
    """Prints replies; also the engine's transport for replies that come later."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.names: dict[str, str] = {}

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        self.show(channel, replies)

    def show(self, channel: str, replies: Sequence[Reply]) -> None:
        for reply in replies:
            prefix = f"[#{channel}]" if channel != "main" else ""
            if isinstance(reply, Whisper):
                line = f"[private to {self.names.get(reply.user, reply.user)}] {reply.text}"
            elif isinstance(reply, Ack):
                line = f"  ✓ {self.names.get(reply.user, reply.user)}: {reply.text}"
            elif isinstance(reply, AdminNotice):
                line = f"[admins] {reply.text}"
            elif isinstance(reply, Quiet):
                # Chat platforms stay quiet here; the one person at the console hears why.
                line = f"  ({reply.text})"
            elif isinstance(reply, Picture):
                line = f"[image {reply.filename}] {reply.text}"
            elif isinstance(reply, Thinking):
                continue
            elif isinstance(reply, Say | RoundStarted | RoundResult | Leaderboard | StatsCard):
                line = reply.text
            else:  # pragma: no cover - every reply type is handled above
                line = str(reply)
            print(f"{prefix}{line}", file=self.out, flush=True)


class Console:
    def __init__(
        self, engine: Engine, transport: ConsoleTransport, *, user: str = "player", channel: str = "main"
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.user = user
        self.channel = channel

    def origin(self) -> Origin:
        # The console is a single trusted operator: every player there is an admin.
        self.transport.names[self.user] = self.user
        return Origin(SPACE, self.channel, self.user, self.user, is_admin=True)

    def say(self, text: str) -> None:
        print(text, file=self.transport.out, flush=True)

    async def line(self, raw: str) -> bool:
        """Handle one input line; False when the player wants to leave."""
        text = raw.strip()
        if not text:
            return True
        if not text.startswith("/"):
            replies = await self.engine.handle(ChatMessage(self.origin(), text))
            self.transport.show(self.channel, replies)
            return True
        try:
            parts = shlex.split(text[1:])
        except ValueError:
            parts = text[1:].split()
        if not parts:
            return True
        name, args = parts[0].lower(), parts[1:]
        if name in ("quit", "exit", "q"):
            return False
        if name == "as":
            if not args:
                self.say("usage: /as NAME")
            else:
                self.user = " ".join(args)[:40]
                self.say(f"(you are now {self.user})")
            return True
        if name == "channel":
            self.channel = (args[0] if args else "main")[:40]
            self.say(f"(now in #{self.channel})")
            return True
        if name == "wait":
            await self._wait(args)
            return True
        if name == "upload":
            await self._upload(" ".join(args))
            return True
        replies = await self.engine.handle(Command(self.origin(), name, tuple(args)))
        self.transport.show(self.channel, replies)
        return True

    async def _wait(self, args: list[str]) -> None:
        try:
            seconds = float(args[0]) if args else 1.0
        except ValueError:
            self.say("usage: /wait SECONDS")
            return
        await asyncio.sleep(max(0.0, min(seconds, 3600.0)))
        await self.engine.idle()

    async def _upload(self, path_text: str) -> None:
        if not path_text:
            self.say("usage: /upload PATH")
            return
        path = Path(path_text)
        try:
            data = await asyncio.to_thread(_read_limited, path, self.engine.settings.upload_max_bytes)
        except OSError as exc:
            self.say(f"cannot read {path}: {exc.strerror or exc}")
            return
        content_type = mimetypes.guess_type(path.name)[0]
        replies = await self.engine.handle(ImageUpload(self.origin(), data, path.name, content_type))
        self.transport.show(self.channel, replies)

    async def run(self, stdin: TextIO | None = None) -> None:
        source = stdin or sys.stdin
        interactive = source.isatty()
        if interactive:
            self.say("catchbot console: /help for commands, /upload PATH, /as NAME, /quit to leave.")
        while True:
            raw = await asyncio.to_thread(source.readline)
            if not raw:
                break
            if not interactive:
                self.say(f"{self.user}> {raw.rstrip()}")
            if not await self.line(raw):
                break
        await self.engine.idle()


def _read_limited(path: Path, limit: int) -> bytes:
    # One byte past the limit is enough for the core to say "too big"; never read gigabytes.
    with path.expanduser().open("rb") as handle:
        return handle.read(limit + 1)
