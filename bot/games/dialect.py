"""Dialect translation: a sentence in a regional dialect, players type the standard meaning."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from bot.dialect import morphs
from bot.dialect.bank import REGION_NAMES, DialectBankError, DialectItem, parse_region
from bot.dialect.meaning_judge import JUDGE_MAX_ANSWERS, combine, judge_messages, parse_ratings, talks_to_the_judge
from bot.dialect.scoring import points_for, score_answer
from bot.errors import UserError
from bot.events import ChatMessage, Command
from bot.identity import AI_LABEL
from bot.replies import Ack, Quiet, Reply, ResultLine, RoundResult, RoundStarted, Say, Thinking
from bot.rounds import AI_NAME, AI_USER, ActiveRound, Space
from bot.safety import neutralise
from bot.services import GameServices
from storage import Award, RoundAlreadyOpen, RoundRow

log = logging.getLogger("catchbot.dialect")
RECENT = 30  # sentences a channel does not see again soon
# After the judge's own time limit, how long its round may stay open before the "judged" timer closes
# it with the deterministic scores (the judging process may have died).
JUDGE_GRACE = 2.0


ACTIONS = ("skip",)


class DialectGame:
    def __init__(self, services: GameServices) -> None:
        self.services = services
        self.settings = services.settings
        self._recent: dict[tuple[str, str], deque[str]] = {}

    def region_name(self, region: str, locale: str) -> str:
        return REGION_NAMES[region]["ko" if locale == "ko" else "en"]

    async def start(self, command: Command, space: Space) -> list[Reply]:
        engine, origin = self.services, command.origin
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
                    timers=self.timer_offsets(self.settings.dialect_seconds),
                    item=item,
                )
            except RoundAlreadyOpen:
                return [Say(engine.t(space, "core.round_elsewhere"))]
        if not morphs.is_loaded():
            # Scoring needs the Korean analyser; load it while the players read the sentence.
            engine.spawn(asyncio.to_thread(morphs.load), name="dialect-analyser")
        replies: list[Reply] = [
            RoundStarted(
                engine.t(
                    space,
                    "dialect.started",
                    region=self.region_name(item.region, space.locale),
                    sentence=neutralise(item.dialect, 300),
                    seconds=self.settings.dialect_seconds,
                ),
                "dialect",
                active.id,
                ACTIONS,
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

        engine = self.services
        assert engine.gateway is not None and active.item is not None
        await engine.deliver(active.key, [Thinking("dialect")])
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
            if engine.current(active) and engine.clock() < active.ends_at:
                active.payload["ai"] = {"text": answer.text, "score": score, "model": answer.model}
                await engine.save_payload(active)
        await engine.deliver(active.key, engine.take_admin_notices(space.id))

    async def answer(self, message: ChatMessage, space: Space) -> list[Reply]:
        engine, origin = self.services, message.origin
        active = engine.rounds.get(origin.channel_key)
        if active is None or active.item is None:
            return []
        text = message.text.strip()[:500]
        score = await asyncio.to_thread(score_answer, text, active.item.dialect, active.item.references)
        async with engine.locks.hold(origin.channel_key):
            if not engine.current(active):
                return []
            if engine.clock() >= active.ends_at:
                # The deadline decides, not the timer: an answer after it is not kept.
                return [Quiet(origin.user, engine.t(space, "dialect.after_time"))]
            # Each player's last answer counts.
            await engine.db.save_dialect_answer(active.id, origin.user, text, score, engine.clock())
        return [Ack(origin.user, engine.t(space, "dialect.noted"))]

    def timer_offsets(self, duration: float) -> dict[str, float]:
        """When the round's timers fire, in seconds after its start."""
        return {"timeout": duration}

    async def on_timer(self, active: ActiveRound, kind: str, now: float) -> list[Reply]:
        """Time is up: score every last answer (caller holds the channel lock).

        With the meaning judge on, "timeout" hands the round to the judge, which closes it; "judged"
        is the judge's deadline, when the deterministic scores stand.
        """
        if kind == "timeout":
            space = await self.services.space_of(active)
            if await self._judge_wanted(active, space):
                return await self._start_judging(active, space, now)
        return await self._close(active, status="won")

    async def _judge_wanted(self, active: ActiveRound, space: Space) -> bool:
        engine = self.services
        if space.values.get("dialect_judge") != "model" or not engine.ai_enabled or "judging" in active.payload:
            return False
        if not active.payload.get("ai") and not await engine.db.dialect_answers(active.id):
            return False
        return await engine.ai_budget_left(space)

    async def _start_judging(self, active: ActiveRound, space: Space, now: float) -> list[Reply]:
        engine = self.services
        active.payload["judging"] = now
        await engine.save_payload(active)
        await engine.db.schedule_timer(active.id, "judged", now + self.settings.judge_timeout + JUDGE_GRACE)
        engine.spawn(self._judge(active, space), name=f"judge-dialect-{active.id}")
        return [Say(engine.t(space, "dialect.judging"))]

    async def _judge(self, active: ActiveRound, space: Space) -> None:
        """One model call rates every answer's meaning; then the round closes, judged or not."""
        from bot.ai.players import AIUnavailable

        engine, settings = self.services, self.settings
        assert engine.gateway is not None and active.item is not None
        # Answers are frozen: none is kept after the deadline, which has passed.
        humans = [(user, text, score) for user, _name, text, score in await engine.db.dialect_answers(active.id)]
        entries = [e for e in humans if e[0] != AI_USER][:JUDGE_MAX_ANSWERS]
        ai = active.payload.get("ai")
        if ai:
            entries.append((AI_USER, ai["text"], ai["score"]))
        ratings: list[float] | None = None
        messages = judge_messages(active.item.dialect, active.item.references, [text for _u, text, _s in entries])
        try:
            async with asyncio.timeout(settings.judge_timeout):
                reply = await engine.gateway.complete(
                    "dialect", messages, model=settings.judge_model or space.model(settings, "dialect")
                )
            await engine.after_model_call(space, "dialect", reply)
            ratings = parse_ratings(reply.text, len(entries))
            if ratings is None:
                log.warning("meaning judge in %s gave no usable ratings: %r", space.id, reply.text[:80])
        except (AIUnavailable, TimeoutError) as exc:
            log.warning("meaning judge unavailable in %s: %s", space.id, exc)
        lifted: dict[str, float] = {}
        item = active.item
        for (user, text, score), rating in zip(entries, ratings or [], strict=False):
            # An answer that addresses the grader gains nothing from the grader.
            heard = None if talks_to_the_judge(text, item.dialect, item.references) else rating
            final = combine(score, heard)
            if final != score:
                lifted[user] = final
        async with engine.locks.hold(active.key):
            if not engine.current(active):
                return  # skipped meanwhile, or closed by the "judged" timer
            people = {user: score for user, score in lifted.items() if user != AI_USER}
            if people:
                await engine.db.rescore_dialect_answers(active.id, people)
            ai = active.payload.get("ai")  # the payload may have been reloaded from the database
            if ai and AI_USER in lifted:
                ai["score"] = lifted[AI_USER]
            await self._close(active, status="won")

    async def finish(self, active: ActiveRound, *, status: str, by: str) -> list[Reply]:
        return await self._close(active, status=status, by=by)

    async def _close(self, active: ActiveRound, *, status: str, by: str | None = None) -> list[Reply]:
        engine = self.services
        space = await engine.space_of(active)
        item = active.item
        assert item is not None
        # The AI's own answer is stored beside the humans' (for its stats) but ranked apart from them.
        answers = [a for a in await engine.db.dialect_answers(active.id) if a[0] != AI_USER]
        ai = active.payload.get("ai")
        if ai:
            # The AI played this round: a participant with an answer, like any player (stats count it).
            await engine.db.upsert_player(space.id, AI_USER, AI_NAME, is_ai=True)
            await engine.db.save_dialect_answer(active.id, AI_USER, ai["text"], ai["score"], engine.clock())
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
            lines.append(ResultLine(neutralise(name, 40), neutralise(text, 120), score, points))
        ai_points = points_for(ai["score"]) if ai and scoring else 0
        if ai and scoring:
            awards.append(Award(AI_USER, ai_points, "ai_dialect"))
        final = "timeout" if status == "won" and winner is None else status
        text = self._result_text(space, item, lines, ai, ai_points, by)
        summary = self._result_text(space, item, [], None, 0, by, with_lines=False)
        if ai:
            lines.append(ResultLine(AI_LABEL, neutralise(ai["text"], 120), ai["score"], ai_points, is_ai=True))
        outcome = "skipped" if by else "scored" if winner is not None else "timeout"
        result = RoundResult(
            text, "dialect", active.id, item.references[0], tuple(lines), outcome=outcome, summary=summary
        )
        await engine.close(active, status=final, winner=winner, awards=awards, result=result)
        return []

    def _result_text(
        self,
        space: Space,
        item: DialectItem,
        lines: list[ResultLine],
        ai: dict[str, Any] | None,
        ai_points: int,
        by: str | None,
        *,
        with_lines: bool = True,
    ) -> str:
        t = self.services.t
        parts = [t(space, "dialect.skipped", by=neutralise(by, 40)) if by else t(space, "dialect.over")]
        parts.append(t(space, "dialect.sentence", sentence=neutralise(item.dialect, 300)))
        parts.append(t(space, "dialect.reference", reference=neutralise(" / ".join(item.references), 600)))
        if item.note:
            parts.append(t(space, "dialect.note", note=neutralise(item.note, 300)))
        if not with_lines:
            return "\n".join(parts)
        if lines:
            for rank, line in enumerate(lines, start=1):
                parts.append(
                    t(
                        space,
                        "dialect.line",
                        rank=rank,
                        name=line.name,
                        answer=line.answer,
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

    async def resumed(self, active: ActiveRound, now: float) -> list[Reply]:
        """Back after a restart: the channel hears the round goes on and sees the sentence again."""
        engine = self.services
        space = await engine.space_of(active)
        note = engine.t(space, "core.round_resumed", game=engine.t(space, "core.game_dialect"), left=active.left(now))
        assert active.item is not None
        sentence = engine.t(space, "dialect.sentence", sentence=neutralise(active.item.dialect, 300))
        return [Say(f"{note}\n{sentence}")]

    async def revive(self, row: RoundRow) -> ActiveRound | None:
        item = (await self.services.sentence_bank(row.space)).get(row.secret)
        return None if item is None else ActiveRound.from_row(row, item=item)

    async def expire(self, row: RoundRow, now: float) -> list[Reply]:
        engine = self.services
        active = await self.revive(row)
        if active is not None and (active.payload.get("ai") or await engine.db.dialect_answers(row.id)):
            # Every kept answer came in before the deadline (or while the judge was reading them):
            # they are scored as if the bot had not been away.
            return await self._close(active, status="won")
        space = await engine.space(row.space, hint=row.locale)
        item = (await engine.sentence_bank(row.space)).get(row.secret)
        reference = neutralise(" / ".join(item.references), 600) if item else "?"
        text = engine.t(space, "dialect.expired", reference=reference)
        result = RoundResult(text, "dialect", row.id, reference, outcome="expired")
        await engine.close_row(row.id, (row.space, row.channel), status="expired", result=result)
        return []
