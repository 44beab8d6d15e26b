"""Commands around the rounds: help, leaderboards, stats, models, usage, space settings, own words."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.errors import UserError
from bot.events import Command
from bot.periods import day_bounds, is_period_word, parse_period
from bot.replies import BoardRow, Leaderboard, Reply, Say, StatsCard
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
_MODEL_ID = re.compile(r"^[\w.:/@+-]{1,200}$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _board_row(rank: int, user: str, name: str, points: int) -> BoardRow:
    return BoardRow(rank, user, neutralise(name, 40), points, is_ai=user == AI_USER)


class InfoCommands:
    def __init__(self, services: GameServices) -> None:
        self.services = services

    async def help(self, command: Command, space: Space) -> list[Reply]:
        return [Say(self.services.t(space, "core.help"))]

    # --- leaderboard --------------------------------------------------
    async def leaderboard(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        game: str | None = None
        period_text: str | None = None
        for arg in command.args:
            word = arg.strip().lower()
            if word in GAME_WORDS:
                game = GAME_WORDS[word]
            elif is_period_word(word):
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
            you = engine.t(space, "core.board_you", rank=caller.rank, points=caller.points)
        else:
            you = engine.t(space, "core.board_you_none")
        lines = [
            title,
            *(engine.t(space, "core.board_row", rank=r.rank, name=r.name, points=r.points) for r in board_rows),
        ]
        if not board_rows:
            lines.append(empty)
        lines.append(you)
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
        name = neutralise(s.name, 40)
        text = engine.t(
            space, "core.stats", name=name, rounds=s.rounds_played, wins=s.wins, points=s.points, best=best, ai=share
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
            return [Say("\n".join(lines))]
        if not engine.is_admin(command.origin):
            raise UserError("core.admin_only")
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
                    calls=u.calls,
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
                calls=settings.daily_call_budget,
                cost=f"{settings.daily_cost_budget:.2f}",
            )
        )
        return [Say("\n".join(lines))]

    # --- space settings -----------------------------------------------
    async def config(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        if not command.args:
            return [
                Say(
                    engine.t(
                        space,
                        "core.config_show",
                        collect=space.values.get("collect_drawings", "off"),
                        locale=space.locale,
                        timezone=str(space.zone),
                    )
                )
            ]
        if not engine.is_admin(command.origin):
            raise UserError("core.admin_only")
        if len(command.args) != 2:
            raise UserError("core.config_usage")
        key, value = command.args[0].lower(), command.args[1].strip()
        if key in ("collect", "수집"):
            flag = {"on": "on", "off": "off", "켜기": "on", "끄기": "off"}.get(value.lower())
            if flag is None:
                raise UserError("core.config_usage")
            await engine.set_setting(space.id, "collect_drawings", flag)
        elif key in ("locale", "language", "lang", "언어"):
            if value.lower() not in ("ko", "en"):
                raise UserError("core.config_usage")
            await engine.set_setting(space.id, "locale", value.lower())
        elif key in ("timezone", "tz", "시간대"):
            try:
                ZoneInfo(value)
            except (KeyError, ValueError):
                raise UserError("core.bad_timezone", value=neutralise(value, 40)) from None
            await engine.set_setting(space.id, "timezone", value)
        else:
            raise UserError("core.config_usage")
        space = await engine.space(space.id)
        return [Say(engine.t(space, "core.config_set", key=key, value=neutralise(value, 40)))]

    # --- the space's own words ------------------------------------------
    async def word(self, command: Command, space: Space) -> list[Reply]:
        engine = self.services
        action = command.args[0].lower() if command.args else "list"
        if action in ("list", "목록"):
            own = await engine.db.custom_entries("custom_words", space.id)
            names = ", ".join(f"{w['en']}/{w['ko']}" for w in own[:50]) or "-"
            return [Say(engine.t(space, "core.words_list", count=len(own), names=neutralise(names, 1500)))]
        if not engine.is_admin(command.origin):
            raise UserError("core.admin_only")
        if action in ("add", "추가") and 3 <= len(command.args) <= 5:
            en, ko = command.args[1].replace("_", " ").strip(), command.args[2].replace("_", " ").strip()
            category = command.args[3].lower() if len(command.args) > 3 else "objects"
            difficulty = command.args[4] if len(command.args) > 4 else "2"
            if category not in CATEGORIES or difficulty not in ("1", "2", "3"):
                raise UserError("core.word_usage")
            if not en.isascii() or not any(c.isalpha() for c in en) or len(en) > 40:
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
        if action in ("remove", "delete", "삭제") and len(command.args) == 2:
            removed = await engine.db.delete_custom_entry("custom_words", space.id, command.args[1])
            engine.forget_bank(space.id)
            key = "core.word_removed" if removed else "core.word_missing"
            return [Say(engine.t(space, key, id=neutralise(command.args[1], 40)))]
        raise UserError("core.word_usage")
