"""The ``catchbot`` command line (also ``python -m bot``).

Start-up is kept short (issue 11): this module imports only the standard
library pieces it needs to build the parser. Settings (pydantic), the model
client (openai), Pillow and SQLite are imported by the commands that use them,
so ``catchbot judge`` and ``catchbot --help`` never load them.

Global options (``--db``, ``--env-file``, ``-v``) work before and after the
command name and show in every command's help: every parser, including the
ones other modules add through :data:`MODULES`, is a :class:`_Parser`, which
adds them itself.

Messages for the user come from ``bot/locales/*/cli.json`` in the terminal's
language (``CATCHBOT_LOCALE``, else ``LC_ALL``/``LC_MESSAGES``/``LANG``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.i18n import language_of, terminal_locale, text

if TYPE_CHECKING:
    from bot.config import Settings

# Commands that live in other modules, listed here so that the parser can show them without importing the
# module (some pull in openai or pydantic). The module is imported only when one of its commands runs or its
# help is asked for; then its ``register(sub)`` adds the real parsers. tests/test_cli.py checks that this
# table matches what each module registers.
MODULES: dict[str, dict[str, str]] = {
    "bot.ai.cli": {
        "guess": "ask the drawing model what an image shows",
        "translate": "ask the dialect model for the standard Korean of TEXT",
    },
    "bot.finetune.cli": {
        "dataset": "build and check fine-tuning files (chat JSONL)",
        "finetune": "fine-tuning jobs (any OpenAI-compatible endpoint)",
        "eval": "score models on a held-out chat JSONL file",
    },
    "adapters.discord_cli": {
        "discord": "Discord set-up: slash commands, invite URL",
    },
    "storage.cli": {"db": "database status, board totals, moving to PostgreSQL"},
}


def _add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Below the top level the defaults are SUPPRESS, so an option given before the command is not reset by
    # the subcommand's parser.
    group = parser.add_argument_group("global options") if not top else parser
    default: Any = argparse.SUPPRESS
    group.add_argument(
        "--db",
        type=Path,
        default=None if top else default,
        help="SQLite file (default: CATCHBOT_DB_PATH or ./catchbot.db)",
    )
    group.add_argument(
        "--env-file", default=None if top else default, help="settings file (default: .env when there is one)"
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else default,
        help="show more log lines (-v: INFO, -vv: DEBUG; default: warnings only, or CATCHBOT_LOG_LEVEL)",
    )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose every subcommand parser knows the global options."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_global_options(self, top=top)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("catchbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _build_parser(load: frozenset[str] = frozenset()) -> argparse.ArgumentParser:
    """The parser; modules in ``load`` register their real commands, the others show placeholders."""
    parser = _Parser(prog="catchbot", description="Drawing and dialect game bot.", top=True)
    parser.add_argument("--version", action="version", version=f"catchbot {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="start the bot (the console when no Discord/Slack token is set)")
    run.set_defaults(handler=_run)
    console = sub.add_parser("console", help="play in this terminal (lines from a pipe work too)")
    console.add_argument("--user", default=None, help="the first player's name (default: your login name)")
    console.add_argument("--channel", default="main", help="the first channel (default: main)")
    console.set_defaults(handler=_console)

    judge = sub.add_parser("judge", help="would GUESS count for the secret word SECRET? (exit 0 yes, 1 no)")
    judge.add_argument("secret")
    judge.add_argument("guess")
    judge.set_defaults(handler=_judge, needs_settings=False)

    score = sub.add_parser("dialect-score", help="the 0-100 score of ANSWER for a dialect sentence")
    score.add_argument("--dialect", required=True, help="the dialect sentence")
    score.add_argument("--reference", required=True, action="append", help="an accepted standard sentence")
    score.add_argument("--explain", action="store_true", help="show the analysed forms and which signal decided")
    score.add_argument("answer")
    score.set_defaults(handler=_dialect_score, needs_settings=False)

    bank = sub.add_parser("bank", help="manage a space's own sentence bank")
    bank_sub = bank.add_subparsers(dest="bank_command", metavar="ACTION", required=True)
    load_bank = bank_sub.add_parser("import-dialect", help="load AI-Hub dialect label files into a space's bank")
    load_bank.add_argument("paths", nargs="+", type=Path)
    load_bank.add_argument(
        "--space",
        default="console",
        help="the space: a Discord server id, a Slack team id, a name from `catchbot db spaces`, or console",
    )
    load_bank.add_argument("--region", help="region for files whose region cannot be told from their path")
    load_bank.add_argument("--source", choices=("dialect", "pronunciation"), default="dialect")
    load_bank.add_argument("--limit", type=int, default=5000, help="at most this many sentences (default 5000)")
    load_bank.set_defaults(handler=_import_dialect)

    for module, commands in MODULES.items():
        if module in load:
            _register(module, sub)
        else:
            for name, help_text in commands.items():
                sub.add_parser(name, help=help_text)
    return parser


def _register(module: str, sub: Any) -> None:
    import importlib

    importlib.import_module(module).register(sub)


def _command_word(argv: Sequence[str]) -> str | None:
    """The command name in ``argv`` (global options may come first), without building the whole parser."""
    globals_only = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    _add_global_options(globals_only, top=True)
    _known, rest = globals_only.parse_known_args(list(argv))
    return next((word for word in rest if not word.startswith("-")), None)


def cli_locale(settings: Settings | None = None) -> str:
    """The language of the command line: ``CATCHBOT_LOCALE`` when set, else the terminal's."""
    if settings is not None and settings.locale is not None:
        return settings.locale
    return language_of(os.environ.get("CATCHBOT_LOCALE")) or terminal_locale()


