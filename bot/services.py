"""What the games and the info commands may use: the narrow set of services below them.

The engine (routing, locks, lifecycle) builds one :class:`GameServices` and hands
it to each game, so data flows one way, adapter → engine → game → services →
storage, and a game can be read and tested on its own. Nothing here imports a
game or the engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bot import i18n
from bot.config import Settings
from bot.dialect.bank import DialectBank, DialectItem
from bot.dialect.bank import default_bank as default_sentences
from bot.events import Origin
from bot.judge import Judge
from bot.locks import KeyedLocks
from bot.periods import day_bounds, time_zone
from bot.replies import AdminNotice, Reply, RoundResult, Say, from_record, to_record
from bot.rounds import ActiveRound, Space
from bot.safety import neutralise
from bot.words import Word, WordBank
from storage import Award, Database

if TYPE_CHECKING:
    from bot.ai.players import ModelAnswer, ModelGateway

log = logging.getLogger("catchbot.engine")


class Transport(Protocol):
    """How the engine speaks up on its own (hints, time-outs, AI answers)."""

    async def deliver(self, space: str, channel: str, replies: Sequence[Reply]) -> None: ...


class NoRoute(LookupError):
    """A transport has no way to reach that space here (its platform is not connected yet, or not in this process)."""


class Undelivered(RuntimeError):
    """The platform refused or could not take a round's result now (an outage, a permission): try again later."""


