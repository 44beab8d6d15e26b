"""Guess the drawing: the drawer gets a secret word, uploads a drawing, humans and the AI race."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.events import ChatMessage, Command, ImageUpload, SecretUndelivered
from bot.identity import shown_name
from bot.periods import day_bounds
from bot.replies import Quiet, Reply, ResultLine, RoundResult, RoundStarted, Say, Thinking, Whisper
from bot.rounds import AI_NAME, AI_USER, ActiveRound, Space
from bot.safety import neutralise
from bot.services import GameServices
from bot.words import DIFFICULTIES, Word
from storage import Award, RoundAlreadyOpen, RoundRow

if TYPE_CHECKING:
    from bot.ai.images import NormalisedImage

log = logging.getLogger("catchbot.drawing")

_DIFFICULTY_WORDS = {
    **DIFFICULTIES,
    "쉬움": 1,
    "쉬운": 1,
    "보통": 2,
    "어려움": 3,
    "어려운": 3,
    "1": 1,
    "2": 2,
    "3": 3,
    "medium": 2,
}


def parse_difficulty(args: tuple[str, ...]) -> int | None:
    if not args:
        return None
    word = args[0].strip().lower()
    if word in ("any", "all", "아무거나", "전체"):
        return None
    if word not in _DIFFICULTY_WORDS:
        raise UserError("draw.bad_difficulty", value=neutralise(args[0], limit=20))
    return _DIFFICULTY_WORDS[word]


def hint_for(word: Word, locale: str) -> str:
    """First letter (English) or first syllable (Korean), the rest as blanks."""
    name = word.name(locale)
    return " ".join(ch if i == 0 or ch == " " else "_" for i, ch in enumerate(name)).replace("   ", "  /  ")


def shown(word: Word, locale: str) -> tuple[str, str]:
    """The word's name and its other-language name, safe to echo (a space's own words are admin text)."""
    return neutralise(word.name(locale), 60), neutralise(word.other_name(locale), 60)


def length_of(word: Word, locale: str) -> tuple[int, int]:
    """(letters or syllables, words) of the word's name in the locale."""
    name = word.name(locale)
    return sum(1 for ch in name if not ch.isspace()), len(name.split())


ACTIONS = ("secret", "hint", "skip")
GUESS_MAX_CHARS = 300  # a guess names one thing; dialect answers are capped at 500
# Declared types that may be a drawing; the bytes are checked again after download.
_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def looks_like_image(filename: str, content_type: str | None) -> bool:
    if content_type:
        return content_type.split(";")[0].strip().lower().startswith("image/")
    return filename.lower().endswith(_IMAGE_EXTENSIONS)


