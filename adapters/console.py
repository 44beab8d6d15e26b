"""The console adapter: play in a terminal, or script a whole game through a pipe.

Lines starting with ``/`` are commands (``/draw``, ``/dialect jeju``, ``/leaderboard``),
other lines are chat. Console-only commands:

- ``/upload PATH``: the current player uploads an image file;
- ``/as NAME``: switch the current player (so one person can try a multi-player round);
- ``/channel NAME``: switch channel (one round per channel, several at once);
- ``/wait SECONDS``: pause the script (time-outs and hints keep running);
- ``/quit``: leave (end of input does the same).

The console is one person testing, so nothing passes in silence: where a chat
platform rightly stays quiet (a picture with no round, a guess inside the
cooldown) the core sends a :class:`bot.replies.Quiet` and the console prints it.
In a terminal it shows a prompt with the current player and channel and edits
lines with ``readline`` (history included); from a pipe it echoes each line instead.
Its own words come from ``bot/locales/*/console.json``, in the space's language.
"""

from __future__ import annotations

import asyncio
import errno
import mimetypes
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.engine import Engine
from bot.events import ChatMessage, Command, ImageUpload, Origin
from bot.i18n import text
from bot.identity import RESERVED_PREFIX, looks_like_ai
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
from bot.safety import neutralise

SPACE = "console"
QUIT_WORDS = ("quit", "exit", "q", "나가기", "종료")
NAME_LIMIT = 40


class ConsoleTransport:
    """Prints replies; also the engine's transport for replies that come later."""

    def __init__(self, out: TextIO | None = None, *, locale: str = "en") -> None:
        self.out = out or sys.stdout
        self.locale = locale  # the space's language, for the console's own markers
        self.names: dict[str, str] = {}
        # Set while a terminal prompt waits for input: later replies then redraw the prompt after themselves.
        self.prompt: Any = None

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None:
        self.show(channel, replies, later=True)

    def t(self, key: str, **params: Any) -> str:
        return text(self.locale, f"console.{key}", **params)

    def render(self, channel: str, reply: Reply) -> str | None:
        """One reply as console text (``None``: nothing to show)."""
        if isinstance(reply, Whisper):
            line = f"{self.t('private_to', name=self.names.get(reply.user, reply.user))} {reply.text}"
        elif isinstance(reply, Ack):
            line = f"  ✓ {self.names.get(reply.user, reply.user)}: {reply.text}"
        elif isinstance(reply, AdminNotice):
            line = f"{self.t('admins')} {reply.text}"
        elif isinstance(reply, Quiet):
            # Chat platforms stay quiet here; the one person at the console hears why.
            line = f"  ({reply.text})"
        elif isinstance(reply, Picture):
            line = f"{self.t('image', filename=reply.filename)} {reply.text}"
        elif isinstance(reply, Thinking):
            return None
        elif isinstance(reply, Say | RoundStarted | RoundResult | Leaderboard | StatsCard):
            line = reply.text
        else:  # pragma: no cover - every reply type is handled above
            line = str(reply)
        return f"[#{channel}] {line}" if channel != "main" else line

    def show(self, channel: str, replies: Sequence[Reply], *, later: bool = False) -> None:
        lines = [line for reply in replies if (line := self.render(channel, reply)) is not None]
        if not lines:
            return
        redraw = self.prompt if later else None
        if redraw is not None:
            self.out.write("\r\x1b[K")  # clear the half-typed prompt line; it is drawn again below
        for line in lines:
            print(line, file=self.out, flush=True)
        if redraw is not None:
            redraw()


