"""The game engine: turns neutral events into replies, one channel at a time.

Adapters call :meth:`Engine.handle` for every event and get the immediate
replies back; anything that happens later (a hint, a time-out, the AI's answer)
reaches the channel through the adapter's :class:`Transport`.

Concurrency rules, decided here and nowhere else:
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
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from bot import i18n
from bot.config import Settings
from bot.dialect.bank import DialectBank, DialectItem
from bot.dialect.bank import default_bank as default_sentences
from bot.errors import UserError
from bot.events import ChatMessage, Command, Event, ImageUpload, Origin
from bot.games.dialect import DialectGame
from bot.games.drawing import DrawingGame
from bot.info import InfoCommands
from bot.judge import Judge
from bot.locks import KeyedLocks
from bot.periods import day_bounds
from bot.replies import AdminNotice, Reply, Say
from bot.rounds import ActiveRound, Space
from bot.safety import neutralise
from bot.words import Word, WordBank
from bot.words import default_bank as default_words
from storage import Award, Database

if TYPE_CHECKING:
    from bot.ai.players import ModelAnswer, ModelGateway

log = logging.getLogger("catchbot.engine")


class Transport(Protocol):
    """How the engine speaks up on its own (hints, time-outs, AI answers)."""

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None: ...


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
        self.settings = settings
        self.db = db
        self.transport = transport
        self.gateway = gateway
        self.clock = clock
        self.rng = rng or random.Random()
        self.words = words or default_words()
        self._sentences = sentences
        self.tick_interval = tick_interval
        self.locks = KeyedLocks()
        self.rounds: dict[tuple[str, str], ActiveRound] = {}
        self.drawing = DrawingGame(self)
        self.dialect = DialectGame(self)
        self.info = InfoCommands(self)
        self._banks: dict[str, tuple[WordBank, Judge]] = {}
        self._default_judge: Judge | None = None
        self._sentence_banks: dict[str, DialectBank] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._notices: list[tuple[str, str]] = []
        self._names: dict[tuple[str, str], str] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._commands: dict[str, Callable[[Command, Space], Awaitable[list[Reply]]]] = {}
        for names, handler in (
            (("help", "도움말", "도움"), self.info.help),
            (("draw", "그림", "그리기"), self.drawing.start),
            (("dialect", "사투리", "방언"), self.dialect.start),
            (("skip", "넘기기", "스킵"), self.skip),
            (("leaderboard", "lb", "top", "순위", "랭킹"), self.info.leaderboard),
            (("stats", "전적", "통계"), self.info.stats),
            (("model", "models", "모델"), self.info.model),
            (("usage", "사용량"), self.info.usage),
            (("config", "설정"), self.info.config),
            (("word", "words", "단어"), self.info.word),
        ):
            for name in names:
                self._commands[name] = handler

    # --- lifecycle ------------------------------------------------------
    async def start(self) -> None:
        await self.recover()
        self._ticker = asyncio.create_task(self._tick_loop(), name="catchbot-ticker")

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until background work (model calls) has finished; for scripts and tests."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def recover(self) -> None:
        """Resume rounds that were open when the bot stopped, or close them with the answer shown."""
        now = self.clock()
        for row in await self.db.open_rounds():
            game = self.game(row.game)
            async with self.locks.hold((row.space, row.channel)):
                if row.ends_at > now + 1:
                    active = await game.revive(row)
                    if active is not None:
                        self.rounds[active.key] = active
                        space = await self.space(row.space)
                        note = self.t(
                            space,
                            "core.round_resumed",
                            game=self.t(space, f"core.game_{row.game}"),
                            left=active.left(now),
                        )
                        await self.deliver(active.key, [Say(note)])
                        continue
                await self.deliver((row.space, row.channel), await game.expire(row, now))

    # --- events ---------------------------------------------------------
    async def handle(self, event: Event) -> list[Reply]:
        origin = event.origin
        if not isinstance(event, Command) and origin.channel_key not in self.rounds:
            # Most chat in a busy server happens outside rounds: answer it without touching the database.
            return []
        space = await self.space(origin.space)
        try:
            if event.event_id and not await self.db.first_sighting(event.event_id, self.clock()):
                return []
            await self._remember_name(origin)
            if isinstance(event, Command):
                return await self._command(event, space)
            if isinstance(event, ImageUpload):
                return await self.drawing.upload(event, space)
            if isinstance(event, ChatMessage):
                return await self._chat(event, space)
        except UserError as exc:
            return [Say(exc.message(space.locale))]
        except Exception:
            log.exception("failed to handle %s in %s/%s", type(event).__name__, origin.space, origin.channel)
            return [Say(self.t(space, "core.internal_error"))]
        return []

    async def _remember_name(self, origin: Origin) -> None:
        """Keep display names for boards; written only when a name is new or changed."""
        key = (origin.space, origin.user)
        if self._names.get(key) != origin.display_name:
            await self.db.upsert_player(origin.space, origin.user, origin.display_name)
            if len(self._names) > 100_000:
                self._names.clear()
            self._names[key] = origin.display_name

    async def _command(self, command: Command, space: Space) -> list[Reply]:
        handler = self._commands.get(command.name.strip().lower().lstrip("/!"))
        if handler is None:
            return [Say(self.t(space, "core.unknown_command", name=neutralise(command.name, limit=30)))]
        return await handler(command, space)

    async def _chat(self, message: ChatMessage, space: Space) -> list[Reply]:
        active = self.rounds.get(message.origin.channel_key)
        if active is None or not message.text.strip():
            return []
        if active.game == "drawing":
            return await self.drawing.guess(message, space)
        return await self.dialect.answer(message, space)

    async def skip(self, command: Command, space: Space) -> list[Reply]:
        origin = command.origin
        async with self.locks.hold(origin.channel_key):
            active = self.rounds.get(origin.channel_key)
            if active is None:
                return [Say(self.t(space, "core.no_round"))]
            if origin.user != active.starter and not self.is_admin(origin):
                return [Say(self.t(space, "core.skip_not_allowed", name=active.starter_name))]
            game = self.game(active.game)
            return await game.finish(active, status="skipped", by=origin.display_name)

    # --- timers ---------------------------------------------------------
    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            try:
                await self.tick()
            except Exception:
                log.exception("timer tick failed")

    async def tick(self) -> None:
        """Send due hints and close rounds whose time is up."""
        now = self.clock()
        for key, active in list(self.rounds.items()):
            game = self.game(active.game)
            if not game.due(active, now):
                continue
            async with self.locks.hold(key):
                if self.rounds.get(key) is not active or active.closed:
                    continue
                replies = await game.on_time(active, self.clock())
            await self.deliver(key, replies)

    # --- helpers for the games -----------------------------------------
    def game(self, name: str) -> DrawingGame | DialectGame:
        return self.drawing if name == "drawing" else self.dialect

    @property
    def ai_enabled(self) -> bool:
        return self.gateway is not None and self.gateway.enabled

    def running_notice(self, active: ActiveRound, space: Space) -> Say:
        """What a second start command hears: which round runs, who started it, how long is left."""
        return Say(
            self.t(
                space,
                "core.round_running",
                game=self.t(space, f"core.game_{active.game}"),
                starter=neutralise(active.starter_name, 40),
                left=active.left(self.clock()),
            )
        )

    async def space(self, space_id: str) -> Space:
        values = await self.db.settings_for(space_id)
        locale = values.get("locale") or self.settings.locale
        zone_name = values.get("timezone")
        zone = self.settings.zone
        if zone_name:
            try:
                zone = ZoneInfo(zone_name)
            except (KeyError, ValueError):
                pass
        return Space(space_id, locale, zone, values)

    def t(self, space: Space | str, key: str, /, **params: Any) -> str:
        locale = space.locale if isinstance(space, Space) else space
        return i18n.text(locale, key, **params)

    def is_admin(self, origin: Origin) -> bool:
        return origin.is_admin or origin.user in self.settings.admin_ids

    async def bank(self, space_id: str) -> tuple[WordBank, Judge]:
        cached = self._banks.get(space_id)
        if cached is None:
            extra = [Word.from_dict(d) for d in await self.db.custom_entries("custom_words", space_id)]
            bank = self.words.with_extra(extra) if extra else self.words
            cached = (bank, self._judge_for(bank))
            self._banks[space_id] = cached
        return cached

    def _judge_for(self, bank: WordBank) -> Judge:
        # Spaces without words of their own share one judge over the shipped bank.
        if bank is not self.words:
            return Judge(bank)
        if self._default_judge is None:
            self._default_judge = Judge(bank)
        return self._default_judge

    def forget_bank(self, space_id: str) -> None:
        self._banks.pop(space_id, None)
        self._sentence_banks.pop(space_id, None)

    async def sentence_bank(self, space_id: str) -> DialectBank:
        cached = self._sentence_banks.get(space_id)
        if cached is None:
            base = self._sentences or default_sentences()  # loaded on first use: start-up stays fast
            extra = [DialectItem.from_dict(d) for d in await self.db.custom_entries("custom_dialect", space_id)]
            cached = base.with_extra(extra) if extra else base
            self._sentence_banks[space_id] = cached
        return cached

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def deliver(self, key: tuple[str, str], replies: Sequence[Reply]) -> None:
        if not replies:
            return
        try:
            await self.transport.deliver(key[0], key[1], replies)
        except Exception:
            log.exception("could not deliver %d replies to %s/%s", len(replies), *key)

    async def open_round(
        self,
        origin: Origin,
        space: Space,
        game: str,
        *,
        secret: str,
        seconds: int,
        payload: dict[str, Any],
        word: Word | None = None,
        item: DialectItem | None = None,
    ) -> ActiveRound:
        """Record a new round and make it the channel's (caller holds the channel lock).

        Raises :class:`storage.RoundAlreadyOpen` when another process opened one first.
        """
        now = self.clock()
        payload = {"starter_name": origin.display_name, **payload}
        round_id = await self.db.open_round(
            space=space.id,
            channel=origin.channel,
            game=game,
            starter=origin.user,
            secret=secret,
            locale=space.locale,
            payload=payload,
            started_at=now,
            ends_at=now + seconds,
        )
        active = ActiveRound(
            id=round_id,
            game=game,
            space=space.id,
            channel=origin.channel,
            starter=origin.user,
            starter_name=origin.display_name,
            locale=space.locale,
            started_at=now,
            ends_at=now + seconds,
            payload=payload,
            word=word,
            item=item,
        )
        self.rounds[active.key] = active
        return active

    async def close(
        self, active: ActiveRound, *, status: str, winner: str | None = None, awards: Sequence[Award] = ()
    ) -> bool:
        """Close the round and write its points in one transaction (caller holds the channel lock)."""
        closed = await self.db.close_round(
            active.id, status=status, closed_at=self.clock(), winner=winner, awards=awards
        )
        active.closed = True
        if self.rounds.get(active.key) is active:
            del self.rounds[active.key]
        return closed

    async def save_payload(self, active: ActiveRound) -> None:
        await self.db.update_round(active.id, payload=active.payload)

    # --- the AI players ------------------------------------------------
    async def ai_budget_left(self, space: Space) -> bool:
        start, end = day_bounds(self.clock(), space.zone)
        used = await self.db.usage_summary(space.id, start, end)
        return used.calls < self.settings.daily_call_budget and used.cost_usd < self.settings.daily_cost_budget

    async def after_model_call(self, space: Space, game: str, answer: ModelAnswer) -> None:
        """Count the call and, once per space and model, tell admins a model was retired."""
        await self.db.record_usage(space.id, game, answer, at=self.clock())
        if answer.retired_model:
            key = f"notified.retired.{answer.retired_model}"
            if await self.db.get_setting(space.id, key) is None:
                await self.db.set_setting(space.id, key, str(int(self.clock())))
                note = self.t(space, "core.model_retired", model=answer.retired_model, fallback=answer.model, game=game)
                self._notices.append((space.id, note))

    def take_admin_notices(self, space_id: str) -> list[Reply]:
        """Admin notices raised by model calls, handed to the game that made the call."""
        mine = [n for n in self._notices if n[0] == space_id]
        self._notices[:] = [n for n in self._notices if n[0] != space_id]
        return [AdminNotice(text) for _, text in mine]
