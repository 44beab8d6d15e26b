"""Leaderboard periods in a space's time zone: this week, this month, all time, or a past one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError

_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
WEEK_WORDS = {"week", "weekly", "w", "주간", "이번주", "주"}
MONTH_WORDS = {"month", "monthly", "m", "월간", "이번달", "달"}
ALL_WORDS = {"all", "alltime", "all-time", "total", "ever", "전체", "누적"}
# Scores start in 1970 (epoch seconds); past 9998 the end of a period is no longer a date.
YEARS = range(1970, 9999)


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # "week", "month" or "all"
    label: str  # "2026-W47", "2026-11" or "all"
    start: float | None  # epoch seconds, inclusive
    end: float | None  # epoch seconds, exclusive


def _epoch(day: date, zone: ZoneInfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()


def time_zone(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None for anything else (a folder such as ``Asia``, a path, junk)."""
    if not name or len(name) > 64 or "\x00" in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def week(year: int, number: int, zone: ZoneInfo) -> Period:
    label = f"{year:04d}-W{number:02d}"
    try:
        if year not in YEARS:
            raise ValueError(label)
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise UserError("core.bad_period", period=label) from None
    return Period("week", label, _epoch(monday, zone), _epoch(monday + timedelta(days=7), zone))


def month(year: int, number: int, zone: ZoneInfo) -> Period:
    if not 1 <= number <= 12 or year not in YEARS:
        raise UserError("core.bad_period", period=f"{year:04d}-{number:02d}")
    first = date(year, number, 1)
    nxt = date(year + number // 12, number % 12 + 1, 1)
    return Period("month", f"{year}-{number:02d}", _epoch(first, zone), _epoch(nxt, zone))


def day_bounds(now: float, zone: ZoneInfo) -> tuple[float, float]:
    today = datetime.fromtimestamp(now, zone).date()
    return _epoch(today, zone), _epoch(today + timedelta(days=1), zone)


def parse_period(text: str | None, now: float, zone: ZoneInfo) -> Period:
    """``week`` (default), ``month``, ``all``, ``2026-W47`` or ``2026-11``."""
    word = (text or "week").strip().lower()
    today = datetime.fromtimestamp(now, zone).date()
    if word in WEEK_WORDS:
        iso = today.isocalendar()
        return week(iso.year, iso.week, zone)
    if word in MONTH_WORDS:
        return month(today.year, today.month, zone)
    if word in ALL_WORDS:
        return Period("all", "all", None, None)
    if m := _WEEK.match(word):
        return week(int(m.group(1)), int(m.group(2)), zone)
    if m := _MONTH.match(word):
        return month(int(m.group(1)), int(m.group(2)), zone)
    raise UserError("core.bad_period", period=text)


def is_period_word(text: str) -> bool:
    word = text.strip().lower()
    return word in WEEK_WORDS | MONTH_WORDS | ALL_WORDS or bool(_WEEK.match(word) or _MONTH.match(word))
