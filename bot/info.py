"""Commands around the rounds: help, leaderboards, stats, models, usage, space settings, own words."""

from __future__ import annotations

import re

from bot.errors import AdminOnly, UserError
from bot.events import Command
from bot.identity import names_the_ai, shown_name
from bot.periods import day_bounds, is_period_word, parse_period, time_zone
from bot.replies import BoardRow, Leaderboard, Reply, Say, StatsCard, Whisper
from bot.rounds import AI_USER, Space
from bot.safety import neutralise
from bot.services import GameServices
from bot.words import CATEGORIES, Word

GAME_WORDS = {
    "drawing": "drawing",
    "draw": "drawing",
    "그림": "drawing",
    "dialect": "dialect",
    "사투리": "dialect",
    "방언": "dialect",
    "both": None,
    "games": None,
    "모두": None,
    "둘다": None,
}
# Model ids and deployment names: ft:gpt-4o-mini:org:x:id, Qwen/Qwen2.5-0.5B-Instruct, llama3:8b. No "@" or "<":
# an id is echoed in public listings, and nothing an admin types may ping a channel.
_MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.:/+-]{0,199}$")
_WORD_EN = re.compile(r"^[A-Za-z][A-Za-z' -]{0,39}$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _board_row(rank: int, user: str, name: str, points: int) -> BoardRow:
    is_ai = user == AI_USER
    return BoardRow(rank, user, shown_name(neutralise(name, 40), is_ai=is_ai), points, is_ai=is_ai)


class InfoCommands:
    def __init__(self, services: GameServices) -> None:
        self.services = services

    async def help(self, command: Command, space: Space) -> list[Reply]:
        # Only the caller wants to read it: privately (ephemeral, or a reply to them).
        return [Whisper(command.origin.user, self.services.t(space, "core.help"))]

    # --- leaderboard --------------------------------------------------
    async def leaderboard(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        game: str | None = None
        game_word: str | None = None
        period_text: str | None = None
        for arg in command.args:
            word = arg.strip().lower()
            if word in GAME_WORDS:
                if game_word is not None:
                    raise UserError("core.board_two_games", first=neutralise(game_word, 30), second=neutralise(arg, 30))
                game, game_word = GAME_WORDS[word], arg
            elif is_period_word(word):
                if period_text is not None:
                    raise UserError(
                        "core.board_two_periods", first=neutralise(period_text, 30), second=neutralise(arg, 30)
                    )
                period_text = word
            else:
                raise UserError("core.bad_board_arg", value=neutralise(arg, 30))
        period = parse_period(period_text, engine.clock(), space.zone)
        rows = await engine.db.leaderboard(space.id, game, period.start, period.end)
        mine = await engine.db.rank_of(space.id, game, period.start, period.end, command.origin.user)
        title = engine.t(
            space,
            "core.board_title",
            game=engine.t(space, f"core.game_{game or 'both'}"),
            period=engine.t(space, f"core.period_{period.kind}", label=period.label),
        )
        board_rows = tuple(_board_row(r.rank, r.user, r.name, r.points) for r in rows)
        caller = _board_row(mine.rank, mine.user, mine.name, mine.points) if mine else None
        empty = engine.t(space, "core.board_empty")
        if caller is not None:
            you = engine.t(space, "core.board_you", rank=caller.rank, count=caller.points)
        else:
            you = engine.t(space, "core.board_you_none")
        lines = [
            title,
            *(engine.t(space, "core.board_row", rank=r.rank, name=r.name, points=r.points) for r in board_rows),
        ]
        # An empty board says so once: "nobody has points" already covers the caller.
        lines.append(you if board_rows else empty)
        return [
            Leaderboard(
                "\n".join(lines),
                game or "both",
                period.label,
                board_rows,
                caller,
                title=title,
                you_text=you,
                empty_text=empty,
            )
        ]

    # --- stats ------------------------------------------------------------
    async def stats(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        user = command.origin.user
        if command.args:
            who = " ".join(command.args).strip().lstrip("@")
            if names_the_ai(who):
                user = AI_USER
            else:
                found = await engine.db.find_player(space.id, who)
                if found is None:
                    raise UserError("core.unknown_player", name=neutralise(who, 40))
                user = found[0]
        s = await engine.db.stats(space.id, user)
        best = f"{s.best_dialect_score:.1f}" if s.best_dialect_score is not None else "-"
        seen = s.drawings_seen_by_ai
        share = f"{s.drawings_recognised_by_ai}/{seen}" + (
            f" ({100 * s.drawings_recognised_by_ai / seen:.0f}%)" if seen else ""
        )
        name = shown_name(neutralise(s.name, 40), is_ai=user == AI_USER)
        text = engine.t(
            space,
            "core.stats",
            name=name,
            rounds=engine.t(space, "core.n_rounds", count=s.rounds_played),
            wins=engine.t(space, "core.n_wins", count=s.wins),
            points=engine.t(space, "core.n_points", count=s.points),
            best=best,
            ai=share,
        )
        fields = (
            (engine.t(space, "core.stats_rounds"), str(s.rounds_played)),
            (engine.t(space, "core.stats_wins"), str(s.wins)),
            (engine.t(space, "core.stats_points"), str(s.points)),
            (engine.t(space, "core.stats_best"), best),
            (engine.t(space, "core.stats_ai"), share),
        )
        return [StatsCard(text, user, name, user == AI_USER, fields)]

    # --- models -----------------------------------------------------------
    async def model(self, command: Command, space: Space) -> list[Reply]:
        engine, settings = self.services, self.services.settings
        if not command.args:
            lines = [engine.t(space, "core.models_title", provider=settings.resolved_provider)]
            for game in ("drawing", "dialect"):
                conf = settings.model_config_for(game)  # type: ignore[arg-type]
                own = space.values.get(f"model.{game}")
                lines.append(
                    engine.t(
                        space,
                        "core.models_row",
                        game=engine.t(space, f"core.game_{game}"),
                        model=own or conf.model,
                        fallback=conf.fallback,
                        source=engine.t(space, "core.models_space" if own else "core.models_default"),
                    )
                )
            return [Whisper(command.origin.user, "\n".join(lines))]
        if not engine.is_admin(command.origin):
            raise AdminOnly()
        game = GAME_WORDS.get(command.args[0].lower())
        if game is None or len(command.args) != 2:
            raise UserError("core.model_usage")
        value = command.args[1].strip()
        if value.lower() in ("reset", "default", "기본"):
            await engine.set_setting(space.id, f"model.{game}", None)
            return [Say(engine.t(space, "core.model_reset", game=engine.t(space, f"core.game_{game}")))]
        if not _MODEL_ID.match(value):
            raise UserError("core.bad_model_id", value=neutralise(value, 40))
        await engine.set_setting(space.id, f"model.{game}", value)
        return [Say(engine.t(space, "core.model_set", game=engine.t(space, f"core.game_{game}"), model=value))]

    # --- usage ------------------------------------------------------------
    async def usage(self, command: Command, space: Space) -> list[Reply]:
        engine, settings = self.services, self.services.settings
        now = engine.clock()
        day_start, day_end = day_bounds(now, space.zone)
        month = parse_period("month", now, space.zone)
        today = await engine.db.usage_summary(space.id, day_start, day_end)
        this_month = await engine.db.usage_summary(space.id, month.start or 0, month.end or now)
        lines = [engine.t(space, "core.usage_title")]
        for label, u in (("core.usage_today", today), ("core.usage_month", this_month)):
            lines.append(
                engine.t(
                    space,
                    label,
                    calls=engine.t(space, "core.n_calls", count=u.calls),
                    prompt=u.prompt_tokens,
                    completion=u.completion_tokens,
                    images=u.image_tokens,
                    cost=f"{u.cost_usd:.6f}",
                    estimate=engine.t(space, "core.usage_estimate") if u.estimated else "",
                )
            )
        lines.append(
            engine.t(
                space,
                "core.usage_budget",
                calls=engine.t(space, "core.n_calls", count=settings.daily_call_budget),
                cost=f"{settings.daily_cost_budget:.2f}",
            )
        )
        return [Whisper(command.origin.user, "\n".join(lines))]

    # --- space settings -----------------------------------------------
    async def config(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        if not command.args:
            return [Whisper(command.origin.user, engine.t(space, "core.config_show", **self._config_values(space)))]
        if not engine.is_admin(command.origin):
            raise AdminOnly()
        key = _CONFIG_KEYS.get(command.args[0].lower())
        if key is None:
            raise UserError("core.config_bad_key", value=neutralise(command.args[0], 30))
        allowed = _CONFIG_ALLOWED[key]
        label = engine.t(space, f"core.config_key_{key}")
        if len(command.args) < 2:
            raise UserError("core.config_missing_value", key=label, allowed=allowed)
        if len(command.args) > 2:
            raise UserError("core.config_extra", key=label, extra=neutralise(command.args[2], 30), allowed=allowed)
        value = command.args[1].strip()
        if key == "collect":
            flag = {"on": "on", "off": "off", "켜기": "on", "끄기": "off"}.get(value.lower())
            if flag is None:
                raise UserError("core.config_bad_value", key=label, value=neutralise(value, 30), allowed=allowed)
            await engine.set_setting(space.id, "collect_drawings", flag)
        elif key == "judge":
            judge = {"model": "model", "모델": "model", "off": "score", "끄기": "score"}.get(value.lower())
            if judge is None:
                raise UserError("core.config_bad_value", key=label, value=neutralise(value, 30), allowed=allowed)
            if judge == "model" and not engine.ai_enabled:
                raise UserError("core.judge_needs_model")
            await engine.set_setting(space.id, "dialect_judge", judge)
        elif key == "locale":
            if value.lower() not in ("ko", "en"):
                raise UserError("core.config_bad_value", key=label, value=neutralise(value, 30), allowed=allowed)
            await engine.set_setting(space.id, "locale", value.lower())
        else:
            if time_zone(value) is None:
                raise UserError("core.bad_timezone", value=neutralise(value, 40))
            await engine.set_setting(space.id, "timezone", value)
        space = await engine.space(space.id, command.origin.locale)
        shown = self._config_values(space)[key]
        return [Say(engine.t(space, "core.config_set", key=engine.t(space, f"core.config_key_{key}"), value=shown))]

    def _config_values(self, space: Space) -> dict[str, str]:
        """The space's settings as its players read them (on/off and language names in their language)."""
        t = self.services.t
        return {
            "collect": t(space, f"core.value_{space.values.get('collect_drawings', 'off')}"),
            "locale": t(space, f"core.language_{space.locale}"),
            "timezone": str(space.zone),
            "judge": t(space, f"core.value_{space.values.get('dialect_judge', 'score')}"),
        }

    # --- the space's own words ------------------------------------------
    async def word(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        action = command.args[0].lower() if command.args else "list"
        if action in ("list", "목록"):
            own = await engine.db.custom_entries("custom_words", space.id)
            if not own:
                return [Say(engine.t(space, "core.words_none"))]
            names = ", ".join(f"{w['en']}/{w['ko']}" for w in own[:50])
            return [Say(engine.t(space, "core.words_list", count=len(own), names=neutralise(names, 1500)))]
        if action not in _WORD_ADD + _WORD_REMOVE:
            raise UserError("core.word_bad_action", value=neutralise(command.args[0], 30))
        if not engine.is_admin(command.origin):
            raise AdminOnly()
        if action in _WORD_REMOVE:
            return await self._remove_word(command, space)
        args = command.args
        if len(args) < 3:
            raise UserError("core.word_add_missing")
        if len(args) > 5:
            raise UserError("core.word_extra", extra=neutralise(args[5], 30))
        en, ko = args[1].replace("_", " ").strip(), args[2].replace("_", " ").strip()
        category = args[3].lower() if len(args) > 3 else "objects"
        difficulty = args[4] if len(args) > 4 else "2"
        if category not in CATEGORIES:
            allowed = ", ".join(
                engine.t(space, "core.category_choice", id=c, name=engine.t(space, f"categories.{c}"))
                for c in CATEGORIES
            )
            raise UserError("core.word_bad_category", value=neutralise(args[3], 30), allowed=allowed)
        if difficulty not in ("1", "2", "3"):
            raise UserError("core.word_bad_difficulty", value=neutralise(difficulty, 30))
        if not _WORD_EN.match(en):
            raise UserError("core.word_bad_en")
        if not _HANGUL.search(ko) or len(ko) > 20:
            raise UserError("core.word_bad_ko")
        _bank, judge = await engine.bank(space.id)
        for name in (en, ko):
            clash = judge.resolve(name)
            if clash is not None:
                raise UserError("core.word_exists", name=neutralise(name, 40), word=clash.id)
        word_id = "custom_" + re.sub(r"[^a-z0-9]+", "_", en.lower()).strip("_")
        word = Word(word_id, category, int(difficulty), en, ko)
        await engine.db.put_custom_entries("custom_words", space.id, [(word.id, word.to_dict())])
        engine.forget_bank(space.id)
        return [Say(engine.t(space, "core.word_added", en=neutralise(en, 40), ko=neutralise(ko, 20), id=word.id))]

    async def _remove_word(self, command: Command, space: Space) -> list[Reply]:
        """Remove a space's own word by any name ``word list`` shows: English, Korean, ``en/ko``, or its id."""
        engine = self.services
        if len(command.args) < 2:
            raise UserError("core.word_remove_missing")
        wanted = " ".join(command.args[1:]).replace("_", " ").strip()
        own = await engine.db.custom_entries("custom_words", space.id)
        found = next((w for w in own if wanted.casefold() in _word_names(w)), None)
        if found is None:
            return [Say(engine.t(space, "core.word_missing", id=neutralise(wanted, 40)))]
        await engine.db.delete_custom_entry("custom_words", space.id, found["id"])
        engine.forget_bank(space.id)
        return [Say(engine.t(space, "core.word_removed", id=neutralise(f"{found['en']}/{found['ko']}", 80)))]


_WORD_ADD = ("add", "추가")
_WORD_REMOVE = ("remove", "delete", "삭제")
_CONFIG_KEYS = {
    "collect": "collect",
    "수집": "collect",
    "locale": "locale",
    "language": "locale",
    "lang": "locale",
    "언어": "locale",
    "timezone": "timezone",
    "tz": "timezone",
    "시간대": "timezone",
    "judge": "judge",
    "채점": "judge",
}
_CONFIG_ALLOWED = {
    "collect": "on | off",
    "locale": "ko | en",
    "timezone": "Asia/Seoul, Europe/London, …",
    "judge": "model | off",
}


def _word_names(word: dict[str, object]) -> set[str]:
    en, ko, word_id = str(word["en"]), str(word["ko"]), str(word["id"])
    names = {en, ko, f"{en}/{ko}", word_id, word_id.replace("_", " "), word_id.removeprefix("custom_")}
    return {n.replace("_", " ").casefold() for n in names}
