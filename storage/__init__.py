"""Embedded SQLite storage (aiosqlite). Scale-out backends would implement the same API."""

from storage.db import (
    Award,
    BoardEntry,
    Database,
    DrawingRecord,
    PlayerStats,
    RoundAlreadyOpen,
    RoundRow,
    StorageError,
    UsageSummary,
)

__all__ = [
    "Award",
    "BoardEntry",
    "Database",
    "DrawingRecord",
    "PlayerStats",
    "RoundAlreadyOpen",
    "RoundRow",
    "StorageError",
    "UsageSummary",
]
