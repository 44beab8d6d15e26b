"""Every command the core understands: names, aliases, arguments, who may use it.

The engine routes by this table and the adapters build their platform commands
from it (Discord slash commands, Slack's ``/catchbot`` subcommands), so a command
added here reaches every platform. Descriptions are message keys, so that each
platform shows them in English and Korean from the locale files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description_key: str
    choices: tuple[str, ...] = ()
    required: bool = False
    # The rest of the line (several words), e.g. a player's name.
    rest: bool = False


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    aliases: tuple[str, ...]
    description_key: str
    params: tuple[Param, ...] = ()
    # Admin-only as a whole; some commands are open to all for reading and admin-only for changes.
    admin: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


GAMES = ("drawing", "dialect")
DIFFICULTY_CHOICES = ("easy", "normal", "hard", "any")
REGION_CHOICES = ("jeju", "gyeongsang", "jeolla", "chungcheong", "gangwon", "any")
BOARD_GAME_CHOICES = ("drawing", "dialect", "both")
PERIOD_CHOICES = ("week", "month", "all")
CONFIG_KEYS = ("collect", "locale", "timezone", "judge")
WORD_ACTIONS = ("list", "add", "remove")

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", ("도움말", "도움"), "commands.help"),
    CommandSpec(
        "draw",
        ("그림", "그리기"),
        "commands.draw",
        (Param("difficulty", "commands.param_difficulty", DIFFICULTY_CHOICES),),
    ),
    CommandSpec(
        "dialect",
        ("사투리", "방언"),
        "commands.dialect",
        (Param("region", "commands.param_region", REGION_CHOICES),),
    ),
    CommandSpec("skip", ("넘기기", "스킵"), "commands.skip"),
    CommandSpec("hint", ("힌트",), "commands.hint"),
    CommandSpec("secret", ("myword", "내단어", "제시어"), "commands.secret"),
    CommandSpec(
        "leaderboard",
        ("lb", "top", "순위", "랭킹"),
        "commands.leaderboard",
        (
            Param("game", "commands.param_board_game", BOARD_GAME_CHOICES),
            Param("period", "commands.param_period", PERIOD_CHOICES),
        ),
    ),
    CommandSpec("stats", ("전적", "통계"), "commands.stats", (Param("player", "commands.param_player", rest=True),)),
    CommandSpec(
        "model",
        ("models", "모델"),
        "commands.model",
        (Param("game", "commands.param_game", GAMES), Param("model", "commands.param_model")),
    ),
    CommandSpec("usage", ("사용량",), "commands.usage"),
    CommandSpec(
        "config",
        ("설정",),
        "commands.config",
        (Param("key", "commands.param_config_key", CONFIG_KEYS), Param("value", "commands.param_config_value")),
    ),
    CommandSpec(
        "word",
        ("words", "단어"),
        "commands.word",
        (
            Param("action", "commands.param_word_action", WORD_ACTIONS),
            Param("args", "commands.param_word_args", rest=True),
        ),
    ),
)

_BY_NAME: dict[str, CommandSpec] = {name: spec for spec in COMMANDS for name in spec.names}


def lookup(name: str) -> CommandSpec | None:
    """The command called ``name`` (any alias, Korean too; case and one leading ``/`` or ``!`` ignored)."""
    word = name.strip().lower()
    if word[:1] in ("/", "!"):
        word = word[1:]
    return _BY_NAME.get(word)
