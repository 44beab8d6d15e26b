"""Wiring: settings + database + model gateway + engine, for adapters and commands."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.config import Settings
from bot.engine import Engine, Transport
from bot.errors import UserError
from storage import open_database

# The one-line start-up status shows at the default log level (see bot/logs.py).
log = logging.getLogger("catchbot.status")


def make_gateway(settings: Settings):  # type: ignore[no-untyped-def]
    """The model gateway for the configured provider (disabled when there is none)."""
    from bot.ai.client import make_client
    from bot.ai.players import ModelGateway

    return ModelGateway(settings, make_client(settings))


@contextlib.contextmanager
def only_bot_on(settings: Settings) -> Iterator[None]:
    """One SQLite file serves one bot process: a second one on the same file is refused at start.

    Two processes on one file would each take every open round for its own (closing the other's
    rounds at their deadlines, resuming them after a restart). PostgreSQL is built for several.
    The lock is an advisory ``flock`` on ``<file>.lock``: the kernel drops it when the process
    dies, SIGKILL included, so a crash never leaves a stale lock. Commands that only look at the
    file (``db status``) do not take it and work beside a running bot.
    """
    if settings.database_url is not None:
        yield
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one process per file is then up to the operator
        yield
        return
    fd = os.open(Path(f"{settings.db_path}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise UserError("cli.db_in_use", path=str(settings.db_path), pid=other) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@asynccontextmanager
async def running_engine(settings: Settings, transport: Transport) -> AsyncIterator[Engine]:
    db = await open_database(settings)
    try:
        # Locked once the file is open: a path that cannot hold a database has already said so in one sentence.
        with only_bot_on(settings):
            gateway = make_gateway(settings)
            engine = Engine(settings, db, transport=transport, gateway=gateway)
            log.info(
                "catchbot on %s; models: %s",
                db.describe(),
                settings.resolved_provider if gateway.enabled else "none (humans only)",
            )
            try:
                await engine.start()
                yield engine
            finally:
                await engine.stop()
                await gateway.aclose()
    finally:
        await db.close()
