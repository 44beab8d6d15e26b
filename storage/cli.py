"""``catchbot db status | spaces | rebuild-totals | migrate-to URL``: look after the database from a shell.

Registered by ``bot/cli.py`` like the other command modules. Exit codes: 0 done,
1 a check found a difference, 2 the user must fix something (URL, non-empty
target, missing file).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

RECENT_SECONDS = 120


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="database status, board totals, moving to PostgreSQL")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="schema version, rows, processes seen recently and their rounds")
    status.set_defaults(handler=status_command)
    spaces = actions.add_parser("spaces", help="the spaces (servers, workspaces, the console) with names and rounds")
    spaces.set_defaults(handler=spaces_command)
    rebuild = actions.add_parser("rebuild-totals", help="rebuild the leaderboard totals from the points ledger")
    rebuild.add_argument(
        "--check", action="store_true", help="then compare every total with the ledger (reads the whole ledger)"
    )
    rebuild.set_defaults(handler=rebuild_command)
    move = actions.add_parser(
        "migrate-to", help="copy this SQLite database into an empty PostgreSQL database and verify it"
    )
    move.add_argument("url", help="postgresql://user:password@host:port/database (must be empty)")
    move.set_defaults(handler=migrate_to_command)


def _refuse_a_missing_file(settings: Settings) -> None:
    """Looking after a database never creates one: a mistyped ``--db`` is said, not made into an empty file."""
    from storage import StorageError

    if settings.database_url is None and not settings.db_path.is_file():
        raise StorageError(f"there is no SQLite database at {settings.db_path} (use --db or CATCHBOT_DB_PATH)")


async def status_command(args: argparse.Namespace, settings: Settings) -> int:
    from storage import open_database

    _refuse_a_missing_file(settings)
    db = await open_database(settings)
    try:
        engine = "PostgreSQL" if db.backend == "postgresql" else "SQLite"
        print(f"database: {engine} {db.describe()}")
        print(f"schema version: {await db.schema_version()}")
        for table in ("rounds", "ledger", "players", "drawings"):
            row = await db._fetchone(f"SELECT count(*) FROM {table}")
            print(f"{table}: {int(row[0])} rows")
        open_rounds = await db._fetchone("SELECT count(*) FROM rounds WHERE status = 'open'")
        print(f"open rounds: {int(open_rounds[0])}")
        print(f"results waiting to be announced: {len(await db.pending_announcements(limit=10_000))}")
        now = time.time()
        seen = await db.processes_seen(since=now - RECENT_SECONDS)
        print(f"processes seen in the last {RECENT_SECONDS} s: {len(seen)}")
        for p in seen:
            print(f"  {p.id} on {p.host} (pid {p.pid}), seen {now - p.seen_at:.0f} s ago, holds {p.rounds_held} rounds")
    finally:
        await db.close()
    return 0


async def spaces_command(args: argparse.Namespace, settings: Settings) -> int:
    """One line per space: the id to pass as ``--space``, its platform, rounds, last round, name."""
    from datetime import datetime

    from bot.safety import neutralise
    from storage import open_database

    _refuse_a_missing_file(settings)
    db = await open_database(settings)
    try:
        known = await db.spaces()
    finally:
        await db.close()
    if not known:
        print("no spaces yet: a server or workspace appears here once the bot has seen it")
        return 0
    width = max(len(s.id) for s in known)
    for space in known:
        last = (
            datetime.fromtimestamp(space.last_played, settings.zone).strftime("%Y-%m-%d") if space.last_played else "-"
        )
        name = neutralise(space.name, 60) if space.name else ""
        print(f"{space.id:<{width}}  {space.platform:<8}  {space.rounds:>6} rounds  last {last:<10}  {name}".rstrip())
    return 0


async def rebuild_command(args: argparse.Namespace, settings: Settings) -> int:
    from storage import open_database

    _refuse_a_missing_file(settings)
    db = await open_database(settings)
    try:
        started = time.perf_counter()
        spaces = await db.rebuild_totals()
        took = time.perf_counter() - started
        wrong = await db.check_totals() if args.check else []
    finally:
        await db.close()
    print(f"rebuilt the board totals of {spaces} spaces from the ledger in {took:.1f} s")
    if not args.check:
        return 0
    if wrong:
        print(f"{len(wrong)} totals still differ from the ledger", file=sys.stderr)
        return 1
    print("every total equals the ledger's sum")
    return 0


async def migrate_to_command(args: argparse.Namespace, settings: Settings) -> int:
    from storage import is_postgres_url
    from storage.copy import CopyRefused, copy_sqlite_to_postgres
    from storage.postgres import redact

    if not is_postgres_url(args.url):
        print("the target must be a postgresql:// URL", file=sys.stderr)
        return 2
    _refuse_a_missing_file(settings)
    source = settings.db_path
    try:
        report = await copy_sqlite_to_postgres(source, args.url, default_zone=settings.timezone)
    except CopyRefused as exc:
        print(str(exc), file=sys.stderr)
        return 2
    for table, count in report.rows.items():
        print(f"{table}: {count} rows copied")
    for space, points in sorted(report.points.items()):
        print(f"space {space}: {points} points, same on both sides")
    print(f"copied {source} into {redact(args.url)}; set CATCHBOT_DATABASE_URL to use it")
    return 0
