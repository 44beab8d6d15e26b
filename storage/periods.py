"""Board buckets: the week and month a ledger row belongs to in a space's time zone.

Must agree exactly with ``bot.periods`` (same construction of local midnight), so
that the bounds the engine asks for match the buckets written here. Buckets are
keyed by the period's start as whole epoch seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

KINDS = ("all", "week", "month")
ALL_START = 0


@lru_cache(maxsize=64)
def zone_of(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def valid_zone(name: str | None) -> bool:
    if not name:
        return False
    try:
        zone_of(name)
    except (KeyError, ValueError):
        return False
    return True


def _epoch(day: date, zone: ZoneInfo) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@lru_cache(maxsize=4096)
def _day_buckets(day: date, zone_name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    zone = zone_of(zone_name)
    monday = week_of(day)
    first = day.replace(day=1)
    return (
        (_epoch(monday, zone), _epoch(monday + timedelta(days=7), zone)),
        (_epoch(first, zone), _epoch(next_month(first), zone)),
    )


def buckets(at: float, zone_name: str) -> list[tuple[str, int]]:
    """(kind, period start) of every board a row written at ``at`` counts towards."""
    day = datetime.fromtimestamp(at, zone_of(zone_name)).date()
    (week_start, _), (month_start, _) = _day_buckets(day, zone_name)
    return [("all", ALL_START), ("week", week_start), ("month", month_start)]


def bucket_for_bounds(start: float | None, end: float | None, zone_name: str) -> tuple[str, int] | None:
    """The bucket whose bounds are exactly [start, end) in the zone, or None (then ask the ledger)."""
    if start is None and end is None:
        return ("all", ALL_START)
    if start is None or end is None or start != int(start):
        return None
    day = datetime.fromtimestamp(start, zone_of(zone_name)).date()
    week, month = _day_buckets(day, zone_name)
    if (start, end) == week:
        return ("week", week[0])
    if (start, end) == month:
        return ("month", month[0])
    return None


def periods_between(first: float, last: float, zone_name: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of every week and month touching [first, last] in the zone."""
    zone = zone_of(zone_name)
    day = datetime.fromtimestamp(first, zone).date()
    end_day = datetime.fromtimestamp(last, zone).date()
    monday = week_of(day)
    while monday <= end_day:
        yield ("week", _epoch(monday, zone), _epoch(monday + timedelta(days=7), zone))
        monday += timedelta(days=7)
    month = day.replace(day=1)
    while month <= end_day:
        yield ("month", _epoch(month, zone), _epoch(next_month(month), zone))
        month = next_month(month)
