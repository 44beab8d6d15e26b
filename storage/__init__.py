"""Storage: one interface (:class:`storage.base.SqlStorage`), two backends.

SQLite (:class:`Database`, the embedded default) and PostgreSQL
(:class:`storage.postgres.PostgresDatabase`, for several processes on one
database). :func:`open_database` picks one from the settings or a URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.base import SqlStorage
from storage.db import Database
from storage.types import (
    SPACE_NAME,
    Announcement,
    Award,
    BoardEntry,
    DrawingRecord,
    PlayerStats,
    ProcessInfo,
    RoundAlreadyOpen,
    RoundRow,
    SpaceInfo,
    StorageError,
    TotalsMismatch,
    UsageSummary,
)

if TYPE_CHECKING:
    from bot.config import Settings

Storage = SqlStorage  # what the engine and the games talk to, whichever backend

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


async def open_database(
    target: Settings | str | Path, *, pool_size: int | None = None, default_zone: str | None = None
) -> SqlStorage:
    """The configured database: a PostgreSQL URL, a SQLite path, or settings (``database_url`` over ``db_path``)."""
    zone = default_zone
    url: Any = target
    if not isinstance(target, str | Path):
        settings = target
        secret = getattr(settings, "database_url", None)
        url = secret.get_secret_value() if secret is not None else settings.db_path
        if secret is not None and not is_postgres_url(url):
            raise StorageError("CATCHBOT_DATABASE_URL must start with postgresql:// (leave it unset for SQLite)")
        pool_size = pool_size or getattr(settings, "db_pool_size", None)
        zone = zone or settings.timezone
    if is_postgres_url(url):
        from storage.postgres import PostgresDatabase

        return await PostgresDatabase.open(url, pool_size=pool_size or 10, default_zone=zone)
    return await Database.open(Path(url), default_zone=zone)


__all__ = [
    "SPACE_NAME",
    "Announcement",
    "Award",
    "BoardEntry",
    "Database",
    "DrawingRecord",
    "PlayerStats",
    "ProcessInfo",
    "RoundAlreadyOpen",
    "RoundRow",
    "SpaceInfo",
    "Storage",
    "StorageError",
    "TotalsMismatch",
    "UsageSummary",
    "is_postgres_url",
    "open_database",
]