class GameServices:
    """Settings, storage, clock, locks, the open rounds, the banks and the AI hooks, shared by the games."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        transport: Transport,
        gateway: ModelGateway | None,
        clock: Callable[[], float],
        rng: random.Random,
        words: WordBank,
        sentences: DialectBank | None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.transport = transport
        self.gateway = gateway
        self.clock = clock
        self.rng = rng
        self.words = words
        self._sentences = sentences
        self.locks = KeyedLocks()
        self.rounds: dict[tuple[str, str], ActiveRound] = {}
        self._banks: dict[str, tuple[WordBank, Judge]] = {}
        self._default_judge: Judge | None = None
        self._sentence_banks: dict[str, DialectBank] = {}
        # A space's own settings, read once and dropped whenever this process changes them.
        self._values: dict[str, dict[str, str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._notices: list[tuple[str, str]] = []
        # Per space: (start of its day, budget left?), dropped whenever this process spends some of it.
        self._budget: dict[str, tuple[float, bool]] = {}
        # Names this process in the database (heartbeats, timer claims, the rounds it holds).
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    # --- spaces and their settings ---------------------------------------
    async def space(self, space_id: str, hint: str | None = None) -> Space:
        """The space's effective settings; ``hint`` is the platform's language tag for this event."""
        values = self._values.get(space_id)
        if values is None:
            values = await self.db.settings_for(space_id)
            if len(self._values) > 50_000:
                self._values.clear()
            self._values[space_id] = values
        locale = values.get("locale") or self.settings.locale or i18n.language_of(hint) or i18n.FALLBACK
        zone = self.settings.zone
        if zone_name := values.get("timezone"):
            zone = time_zone(zone_name) or zone
        return Space(space_id, locale, zone, values)

    async def space_of(self, active: ActiveRound) -> Space:
        """The space as the round's players see it: in the language the round started in."""
        return await self.space(active.space, hint=active.locale)

    async def set_setting(self, space_id: str, key: str, value: str | None) -> None:
        await self.db.set_setting(space_id, key, value)
        self._values.pop(space_id, None)

    def forget_space(self, space_id: str) -> None:
        """Drop what is cached of a space (its settings, its words): another process changed them.

        ``*`` (the settings every space inherits, or changes that may have been missed) drops them all.
        """
        if space_id == "*":
            self._values.clear()
            self._banks.clear()
            self._sentence_banks.clear()
            return
        self._values.pop(space_id, None)
        self.forget_bank(space_id)

    def t(self, space: Space | str, key: str, /, **params: Any) -> str:
        locale = space.locale if isinstance(space, Space) else space
        return i18n.text(locale, key, **params)

    def is_admin(self, origin: Origin) -> bool:
        return origin.is_admin or origin.user in self.settings.admin_ids

    # --- banks --------------------------------------------------------------
    async def bank(self, space_id: str) -> tuple[WordBank, Judge]:
        cached = self._banks.get(space_id)
        if cached is None:
            entries = await self.db.custom_entries("custom_words", space_id)
            # Thousands of custom words take a noticeable time to index: built off the event loop.
            cached = await asyncio.to_thread(self._bank_with, entries)
            self._banks[space_id] = cached
        return cached

    def _bank_with(self, entries: list[dict[str, Any]]) -> tuple[WordBank, Judge]:
        """The shipped bank plus a space's own words, and its judge (blocking: run in a thread)."""
        if not entries:
            # Spaces without words of their own share one judge over the shipped bank.
            if self._default_judge is None:
                self._default_judge = Judge(self.words)
            return self.words, self._default_judge
        bank = self.words.with_extra([Word.from_dict(d) for d in entries])
        return bank, Judge(bank)

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

    # --- background work and delivery ---------------------------------------
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

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def deliver(self, key: tuple[str, str], replies: Sequence[Reply]) -> bool:
        """Send replies through the transport; a round's result counts as announced only once it went out."""
        if not replies:
            return True
        try:
            await self.transport.deliver(key[0], key[1], replies)
        except NoRoute:
            log.debug("no route to %s/%s yet; %d replies wait", *key, len(replies))
            return False
        except Undelivered as exc:
            log.warning("a result for %s/%s was not delivered (%s); the outbox sweep tries again", *key, exc)
            return False
        except Exception:
            log.exception("could not deliver %d replies to %s/%s", len(replies), *key)
            return False
        for reply in replies:
            if isinstance(reply, RoundResult):
                await self.db.mark_round_announced(reply.round_id, self.clock())
        return True

    async def announce_pending(self, *, before: float, claim_first: bool) -> int:
        """Deliver results whose points were committed before ``before`` but never announced.

        The process that closed a round delivers its result right after the commit; this finds the
        ones it could not (it died, or the platform was not reachable). ``claim_first`` marks each
        one before delivering, so that of several processes sweeping at once only one sends it.
        """
        sent = 0
        for pending in await self.db.pending_announcements():
            if pending.created_at >= before:
                continue
            if claim_first and not await self.db.mark_announced(pending.id, self.clock()):
                continue
            try:
                replies = [from_record(record) for record in pending.payload]
            except (TypeError, ValueError, KeyError):
                log.error("announcement %d for round %d cannot be read; dropped", pending.id, pending.round_id)
                await self.db.mark_announced(pending.id, self.clock())
                continue
            if await self.deliver((pending.space, pending.channel), replies):
                sent += 1
            elif claim_first:
                # Claimed but not delivered: give it back, so that the next sweep (here or elsewhere) tries again.
                await self.db.unmark_announced(pending.id)
        return sent

    # --- rounds ---------------------------------------------------------------
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

    async def open_round(
        self,
        origin: Origin,
        space: Space,
        game: str,
        *,
        secret: str,
        seconds: int,
        payload: dict[str, Any],
        timers: dict[str, float],
        word: Word | None = None,
        item: DialectItem | None = None,
    ) -> ActiveRound:
        """Record a new round and make it the channel's (caller holds the channel lock).

        ``timers`` are the round's hint and time-out (kind → seconds after the start), kept in the
        database so that whichever process is alive fires each exactly once.

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
            holder=self.process_id,
            timers=[(kind, now + after) for kind, after in timers.items()],
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

    def current(self, active: ActiveRound) -> bool:
        """Is ``active`` still its channel's open round? (Checked again under the lock after slow work.)"""
        return self.rounds.get(active.key) is active and not active.closed

    async def close(
        self,
        active: ActiveRound,
        *,
        status: str,
        result: RoundResult,
        winner: str | None = None,
        awards: Sequence[Award] = (),
    ) -> bool:
        """Close the round, write its points and announce its result (caller holds the channel lock).

        The result is committed with the points (an outbox row) and then delivered through the
        transport, so a result whose points count is announced even if the process dies in between.
        False, and nothing written or sent, when the round was closed already (elsewhere).
        """
        closed = await self._commit_close(active.id, status=status, result=result, winner=winner, awards=awards)
        active.closed = True
        if self.rounds.get(active.key) is active:
            del self.rounds[active.key]
        if closed:
            await self.deliver(active.key, [result])
        return closed

    async def close_row(
        self,
        round_id: int,
        key: tuple[str, str],
        *,
        status: str,
        result: RoundResult,
        winner: str | None = None,
        awards: Sequence[Award] = (),
    ) -> bool:
        """Close a round known only by its row (found open at start-up) and announce its result."""
        closed = await self._commit_close(round_id, status=status, result=result, winner=winner, awards=awards)
        if closed:
            await self.deliver(key, [result])
        return closed

    async def _commit_close(
        self, round_id: int, *, status: str, result: RoundResult, winner: str | None, awards: Sequence[Award]
    ) -> bool:
        return await self.db.close_round(
            round_id,
            status=status,
            closed_at=self.clock(),
            winner=winner,
            awards=awards,
            announcement=[to_record(result)],
        )

    async def save_payload(self, active: ActiveRound) -> None:
        await self.db.update_round(active.id, payload=active.payload)

    # --- the AI players -------------------------------------------------------
    @property
    def ai_enabled(self) -> bool:
        return self.gateway is not None and self.gateway.enabled

    async def ai_budget_left(self, space: Space) -> bool:
        """Is the space's daily AI budget unspent? Read once and kept until this process makes a call."""
        start, end = day_bounds(self.clock(), space.zone)
        cached = self._budget.get(space.id)
        if cached is not None and cached[0] == start:
            return cached[1]
        used = await self.db.usage_summary(space.id, start, end)
        left = used.calls < self.settings.daily_call_budget and used.cost_usd < self.settings.daily_cost_budget
        if len(self._budget) > 50_000:
            self._budget.clear()
        self._budget[space.id] = (start, left)
        return left

    async def after_model_call(self, space: Space, game: str, answer: ModelAnswer) -> None:
        """Count the call and, once per space and model, tell admins a model was retired."""
        await self.db.record_usage(space.id, game, answer, at=self.clock())
        self._budget.pop(space.id, None)  # the next check reads what this call spent
        if answer.retired_model:
            key = f"notified.retired.{answer.retired_model}"
            if await self.db.get_setting(space.id, key) is None:
                await self.set_setting(space.id, key, str(int(self.clock())))
                note = self.t(
                    space,
                    "core.model_retired",
                    model=neutralise(answer.retired_model, 80),
                    fallback=neutralise(answer.model, 80),
                    game=game,
                )
                self._notices.append((space.id, note))

    def take_admin_notices(self, space_id: str) -> list[Reply]:
        """Admin notices raised by model calls, handed to the game that made the call."""
        mine = [n for n in self._notices if n[0] == space_id]
        self._notices[:] = [n for n in self._notices if n[0] != space_id]
        return [AdminNotice(text) for _, text in mine]
