"""Dialect translation: a sentence in a regional dialect, players type the standard meaning."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from bot.dialect.bank import REGION_NAMES, DialectBankError, DialectItem, parse_region
from bot.dialect.scoring import points_for, score_answer
from bot.errors import UserError
from bot.events import ChatMessage, Command
from bot.replies import Ack, Reply, ResultLine, RoundResult, Say
from bot.rounds import AI_NAME, AI_USER, ActiveRound, Space
from bot.safety import neutralise
from storage import Award, RoundAlreadyOpen, RoundRow

if TYPE_CHECKING:
    from bot.engine import Engine

log = logging.getLogger("catchbot.dialect")
RECENT = 30  # sentences a channel does not see again soon


class DialectGame:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._recent: dict[tuple[str, str], deque[str]] = {}

    @property
    def settings(self):  # type: ignore[no-untyped-def]
        return self.engine.settings

    def region_name(self, region: str, locale: str) -> str:
        return REGION_NAMES[region]["ko" if locale == "ko" else "en"]

    async def start(self, command: Command, space: Space) -> list[Reply]:
        engine, origin = self.engine, command.origin
        try:
            region = parse_region(" ".join(command.args))
        except DialectBankError:
            raise UserError("dialect.bad_region", value=neutralise(" ".join(command.args), 20)) from None
        async with engine.locks.hold(origin.channel_key):
            running = engine.rounds.get(origin.channel_key)
            if running is not None:
                return [engine.running_notice(running, space)]
            bank = await engine.sentence_bank(space.id)
            recent = self._recent.setdefault(origin.channel_key, deque(maxlen=RECENT))
            item = bank.pick(engine.rng, region, exclude=recent)
            recent.append(item.id)
            try:
                active = await engine.open_round(
                    origin,
                    space,
                    "dialect",
                    secret=item.id,
                    seconds=self.settings.dialect_seconds,
                    payload={"ai": None},
                    item=item,
                )
            except RoundAlreadyOpen:
                return [Say(engine.t(space, "core.round_elsewhere"))]
        replies: list[Reply] = [
            Say(
                engine.t(
                    space,
                    "dialect.started",
                    region=self.region_name(item.region, space.locale),
                    sentence=item.dialect,
                    seconds=self.settings.dialect_seconds,
                )
            )
        ]
        if engine.ai_enabled:
            if await engine.ai_budget_left(space):
                engine.spawn(self._ai_translate(active, space), name=f"ai-dialect-{active.id}")
            else:
                replies.append(Say(engine.t(space, "ai.budget_spent")))
        return replies

    async def _ai_translate(self, active: ActiveRound, space: Space) -> None:
        from bot.ai.players import AIUnavailable

        engine = self.engine
        assert engine.gateway is not None and active.item is not None
        try:
            answer = await engine.gateway.translate_dialect(
                active.item.dialect, model=space.model(self.settings, "dialect")
            )
        except AIUnavailable as exc:
            log.warning("dialect model unavailable in %s: %s", space.id, exc)
            await engine.deliver(active.key, [Say(engine.t(space, f"ai.unavailable_{exc.reason}"))])
            return
        await engine.after_model_call(space, "dialect", answer)
        # chrF over a short sentence is cheap, but it is CPU work: keep it off the loop.
        score = await asyncio.to_thread(score_answer, answer.text, active.item.dialect, active.item.references)
        async with engine.locks.hold(active.key):
            if engine.rounds.get(active.key) is active and not active.closed:
                active.payload["ai"] = {"text": answer.text, "score": score, "model": answer.model}
                await engine.save_payload(active)
        await engine.deliver(active.key, engine.take_admin_notices(space.id))

    async def answer(self, message: ChatMessage, space: Space) -> list[Reply]:
        engine, origin = self.engine, message.origin
        active = engine.rounds.get(origin.channel_key)
        if active is None or active.item is None:
            return []
        text = message.text.strip()[:500]
        score = await asyncio.to_thread(score_answer, text, active.item.dialect, active.item.references)
        async with engine.locks.hold(origin.channel_key):
            if engine.rounds.get(origin.channel_key) is not active or active.closed:
                return []
            # Each player's last answer counts.
            await engine.db.save_dialect_answer(active.id, origin.user, text, score, engine.clock())
        return [Ack(origin.user, engine.t(space, "dialect.noted"))]

    def due(self, active: ActiveRound, now: float) -> bool:
        return now >= active.ends_at

    async def on_time(self, active: ActiveRound, now: float) -> list[Reply]:
        return await self._close(active, status="won")

    async def finish(self, active: ActiveRound, *, status: str, by: str) -> list[Reply]:
        return await self._close(active, status=status, by=by)

    async def _close(self, active: ActiveRound, *, status: str, by: str | None = None) -> list[Reply]:
        engine = self.engine
        space = await engine.space(active.space)
        item = active.item
        assert item is not None
        answers = await engine.db.dialect_answers(active.id)
        ai = active.payload.get("ai")
        awards: list[Award] = []
        lines: list[ResultLine] = []
        winner = None
        scoring = status == "won"
        for rank, (user, name, text, score) in enumerate(answers):
            points = points_for(score) if scoring else 0
            if scoring and rank == 0 and score > 0:
                winner = user
                points += self.settings.dialect_best_bonus
            awards.append(Award(user, points, "dialect"))
            lines.append(ResultLine(name, text, score, points))
        ai_points = points_for(ai["score"]) if ai and scoring else 0
        if ai and scoring:
            await engine.db.upsert_player(space.id, AI_USER, AI_NAME, is_ai=True)
            awards.append(Award(AI_USER, ai_points, "ai_dialect"))
        final = "timeout" if status == "won" and winner is None else status
        if not await engine.close(active, status=final, winner=winner, awards=awards):
            return []
        text = self._result_text(space, item, lines, ai, ai_points, by)
        return [RoundResult(text, "dialect", active.id, item.references[0], tuple(lines))]

    def _result_text(
        self,
        space: Space,
        item: DialectItem,
        lines: list[ResultLine],
        ai: dict[str, Any] | None,
        ai_points: int,
        by: str | None,
    ) -> str:
        t = self.engine.t
        parts = [t(space, "dialect.skipped", by=neutralise(by, 40)) if by else t(space, "dialect.over")]
        parts.append(t(space, "dialect.sentence", sentence=item.dialect))
        parts.append(t(space, "dialect.reference", reference=" / ".join(item.references)))
        if item.note:
            parts.append(t(space, "dialect.note", note=item.note))
        if lines:
            for rank, line in enumerate(lines, start=1):
                parts.append(
                    t(
                        space,
                        "dialect.line",
                        rank=rank,
                        name=neutralise(line.name, 40),
                        answer=neutralise(line.answer, 120),
                        score=f"{line.score:.1f}",
                        points=line.points,
                    )
                )
        else:
            parts.append(t(space, "dialect.no_answers"))
        if ai:
            parts.append(
                t(
                    space,
                    "dialect.ai_line",
                    answer=neutralise(ai["text"], 120),
                    score=f"{ai['score']:.1f}",
                    points=ai_points,
                )
            )
        return "\n".join(parts)

    async def revive(self, row: RoundRow) -> ActiveRound | None:
        item = (await self.engine.sentence_bank(row.space)).get(row.secret)
        return None if item is None else ActiveRound.from_row(row, item=item)

    async def expire(self, row: RoundRow, now: float) -> list[Reply]:
        engine = self.engine
        if not await engine.db.close_round(row.id, status="expired", closed_at=now):
            return []
        space = await engine.space(row.space)
        item = (await engine.sentence_bank(row.space)).get(row.secret)
        reference = " / ".join(item.references) if item else "?"
        return [RoundResult(engine.t(space, "dialect.expired", reference=reference), "dialect", row.id, reference)]
