"""The game engine: routes neutral events to the games, one channel at a time.

Adapters call :meth:`Engine.handle` for every event and get the immediate
replies back; anything that happens later (a hint, a time-out, the AI's answer)
reaches the channel through the adapter's :class:`Transport`.

Concurrency rules, decided here and in :mod:`bot.services` and nowhere else:
- every change to a channel's round happens under that channel's lock
  (:class:`bot.locks.KeyedLocks`), so events for one channel apply in order;
- model calls and image decoding run outside the lock; their results are
  applied only if the same round is still open (checked again under the lock);
- closing a round and writing its points is one database transaction guarded
  by ``status = 'open'``, so a round has at most one winner even across processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.commands import COMMANDS, lookup
from bot.config import Settings
from bot.dialect.bank import DialectBank
from bot.errors import AdminOnly, UserError
from bot.events import ChatMessage, Command, Event, ImageUpload, Origin, SecretUndelivered
from bot.games.dialect import DialectGame
from bot.games.drawing import DrawingGame
from bot.identity import as_human
from bot.info import InfoCommands
from bot.judge import Judge
from bot.replies import Reply, Say, Whisper
from bot.rounds import ActiveRound, Space
from bot.safety import neutralise
from bot.services import GameServices, Transport
from bot.words import WordBank
from bot.words import default_bank as default_words
from storage import SPACE_NAME, Database

if TYPE_CHECKING:
    from bot.ai.players import ModelGateway

__all__ = ["Engine", "Transport"]

log = logging.getLogger("catchbot.engine")

HEARTBEAT_EVERY = 5.0  # seconds between a process's reports in the database
SILENT_AFTER = 15.0  # a process not heard from for this long has stopped: its rounds pass to the others
SWEEP_EVERY = 5.0  # seconds between looks for results that were committed but not announced
STALE_AFTER = 30.0  # how old such a result must be before another process than its closer sends it


class Engine:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        transport: Transport,
        gateway: ModelGateway | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        words: WordBank | None = None,
        sentences: DialectBank | None = None,
        tick_interval: float = 0.5,
    ) -> None:
        self.services = GameServices(
            settings,
            db,
            transport=transport,
            gateway=gateway,
            clock=clock,
            rng=rng or random.Random(),
            words=words or default_words(),
            sentences=sentences,
        )
        self.tick_interval = tick_interval
        self.drawing = DrawingGame(self.services)
        self.dialect = DialectGame(self.services)
        self.info = InfoCommands(self.services)
        self._names: dict[tuple[str, str], str] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._listener: Any = None
        # PostgreSQL is shared by several bot processes; a SQLite file belongs to one.
        self.shared = getattr(db, "backend", "sqlite") == "postgresql"
        self.started_at = 0.0
        self._next_heartbeat = 0.0
        self._next_sweep = 0.0
        handlers: dict[str, Callable[[Command, Space], Awaitable[list[Reply]]]] = {
            "help": self.info.help,
            "draw": self.drawing.start,
            "dialect": self.dialect.start,
            "skip": self.skip,
            "hint": self.drawing.hint,
            "secret": self.drawing.secret,
            "leaderboard": self.info.leaderboard,
            "stats": self.info.stats,
            "model": self.info.model,
            "usage": self.info.usage,
            "config": self.info.config,
            "word": self.info.word,
        }
        assert set(handlers) == {spec.name for spec in COMMANDS}, "every catalogued command has a handler"
        self._handlers = handlers

    # Read-only views for adapters, scripts and tests.
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def gateway(self) -> ModelGateway | None:
        return self.services.gateway

    @property
    def rounds(self) -> dict[tuple[str, str], ActiveRound]:
        return self.services.rounds

    async def bank(self, space_id: str) -> tuple[WordBank, Judge]:
        return await self.services.bank(space_id)

    async def sentence_bank(self, space_id: str) -> DialectBank:
        return await self.services.sentence_bank(space_id)

    async def space(self, space_id: str, hint: str | None = None) -> Space:
        return await self.services.space(space_id, hint)

    # --- lifecycle ------------------------------------------------------
    async def start(self) -> None:
        services = self.services
        self.started_at = services.clock()
        await self._heartbeat(self.started_at)
        if self.shared:
            # Another process changed a space's settings or words: read them again on next use.
            self._listener = await services.db.listen_settings(services.forget_space)
        await self.recover()
        self._ticker = asyncio.create_task(self._tick_loop(), name="catchbot-ticker")

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()
        await self.services.cancel_tasks()

    async def idle(self) -> None:
        """Wait until background work (model calls) has finished; for scripts and tests."""
        await self.services.idle()

    def game(self, name: str) -> DrawingGame | DialectGame:
        return self.drawing if name == "drawing" else self.dialect

    async def recover(self) -> None:
        """Pick up the rounds that are open in the database.

        One process (SQLite): every open round was this bot's before it stopped; it goes on (the
        channel hears so, the drawer gets the word again) or, if its time ran out meanwhile, closes
        with the answer shown, and results committed but never announced are announced now.
        Several processes (PostgreSQL): the others are still playing their rounds, so this process
        only learns them; hints and time-outs fire from the database's timers wherever they fall due.
        """
        services = self.services
        now = services.clock()
        if self.shared:
            await self._sync(now)
            return
        for row in await services.db.open_rounds():
            game = self.game(row.game)
            async with services.locks.hold((row.space, row.channel)):
                if row.ends_at > now + 1:
                    active = await game.revive(row)
                    if active is not None:
                        services.rounds[active.key] = active
                        for kind, after in game.timer_offsets(row.ends_at - row.started_at).items():
                            await services.db.ensure_timer(row.id, kind, row.started_at + after)
                        await services.deliver(active.key, await game.resumed(active, now))
                        continue
                await game.expire(row, now)
        await services.announce_pending(before=self.started_at, claim_first=False)

    # --- events ---------------------------------------------------------
    async def handle(self, event: Event) -> list[Reply]:
        event = as_human(event)  # nobody but the core speaks as the AI
        services, origin = self.services, event.origin
        if isinstance(event, ChatMessage | ImageUpload) and origin.channel_key not in services.rounds:
            # Most chat in a busy server happens outside rounds: answer it without touching the database.
            return await self.drawing.outside_round(event) if isinstance(event, ImageUpload) else []
        space = await services.space(origin.space, origin.locale)
        if not event.event_id:
            return await self._handle_claimed(event, space)
        now = services.clock()
        try:
            # Claimed by this process; a resend is ignored, unless the claimer died before it was done.
            claimed = await services.db.first_sighting(
                event.event_id, now, process=services.process_id, silent_since=now - SILENT_AFTER
            )
        except Exception:
            log.exception("could not claim event %s in %s/%s", event.event_id, origin.space, origin.channel)
            return [Say(services.t(space, "core.internal_error"))]
        if not claimed:
            return []
        try:
            return await self._handle_claimed(event, space)
        finally:
            try:
                await services.db.event_done(event.event_id)
            except Exception:  # a resend may then be handled again by another process once this one stops
                log.exception("could not mark event %s done", event.event_id)

    async def _handle_claimed(self, event: Event, space: Space) -> list[Reply]:
        services, origin = self.services, event.origin
        try:
            await self._remember_name(origin)
            if origin.space_name and space.values.get(SPACE_NAME) != origin.space_name[:100]:
                await services.set_setting(origin.space, SPACE_NAME, origin.space_name[:100])
            if isinstance(event, Command):
                return await self._command(event, space)
            if isinstance(event, ImageUpload):
                return await self.drawing.upload(event, space)
            if isinstance(event, ChatMessage):
                return await self._chat(event, space)
            if isinstance(event, SecretUndelivered):
                return await self.drawing.secret_undelivered(event, space)
        except AdminOnly as exc:
            return [Whisper(origin.user, exc.message(space.locale))]
        except UserError as exc:
            return [Say(exc.message(space.locale))]
        except Exception:
            log.exception("failed to handle %s in %s/%s", type(event).__name__, origin.space, origin.channel)
            return [Say(services.t(space, "core.internal_error"))]
        return []

    async def _remember_name(self, origin: Origin) -> None:
        """Keep display names for boards; written only when a name is new or changed."""
        key = (origin.space, origin.user)
        if self._names.get(key) != origin.display_name:
            if len(self._names) > 100_000:
                self._names.clear()
            # Noted before the write: a burst of events from one player writes the name once.
            self._names[key] = origin.display_name
            await self.services.db.upsert_player(origin.space, origin.user, origin.display_name)

    async def _command(self, command: Command, space: Space) -> list[Reply]:
        spec = lookup(command.name)
        if spec is None:
            return [Say(self.services.t(space, "core.unknown_command", name=neutralise(command.name, limit=30)))]
        return await self._handlers[spec.name](command, space)

    async def _chat(self, message: ChatMessage, space: Space) -> list[Reply]:
        active = self.services.rounds.get(message.origin.channel_key)
        if active is None or not message.text.strip():
            return []
        if active.game == "drawing":
            return await self.drawing.guess(message, space)
        return await self.dialect.answer(message, space)

    async def skip(self, command: Command, space: Space) -> list[Reply]:
        services, origin = self.services, command.origin
        async with services.locks.hold(origin.channel_key):
            active = services.rounds.get(origin.channel_key)
            if active is None:
                return [Say(services.t(space, "core.no_round"))]
            if origin.user != active.starter and not services.is_admin(origin):
                return [
                    Whisper(
                        origin.user,
                        services.t(space, "core.skip_not_allowed", name=neutralise(active.starter_name, 40)),
                    )
                ]
            return await self.game(active.game).finish(active, status="skipped", by=origin.display_name)

    # --- timers ---------------------------------------------------------
    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                await self.tick()
            except Exception:
                log.exception("timer tick failed")

    async def tick(self) -> None:
        """Fire the hints and time-outs that are due, and announce results that are still waiting."""
        services = self.services
        now = services.clock()
        if now >= self._next_heartbeat:
            await self._heartbeat(now)
        if self.shared:
            if self._listener is not None:
                await self._listener.keep_alive()
            await self._sync(now)
        for timer in await services.db.claim_due_timers(services.process_id, now):
            try:
                await self._fire(timer.round_id, timer.kind)
            except Exception:
                log.exception("timer %s of round %d failed", timer.kind, timer.round_id)
            await services.db.finish_timer(timer.id, services.process_id, services.clock())
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            # A result its closer could not deliver; with several processes, only one that is surely stale.
            before = now - STALE_AFTER if self.shared else max(self.started_at, now - STALE_AFTER)
            await services.announce_pending(before=before, claim_first=self.shared)

    async def _fire(self, round_id: int, kind: str) -> None:
        services = self.services
        row = await services.db.get_round(round_id)
        if row is None or row.status != "open":
            return
        game, key = self.game(row.game), (row.space, row.channel)
        async with services.locks.hold(key):
            active = services.rounds.get(key)
            if active is None or active.id != row.id:
                active = await game.revive(row)
                if active is None:  # its word or sentence is gone from the bank
                    await game.expire(row, services.clock())
                    return
                services.rounds[key] = active
            else:
                # Another process may have changed it (an upload, an early hint, the AI's answer).
                active.payload = row.payload
            replies = await game.on_timer(active, kind, services.clock())
        await services.deliver(key, replies)

    async def _heartbeat(self, now: float) -> None:
        services = self.services
        self._next_heartbeat = now + HEARTBEAT_EVERY
        await services.db.heartbeat(
            services.process_id, host=socket.gethostname(), pid=os.getpid(), started_at=self.started_at, at=now
        )
        if self.shared:
            # The rounds of a process that stopped reporting are this one's to hold now (db status shows it).
            await services.db.take_over_rounds(services.process_id, now - SILENT_AFTER)

    async def _sync(self, now: float) -> None:
        """Several processes: learn rounds the others opened and forget those they closed."""
        services = self.services
        rows = await services.db.open_rounds()
        open_ids = {row.id for row in rows}
        for key, active in list(services.rounds.items()):
            # A round this process opened during the query is not in it yet: leave the newest alone.
            if active.id not in open_ids and active.started_at < now - 1:
                active.closed = True
                del services.rounds[key]
        for row in rows:
            key = (row.space, row.channel)
            known = services.rounds.get(key)
            if known is None or known.id != row.id:
                active = await self.game(row.game).revive(row)
                if active is not None:
                    services.rounds[key] = active