class DrawingGame:
    def __init__(self, services: GameServices) -> None:
        self.services = services
        self.settings = services.settings

    # --- start ----------------------------------------------------------
    async def start(self, command: Command, space: Space) -> list[Reply]:
        engine, origin = self.services, command.origin
        difficulty = parse_difficulty(command.args)
        async with engine.locks.hold(origin.channel_key):
            running = engine.rounds.get(origin.channel_key)
            if running is not None:
                return [engine.running_notice(running, space)]
            bank, _judge = await engine.bank(space.id)
            word = bank.pick(engine.rng, difficulty)
            try:
                active = await engine.open_round(
                    origin,
                    space,
                    "drawing",
                    secret=word.id,
                    seconds=self.settings.draw_seconds,
                    payload={"uploads": 0, "hint_sent": False},
                    timers=self.timer_offsets(self.settings.draw_seconds),
                    word=word,
                )
            except RoundAlreadyOpen:
                return [Say(engine.t(space, "core.round_elsewhere"))]
        letters, words = length_of(word, space.locale)
        replies: list[Reply] = [
            RoundStarted(
                engine.t(
                    space,
                    "draw.started",
                    drawer=neutralise(origin.display_name, limit=40),
                    category=engine.t(space, f"categories.{word.category}"),
                    length=engine.t(
                        space,
                        "draw.length",
                        letters=engine.t(space, "draw.n_letters", count=letters),
                        words=engine.t(space, "draw.n_words", count=words),
                    ),
                    seconds=self.settings.draw_seconds,
                    redraws=engine.t(space, "draw.n_redraws", count=self.settings.max_redraws),
                ),
                "drawing",
                active.id,
                ACTIONS,
            ),
            self._secret(active, space, "draw.secret"),
        ]
        if not engine.ai_enabled:
            replies.append(Say(engine.t(space, "draw.humans_only")))
        return replies

    # --- uploads --------------------------------------------------------
    def _no_redraws(self, space: Space) -> str:
        redraws = self.services.t(space, "draw.n_redraws", count=self.settings.max_redraws)
        return self.services.t(space, "draw.no_redraws", redraws=redraws)

    async def upload(self, event: ImageUpload, space: Space) -> list[Reply]:
        engine, origin = self.services, event.origin
        active = engine.rounds.get(origin.channel_key)
        if active is None or active.game != "drawing":
            return await self.outside_round(event)
        if origin.user != active.starter:
            return [
                Whisper(
                    origin.user,
                    engine.t(space, "draw.not_drawer", drawer=neutralise(active.starter_name, 40)),
                )
            ]
        if active.payload["uploads"] > self.settings.max_redraws:
            return [Say(self._no_redraws(space))]
        data = await self._bytes_of(event)
        from bot.ai.images import normalise_upload

        # Decoding a phone photo takes a while: outside the channel lock, on a thread.
        image = await normalise_upload(
            data,
            max_side=self.settings.image_max_side,
            max_bytes=self.settings.upload_max_bytes,
            max_pixels=self.settings.image_max_pixels,
        )
        async with engine.locks.hold(origin.channel_key):
            if not engine.current(active):
                return [Say(engine.t(space, "draw.too_late"))]
            if active.payload["uploads"] > self.settings.max_redraws:
                return [Say(self._no_redraws(space))]
            active.payload["uploads"] += 1
            number = active.payload["uploads"]
            assert active.word is not None
            drawing_id = await engine.db.add_drawing(
                round_id=active.id,
                space=space.id,
                user=origin.user,
                upload_no=number,
                image=image.data,
                mime=image.mime,
                width=image.width,
                height=image.height,
                word_id=active.word.id,
                label_en=active.word.en,
                label_ko=active.word.ko,
                at=engine.clock(),
            )
            await engine.save_payload(active)
            replies: list[Reply] = [
                Say(engine.t(space, "draw.received", number=number, total=self.settings.max_redraws + 1))
            ]
            if engine.ai_enabled:
                if await engine.ai_budget_left(space):
                    engine.spawn(self._ai_look(active, space, image, drawing_id), name=f"ai-draw-{active.id}")
                elif not active.payload.get("budget_said"):
                    active.payload["budget_said"] = True
                    replies.append(Say(engine.t(space, "ai.budget_spent")))
        return replies

    async def _ai_look(self, active: ActiveRound, space: Space, image: NormalisedImage, drawing_id: int) -> None:
        from bot.ai.players import AIUnavailable

        engine = self.services
        assert engine.gateway is not None and active.word is not None
        await engine.deliver(active.key, [Thinking("drawing")])
        try:
            answer = await engine.gateway.guess_drawing(image, model=space.model(self.settings, "drawing"))
        except AIUnavailable as exc:
            log.warning("drawing model unavailable in %s: %s", space.id, exc)
            async with engine.locks.hold(active.key):
                if not engine.current(active) or active.payload.get("ai_failed_said"):
                    return
                active.payload["ai_failed_said"] = True
            await engine.deliver(active.key, [Say(engine.t(space, f"ai.unavailable_{exc.reason}"))])
            return
        await engine.after_model_call(space, "drawing", answer)
        _bank, judge = await engine.bank(space.id)
        verdict = judge.judge(active.word, answer.text, explain=False)
        await engine.db.set_drawing_ai(drawing_id, guess=answer.text, model=answer.model, correct=verdict.correct)
        replies: list[Reply] = engine.take_admin_notices(space.id)
        async with engine.locks.hold(active.key):
            if engine.current(active):
                # The AI played this round: a participant like any guesser (its stats count it).
                await engine.db.upsert_player(space.id, AI_USER, AI_NAME, is_ai=True)
                await engine.db.add_participant(active.id, AI_USER, "guesser")
                if verdict.correct:
                    replies += await self._win(active, space, AI_USER, AI_NAME, answer.text or "", by_ai=True)
                elif judge.mentions(active.word, answer.text or ""):
                    # "cat or deer", "not a deer": wrong, but showing it would hand the word to the humans.
                    replies.append(Say(engine.t(space, "draw.ai_wrong_hidden")))
                else:
                    replies.append(Say(engine.t(space, "draw.ai_wrong", guess=neutralise(answer.text or "…", 80))))
        await engine.deliver(active.key, replies)

    # --- guesses --------------------------------------------------------
    async def guess(self, message: ChatMessage, space: Space) -> list[Reply]:
        engine, origin = self.services, message.origin
        if len(message.text) > GUESS_MAX_CHARS:
            # Before the lock and the judge: a pasted megabyte costs nothing and stalls no channel.
            return [Quiet(origin.user, engine.t(space, "draw.guess_too_long", limit=GUESS_MAX_CHARS))]
        async with engine.locks.hold(origin.channel_key):
            active = engine.rounds.get(origin.channel_key)
            if active is None or active.game != "drawing" or active.closed:
                return []
            if origin.user == active.starter:
                # The drawer knows the word: never a guess (chat platforms stay quiet, the console says why).
                return [Quiet(origin.user, engine.t(space, "draw.drawer_chat"))]
            now = engine.clock()
            if now >= active.ends_at:
                # The deadline decides, not the timer: after it nothing scores, whenever the tick runs.
                return [Quiet(origin.user, engine.t(space, "draw.after_time"))]
            if throttled := self._throttle(active, origin.user, now, space):
                return throttled
            if origin.user not in active.guessers:
                active.guessers.add(origin.user)
                await engine.db.add_participant(active.id, origin.user, "guesser")
            _bank, judge = await engine.bank(space.id)
            assert active.word is not None
            verdict = judge.judge(active.word, message.text, explain=False)
            if verdict.kind == "list" and ("list", origin.user) not in active.told:
                active.told.add(("list", origin.user))
                return [Whisper(origin.user, engine.t(space, "draw.list_guess"))]
            if not verdict.correct:
                return []  # wrong guesses stay quiet
            return await self._win(active, space, origin.user, origin.display_name, message.text, by_ai=False)

    def _throttle(self, active: ActiveRound, user: str, now: float, space: Space) -> list[Reply]:
        """Brute force is many guesses in a short window; past the limit guesses are ignored until the
        window has room again, and the player is told so once per window (never a silent drop)."""
        limit, window = self.settings.guess_limit, self.settings.guess_window
        if not limit:
            return []
        times = active.recent_guesses.setdefault(user, deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) < limit:
            times.append(now)
            return []
        wait = times[0] + window - now
        told = ("throttled", user, f"{times[0]:.3f}")
        if told in active.told:
            return [Quiet(user, self.services.t(space, "draw.throttled", seconds=f"{wait:.0f}", count=limit))]
        active.told.add(told)
        return [Whisper(user, self.services.t(space, "draw.throttled", seconds=f"{wait:.0f}", count=limit))]

    def speed_points(self, active: ActiveRound, now: float) -> int:
        low, high = (
            self.settings.guess_points_min,
            max(self.settings.guess_points_max, self.settings.guess_points_min),
        )
        share = min(1.0, max(0.0, (active.ends_at - now) / active.duration))
        return low + round((high - low) * share)

    async def _win(
        self, active: ActiveRound, space: Space, winner: str, winner_name: str, said: str, *, by_ai: bool
    ) -> list[Reply]:
        engine = self.services
        now = engine.clock()
        if now >= active.ends_at:
            return []  # too late, whoever answered: the time-out closes the round
        points = self.speed_points(active, now)
        drawer_points = self.settings.drawer_points
        if by_ai:
            # Farming guard: drawings only the AI recognised pay the drawer a capped amount per day.
            start, _end = day_bounds(now, space.zone)
            earned = await engine.db.points_since(space.id, active.starter, "drawer_ai", start)
            drawer_points = max(0, min(drawer_points, self.settings.ai_only_daily_cap - earned))
        awards = [
            Award(winner, points, "ai_guess" if by_ai else "guess"),
            Award(active.starter, drawer_points, "drawer_ai" if by_ai else "drawer"),
        ]
        assert active.word is not None
        name, other = shown(active.word, space.locale)
        key = "draw.won_ai" if by_ai else "draw.won"
        text = engine.t(
            space,
            key,
            winner=neutralise(winner_name, 40),
            guess=neutralise(said, 80),
            word=name,
            other=other,
            points=points,
            drawer=neutralise(active.starter_name, 40),
            drawer_points=drawer_points,
        )
        lines = (
            ResultLine(
                shown_name(neutralise(winner_name, 40), is_ai=by_ai), neutralise(said, 80), None, points, is_ai=by_ai
            ),
            ResultLine(neutralise(active.starter_name, 40), "", None, drawer_points),
        )
        summary = engine.t(space, "draw.won_summary", word=name, other=other)
        outcome = "ai_won" if by_ai else "won"
        result = RoundResult(text, "drawing", active.id, name, lines, outcome=outcome, summary=summary)
        await engine.close(active, status="won", winner=winner, awards=awards, result=result)
        return []

    # --- endings ----------------------------------------------------------
    async def finish(self, active: ActiveRound, *, status: str, by: str) -> list[Reply]:
        space = await self.services.space_of(active)
        result = self._ending(active, space, "draw.skipped", "skipped", by=neutralise(by, 40))
        await self.services.close(active, status=status, result=result)
        return []

    def _ending(self, active: ActiveRound, space: Space, key: str, outcome: str, **params: str) -> RoundResult:
        """A round's end without a winner: the word is shown."""
        assert active.word is not None
        name, other = shown(active.word, space.locale)
        text = self.services.t(space, key, word=name, other=other, **params)
        return RoundResult(text, "drawing", active.id, name, outcome=outcome)

    def timer_offsets(self, duration: float) -> dict[str, float]:
        """When the round's timers fire, in seconds after its start."""
        return {"hint": duration / 2, "timeout": duration}

    async def on_timer(self, active: ActiveRound, kind: str, now: float) -> list[Reply]:
        """The round's hint at half time, or its end (caller holds the channel lock)."""
        space = await self.services.space_of(active)
        if kind == "hint":
            return [] if active.payload.get("hint_sent") else await self._give_hint(active, space, now)
        await self.services.close(
            active, status="timeout", result=self._ending(active, space, "draw.timeout", "timeout")
        )
        return []

    # --- hints and the secret, on request ------------------------------------
    async def hint(self, command: Command, space: Space) -> list[Reply]:
        """The drawer (or an admin) may give the hint before half time."""
        engine, origin = self.services, command.origin
        async with engine.locks.hold(origin.channel_key):
            active = engine.rounds.get(origin.channel_key)
            if active is None or active.game != "drawing":
                return [Whisper(origin.user, engine.t(space, "draw.no_drawing_round"))]
            if origin.user != active.starter and not engine.is_admin(origin):
                return [
                    Whisper(
                        origin.user, engine.t(space, "draw.hint_not_allowed", name=neutralise(active.starter_name, 40))
                    )
                ]
            return await self._give_hint(active, await engine.space_of(active), engine.clock())

    async def _give_hint(self, active: ActiveRound, space: Space, now: float) -> list[Reply]:
        assert active.word is not None
        if not active.payload.get("hint_sent"):
            active.payload["hint_sent"] = True
            await self.services.save_payload(active)
        text = self.services.t(space, "draw.hint", hint=hint_for(active.word, space.locale), left=active.left(now))
        return [Say(text)]

    def _secret(self, active: ActiveRound, space: Space, key: str) -> Whisper:
        assert active.word is not None
        word = active.word
        name, other = shown(word, space.locale)
        text = self.services.t(space, key, word=name, other=other)
        return Whisper(active.starter, text, round_id=active.id)

    async def secret(self, command: Command, space: Space) -> list[Reply]:
        """Show the drawer their word again (a dismissed private message must not lose it)."""
        engine, origin = self.services, command.origin
        active = engine.rounds.get(origin.channel_key)
        if active is None or active.game != "drawing":
            return [Whisper(origin.user, engine.t(space, "draw.no_drawing_round"))]
        if origin.user != active.starter:
            return [
                Whisper(origin.user, engine.t(space, "draw.secret_not_yours", name=neutralise(active.starter_name, 40)))
            ]
        return [self._secret(active, await engine.space_of(active), "draw.secret")]

    async def secret_undelivered(self, event: SecretUndelivered, space: Space) -> list[Reply]:
        """The drawer could not be told the word privately: cancel the round without showing it."""
        engine, origin = self.services, event.origin
        async with engine.locks.hold(origin.channel_key):
            active = engine.rounds.get(origin.channel_key)
            if active is None or active.id != event.round_id or active.starter != origin.user:
                return []
            # 'skipped' in the ledger's terms: ended on request, nobody scores; the word is not shown.
            text = engine.t(space, "draw.secret_undelivered", drawer=neutralise(active.starter_name, 40))
            await engine.close(
                active, status="skipped", result=RoundResult(text, "drawing", active.id, "", outcome="skipped")
            )
        return []

    async def outside_round(self, event: ImageUpload) -> list[Reply]:
        # Pictures are posted in channels all the time; chat platforms stay quiet, the console says why.
        space = await self.services.space(event.origin.space, event.origin.locale)
        return [Quiet(event.origin.user, self.services.t(space, "draw.no_round_upload"))]

    async def _bytes_of(self, event: ImageUpload) -> bytes:
        """The upload's bytes; a platform file is checked by its declared type and size before download."""
        limit = self.settings.upload_max_bytes
        if event.fetch is None:
            return event.data
        if not looks_like_image(event.filename, event.content_type):
            raise UserError("images.not_image")
        if event.size is not None and event.size > limit:
            raise UserError("images.too_big", limit_mb=limit // (1024 * 1024))
        # One byte past the limit lets the image checks say "too big" if the declared size lied.
        return await event.fetch(limit + 1)

    # --- restarts -------------------------------------------------------
    async def resumed(self, active: ActiveRound, now: float) -> list[Reply]:
        """Back after a restart: the channel hears the round goes on, the drawer gets the word again."""
        space = await self.services.space_of(active)
        note = self.services.t(
            space, "core.round_resumed", game=self.services.t(space, "core.game_drawing"), left=active.left(now)
        )
        return [Say(note), self._secret(active, space, "draw.secret_again")]

    async def revive(self, row: RoundRow) -> ActiveRound | None:
        bank, _judge = await self.services.bank(row.space)
        word = bank.get(row.secret)
        return None if word is None else ActiveRound.from_row(row, word=word)

    async def expire(self, row: RoundRow, now: float) -> list[Reply]:
        engine = self.services
        space = await engine.space(row.space, hint=row.locale)
        bank, _judge = await engine.bank(row.space)
        word = bank.get(row.secret)
        name, other = shown(word, space.locale) if word else (row.secret, row.secret)
        text = engine.t(space, "draw.expired", word=name, other=other)
        result = RoundResult(text, "drawing", row.id, name, outcome="expired")
        await engine.close_row(row.id, (row.space, row.channel), status="expired", result=result)
        return []
