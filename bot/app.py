"""Wiring: settings + database + model gateway + engine, for adapters and commands."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.engine import Engine, Transport
from storage import open_database

# The one-line start-up status shows at the default log level (see bot/logs.py).
log = logging.getLogger("catchbot.status")


def make_gateway(settings: Settings):  # type: ignore[no-untyped-def]
    """The model gateway for the configured provider (disabled when there is none)."""
    from bot.ai.client import make_client
    from bot.ai.players import ModelGateway

    return ModelGateway(settings, make_client(settings))


@asynccontextmanager
async def running_engine(settings: Settings, transport: Transport) -> AsyncIterator[Engine]:
    db = await open_database(settings)
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
        await db.close()
