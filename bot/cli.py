"""The ``catchbot`` command line (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings
from bot.errors import UserError

log = logging.getLogger("catchbot")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catchbot", description="Drawing and dialect game bot.")
    parser.add_argument("--db", type=Path, help="SQLite file (default: CATCHBOT_DB_PATH or ./catchbot.db)")
    parser.add_argument("--env-file", default=".env", help="optional settings file (default: .env)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="start the bot (the console when no Discord/Slack token is set)")
    run.set_defaults(handler=_run)
    console = sub.add_parser("console", help="play in this terminal (lines from a pipe work too)")
    console.add_argument("--user", default="player", help="the first player's name")
    console.add_argument("--channel", default="main")
    console.set_defaults(handler=_console)

    judge = sub.add_parser("judge", help="would GUESS count for the secret word SECRET? (exit 0 yes, 1 no)")
    judge.add_argument("secret")
    judge.add_argument("guess")
    judge.set_defaults(handler=_judge)

    score = sub.add_parser("dialect-score", help="the 0-100 score of ANSWER for a dialect sentence")
    score.add_argument("--dialect", required=True, help="the dialect sentence")
    score.add_argument("--reference", required=True, action="append", help="an accepted standard sentence")
    score.add_argument("answer")
    score.set_defaults(handler=_dialect_score)

    bank = sub.add_parser("bank", help="manage a space's own sentence bank")
    bank_sub = bank.add_subparsers(dest="bank_command", metavar="ACTION", required=True)
    load = bank_sub.add_parser("import-dialect", help="load AI-Hub dialect label files into a space's bank")
    load.add_argument("paths", nargs="+", type=Path)
    load.add_argument("--space", default="console", help="the space (Discord guild id, Slack team id, console)")
    load.add_argument("--region", help="region for files whose region cannot be told from their path")
    load.add_argument("--source", choices=("dialect", "pronunciation"), default="dialect")
    load.add_argument("--limit", type=int, default=5000, help="at most this many sentences (default 5000)")
    load.set_defaults(handler=_import_dialect)

    for module in ("bot.ai.cli", "bot.finetune.cli", "storage.cli"):
        _register(module, sub)
    return parser


def _register(module: str, sub: Any) -> None:
    import importlib

    importlib.import_module(module).register(sub)


def _run(args: argparse.Namespace, settings: Settings) -> Any:
    platforms = [
        name
        for name, token in (("Discord", settings.discord_token), ("Slack", settings.slack_bot_token))
        if token is not None
    ]
    if platforms:
        print(
            f"{' and '.join(platforms)} tokens are set, but this version of catchbot ships only the console "
            "adapter; starting the console.",
            file=sys.stderr,
        )
    args.user, args.channel = "player", "main"
    return _console(args, settings)


async def _console(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.console import Console, ConsoleTransport
    from bot.app import running_engine

    transport = ConsoleTransport()
    async with running_engine(settings, transport) as engine:
        await Console(engine, transport, user=args.user, channel=args.channel).run()
    return 0


def _judge(args: argparse.Namespace, settings: Settings) -> int:
    from bot.judge import judge_cli
    from bot.words import default_bank

    code, text = judge_cli(default_bank(), args.secret, args.guess)
    print(text)
    return code


def _dialect_score(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dialect.scoring import score_answer

    print(f"{score_answer(args.answer, args.dialect, args.reference):.1f}")
    return 0


async def _import_dialect(args: argparse.Namespace, settings: Settings) -> int:
    from bot.dialect.aihub import ImportStats, iter_pairs
    from bot.dialect.bank import DialectBankError, DialectItem, parse_region
    from storage import Database

    try:
        fallback_region = parse_region(args.region) if args.region else None
    except DialectBankError:
        print(f"unknown region {args.region!r}", file=sys.stderr)
        return 2
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
    db = await Database.open(settings.db_path)
    try:
        await db.put_custom_entries("custom_dialect", args.space, items)
    finally:
        await db.close()
    print(stats.summary(), file=sys.stderr)
    if no_region:
        print(f"{no_region} pairs skipped: region unknown (pass --region)", file=sys.stderr)
    print(f"loaded {len(items)} sentences into the bank of space {args.space!r}")
    return 0 if items else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:  # plain `catchbot [--db X]` starts the bot
        args = parser.parse_args([*argv, "run"])
    handler: Callable[..., Any] = args.handler
    try:
        overrides = {"db_path": args.db} if args.db else {}
        settings = load_settings(args.env_file if Path(args.env_file).is_file() else None, **overrides)
    except ConfigError as exc:
        print(f"catchbot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        result = handler(args, settings)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return int(result or 0)
    except KeyboardInterrupt:
        return 130
    except UserError as exc:
        print(f"catchbot: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from storage import StorageError

        if isinstance(exc, StorageError):
            print(f"catchbot: {exc}", file=sys.stderr)
            return 2
        raise


async def _await(result: Any) -> Any:
    return await result


if __name__ == "__main__":
    sys.exit(main())
