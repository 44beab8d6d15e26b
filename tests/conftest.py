"""Shared fixtures: isolated settings, a real SQLite file, a controllable clock, an engine."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.ai.client import make_client
from bot.ai.players import ModelGateway
from bot.config import Settings, load_settings
from bot.engine import Engine
from storage import Database
from tests.helpers import FakeClock, RecordingTransport
from tests.stubs.openai_server import OpenAIStub

_PLATFORM_PREFIXES = ("CATCHBOT_", "OPENAI_", "AZURE_OPENAI_", "DISCORD_", "SLACK_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's keys or settings, and never write outside tmp_path."""
    for name in list(os.environ):
        if name.startswith(_PLATFORM_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("db_path", tmp_path / "catchbot.db")
        overrides.setdefault("locale", "en")
        return load_settings(env_file=None, **overrides)

    return make


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "catchbot.db")
    yield database
    await database.close()


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def engine(make_settings, db: Database, clock: FakeClock, transport: RecordingTransport) -> AsyncIterator[Engine]:
    import random

    eng = Engine(make_settings(), db, transport=transport, clock=clock, rng=random.Random(7), tick_interval=3600)
    await eng.start()
    yield eng
    await eng.stop()


@pytest.fixture
async def stub() -> AsyncIterator[OpenAIStub]:
    """A local OpenAI-compatible server (the real openai client talks HTTP to it)."""
    async with OpenAIStub() as server:
        yield server


@pytest.fixture
async def make_engine(
    make_settings, db: Database, clock: FakeClock, stub: OpenAIStub
) -> AsyncIterator[Callable[..., Any]]:
    """Engines with AI players on ``stub``; each is stopped at the end."""
    import random

    made: list[Engine] = []

    async def make(transport: RecordingTransport, **overrides: Any) -> Engine:
        overrides.setdefault("openai_base_url", stub.base_url)
        overrides.setdefault("model_retries", 2)
        overrides.setdefault("model_timeout", 5)
        settings = make_settings(**overrides)
        gateway = ModelGateway(settings, make_client(settings), retry_base_delay=0.01, retry_max_delay=0.02)
        engine = Engine(
            settings, db, transport=transport, gateway=gateway, clock=clock, rng=random.Random(3), tick_interval=3600
        )
        await engine.start()
        made.append(engine)
        return engine

    yield make
    for engine in made:
        await engine.stop()
        assert engine.gateway is not None
        await engine.gateway.aclose()


from tests.pg import pg_server  # noqa: E402, F401  (the PostgreSQL server, started once when a test asks)