class Console:
    def __init__(
        self,
        engine: Engine,
        transport: ConsoleTransport,
        *,
        user: str = "player",
        channel: str = "main",
        locale: str | None = None,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.user = user[:NAME_LIMIT]
        self.channel = channel[:NAME_LIMIT]
        # The terminal's language: the platform hint for the core (a space setting or CATCHBOT_LOCALE wins).
        self.locale_hint = locale

    def origin(self) -> Origin:
        # The console is a single trusted operator: every player there is an admin.
        self.transport.names[self.user] = self.user
        return Origin(SPACE, self.channel, self.user, self.user, is_admin=True, locale=self.locale_hint)

    def say(self, line: str) -> None:
        print(line, file=self.transport.out, flush=True)

    def t(self, key: str, **params: Any) -> str:
        return self.transport.t(key, **params)

    async def _refresh_locale(self) -> None:
        """The console's own words follow the space's language (``/config locale`` changes it at once)."""
        self.transport.locale = (await self.engine.space(SPACE, self.locale_hint)).locale

    def prompt_text(self) -> str:
        return f"{self.user} #{self.channel}> "

    async def line(self, raw: str) -> bool:
        """Handle one input line; False when the player wants to leave."""
        stripped = raw.strip()
        if not stripped:
            return True
        await self._refresh_locale()
        if not stripped.startswith("/"):
            replies = await self.engine.handle(ChatMessage(self.origin(), stripped))
            self.transport.show(self.channel, replies)
            return True
        try:
            parts = shlex.split(stripped[1:])
        except ValueError:
            parts = stripped[1:].split()
        if not parts:
            self.say(self.t("empty_command"))
            return True
        name, args = parts[0].lower(), parts[1:]
        if name.startswith(("/", "!")):
            self.say(self.t("double_slash", name=neutralise(parts[0], 30)))
            return True
        if name in QUIT_WORDS:
            return False
        if name == "as":
            self._as(args)
        elif name == "channel":
            self.channel = (args[0] if args else "main")[:NAME_LIMIT]
            self.say(self.t("now_in", channel=self.channel))
        elif name == "wait":
            await self._wait(args)
        elif name == "upload":
            await self._upload(" ".join(args))
        else:
            replies = await self.engine.handle(Command(self.origin(), name, tuple(args)))
            self.transport.show(self.channel, replies)
            if name in ("help", "도움말", "도움") and replies:
                self.say(self.t("help"))
        return True

    def _as(self, args: list[str]) -> None:
        if not args:
            self.say(self.t("as_usage"))
            return
        name = " ".join(args)[:NAME_LIMIT]
        if looks_like_ai(name) or name.startswith(RESERVED_PREFIX):
            # The AI's identity is reserved: nobody at the console plays as it or looks like it.
            self.say(self.t("as_reserved", name=neutralise(name, NAME_LIMIT)))
            return
        self.user = name
        self.say(self.t("now_as", name=self.user))

    async def _wait(self, args: list[str]) -> None:
        try:
            seconds = float(args[0]) if args else 1.0
        except ValueError:
            self.say(self.t("wait_usage", value=neutralise(args[0], 30)))
            return
        await asyncio.sleep(max(0.0, min(seconds, 3600.0)))
        await self.engine.idle()

    async def _upload(self, path_text: str) -> None:
        if not path_text:
            self.say(self.t("upload_usage"))
            return
        path = Path(path_text)
        try:
            data = await asyncio.to_thread(_read_limited, path, self.engine.settings.upload_max_bytes)
        except OSError as exc:
            self.say(self.t("cannot_read", path=path, reason=self._reason(exc)))
            return
        content_type = mimetypes.guess_type(path.name)[0]
        replies = await self.engine.handle(ImageUpload(self.origin(), data, path.name, content_type))
        self.transport.show(self.channel, replies)

    def _reason(self, exc: OSError) -> str:
        """Why a file could not be read, in the console's language for the usual cases."""
        name = errno.errorcode.get(exc.errno or 0, "").lower()
        if name in ("enoent", "eacces", "eisdir"):
            return self.t(f"reason_{name}")
        return exc.strerror or type(exc).__name__

    async def run(self, stdin: TextIO | None = None) -> None:
        source = stdin or sys.stdin
        interactive = source.isatty() and self.transport.out.isatty()
        await self._refresh_locale()
        read = _terminal_reader(self) if interactive else None
        if interactive:
            self.say(self.t("welcome"))
        # Rounds already open were resumed after a restart; the ones opened from now on are this session's.
        resumed = {active.id for (space, _), active in self.engine.rounds.items() if space == SPACE}
        while True:
            if read is not None:
                raw = await read()
            else:
                raw = await asyncio.to_thread(source.readline)
                if raw:
                    self.say(f"{self.user}> {raw.rstrip()}")
            if not raw:
                break
            if not await self.line(raw):
                break
        await self.engine.idle()
        if not interactive:
            await self._close_what_the_script_opened(resumed)

    async def _close_what_the_script_opened(self, resumed: set[int]) -> None:
        """A piped script ends its own rounds (no points), so the same script runs the same way next time.

        In a terminal an open round is left open: the next start resumes it, as after a crash.
        """
        opened = [a for (space, _), a in self.engine.rounds.items() if space == SPACE and a.id not in resumed]
        for active in opened:
            self.say(self.t("closed_at_end", channel=active.channel))
            starter, name = active.starter, active.starter_name
            origin = Origin(SPACE, active.channel, starter, name, is_admin=True, locale=self.locale_hint)
            self.transport.show(active.channel, await self.engine.handle(Command(origin, "skip")))
        await self.engine.idle()


def _terminal_reader(console: Console) -> Any:
    """A line reader for a terminal: a prompt with player and channel, line editing and history (readline)."""
    try:
        import readline  # importing it gives input() line editing and history
    except ImportError:  # pragma: no cover - Windows without pyreadline
        readline = None  # type: ignore[assignment]

    def redraw() -> None:
        typed = readline.get_line_buffer() if readline is not None else ""
        console.transport.out.write(console.prompt_text() + typed)
        console.transport.out.flush()

    async def read() -> str:
        console.transport.prompt = redraw
        try:
            return await asyncio.to_thread(input, console.prompt_text()) + "\n"
        except EOFError:
            console.say("")
            return ""
        finally:
            console.transport.prompt = None

    return read


def _read_limited(path: Path, limit: int) -> bytes:
    # One byte past the limit is enough for the core to say "too big"; never read gigabytes.
    with path.expanduser().open("rb") as handle:
        return handle.read(limit + 1)