def load_cli_settings(args: argparse.Namespace, *, terminal_language: bool = True) -> Settings:
    """Settings for a command, with the terminal's language unless ``CATCHBOT_LOCALE`` chose one.

    The bot itself (``run``, ``console``) keeps ``locale`` unset: there the terminal's language is the
    console's platform hint, which a space's own ``config locale`` beats.
    """
    from bot.config import ConfigError, load_settings

    overrides = {"db_path": args.db} if args.db else {}
    if args.env_file is None:
        env_file = ".env" if Path(".env").is_file() else None
    elif Path(args.env_file).is_file():
        env_file = args.env_file
    else:  # named on purpose: a typo must not run the bot with other settings
        raise ConfigError(f"--env-file {args.env_file}: there is no such file")
    settings = load_settings(env_file, **overrides)
    if terminal_language and settings.locale is None:
        settings = settings.model_copy(update={"locale": terminal_locale()})
    return settings


def _say_error(line: str) -> None:
    print(f"catchbot: {line}", file=sys.stderr)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Every configured platform on one engine (adapters/launch.py), or the console when none is."""
    from adapters.launch import configured_platforms, serve_platforms

    platforms = configured_platforms(settings)
    if platforms:
        try:
            return await serve_platforms(settings, platforms)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("adapters."):
                raise
            # This build has no adapter for a configured platform yet: say so and play in the terminal.
            _say_error(text(cli_locale(settings), "cli.platforms_pending", platforms=" + ".join(platforms)))
    args.user, args.channel = None, "main"
    return await _console(args, settings)


def login_name() -> str:
    """The user's login name, the console's default player ("player" when the system cannot tell)."""
    import getpass

    try:
        name = getpass.getuser().strip()
    except (OSError, KeyError, ImportError):
        name = ""
    return name[:40] or "player"


async def _console(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import Console, ConsoleTransport
    from bot.app import running_engine
    from bot.identity import RESERVED_PREFIX, looks_like_ai

    hint = terminal_locale()
    user = args.user or login_name()
    if looks_like_ai(user) or user.startswith(RESERVED_PREFIX):
        _say_error(text(settings.locale or hint, "console.as_reserved", name=user))
        return 2
    transport = ConsoleTransport(locale=settings.locale or hint)
    async with running_engine(settings, transport) as engine:
        console = Console(engine, transport, user=user, channel=args.channel, locale=hint)
        await console.run()
    return 0


def _judge(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.judge import judge_cli
    from bot.words import default_bank

    code, verdict = judge_cli(default_bank(), args.secret, args.guess)
    print(verdict)
    return code


def _dialect_score(args: argparse.Namespace, settings: Settings | None) -> int:
    from bot.dialect.scoring import explain_answer

    explained = explain_answer(args.answer, args.dialect, args.reference)
    if not args.explain:
        print(f"{explained.score:.1f}")
        return 0
    locale = cli_locale(settings)
    if explained.meaning is not None:
        meaning = f"{explained.meaning:.1f}"
    else:
        meaning = "-" if explained.decided == "exact" else text(locale, "cli.meaning_unused")
    print(
        text(
            locale,
            "cli.score_explain",
            score=f"{explained.score:.1f}",
            decided=text(locale, f"cli.decided_{explained.decided}"),
            factor=f"{explained.length_factor:.2f}",
            reference=explained.reference,
            surface=f"{explained.surface:.1f}",
            meaning=meaning,
            answer_form=explained.answer_form or "-",
            reference_form=explained.reference_form or "-",
            dialect_form=explained.dialect_form or "-",
        )
    )
    return 0


async def _import_dialect(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.dialect.aihub import ImportStats, iter_pairs
    from bot.dialect.bank import DialectBankError, DialectItem, parse_region
    from bot.spaces import resolve_space_in
    from storage import open_database

    locale = settings.locale
    try:
        fallback_region = parse_region(args.region) if args.region else None
    except DialectBankError:
        _say_error(text(locale, "cli.unknown_region", region=args.region))
        return 2
    space = await resolve_space_in(settings, args.space)
    stats = ImportStats()
    items: list[tuple[str, dict[str, Any]]] = []
    no_region = 0

    def collect() -> None:
        nonlocal no_region
        for pair in iter_pairs(args.paths, source=args.source, stats=stats):
            region = pair.region or fallback_region
            if region is None:
                no_region += 1
                continue
            item = DialectItem(f"aihub-{len(items) + 1:06d}-{region}", region, pair.dialect, (pair.standard,))
            items.append((item.id, item.to_dict()))
            if len(items) >= args.limit:
                break

    await asyncio.to_thread(collect)
    db = await open_database(settings)
    try:
        await db.put_custom_entries("custom_dialect", space, items)
    finally:
        await db.close()
    print(stats.summary(), file=sys.stderr)
    if no_region:
        print(text(locale, "cli.import_no_region", count=no_region), file=sys.stderr)
    print(text(locale, "cli.import_loaded", count=len(items), space=space))
    return 0 if items else 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    word = _command_word(argv)
    wanted = frozenset(module for module, commands in MODULES.items() if word in commands)
    parser = _build_parser(wanted)
    args = parser.parse_args(argv)
    if args.command is None:  # plain `catchbot [--db X]` starts the bot
        args = parser.parse_args([*argv, "run"])
    handler: Callable[..., Any] = args.handler

    from bot import logs

    settings: Settings | None = None
    if getattr(args, "needs_settings", True):
        from bot.config import ConfigError

        try:
            settings = load_cli_settings(args, terminal_language=handler not in (_run, _console))
        except ConfigError as exc:
            _say_error(str(exc))
            return 2
        logs.configure(args.verbose, settings.log_level)
    else:
        logs.configure(args.verbose, os.environ.get("CATCHBOT_LOG_LEVEL"))
    locale = cli_locale(settings)
    from bot.errors import UserError

    try:
        result = handler(args, settings)
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_await(result))
        sys.stdout.flush()  # a closed pipe shows up here, inside the handling below, not at exit
        return int(result or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`catchbot db status | head -2`): stop quietly, as a tool killed by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except UserError as exc:
        _say_error(exc.message(locale))
        return 2
    except Exception as exc:
        from storage import StorageError

        if isinstance(exc, StorageError):
            _say_error(str(exc))
            return 2
        raise


async def _await(result: Any) -> Any:
    return await result


if __name__ == "__main__":
    sys.exit(main())
