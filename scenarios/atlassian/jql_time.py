"""JQL's relative dates (``-7d``, ``"-1w 2d"``) and date functions (``now()``, ``startOfDay(-1)``,
``endOfMonth("+14d")``, ...), against a given "now", so that a site's fixed clock gives fixed answers.

Values are returned in the form the JQL evaluator compares: ``yyyy-MM-ddTHH:mm`` (minutes; UTC, the site's
time zone). Weeks start on Sunday, as for the site's default locale (en_US).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

RELATIVE = re.compile(r"\s*([+-]?)(\d{1,6})\s*([yMwdhm])", re.ASCII)
UNITS = {"day": "d", "week": "w", "month": "M", "year": "y"}
FUNCTIONS = frozenset({"now", *(f"{edge}of{unit}" for edge in ("start", "end") for unit in UNITS)})


class DateError(ValueError):
    """A relative date or function argument that is not one."""


def as_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def parse_now(clock: str | datetime | None) -> datetime:
    """The reference time: a datetime, a Jira timestamp ("2026-01-05T09:00:00.000+0000"), or None for the
    wall clock."""
    if clock is None:
        return datetime.now(UTC).replace(tzinfo=None)
    if isinstance(clock, datetime):
        return clock.astimezone(UTC).replace(tzinfo=None) if clock.tzinfo else clock
    return datetime.fromisoformat(clock[:19])


def shift(moment: datetime, amount: int, unit: str) -> datetime:
    """`moment` moved by `amount` units (y, M, w, d, h, m); months and years keep the day where it exists.

    Raises:
        DateError: The result is out of the calendar's range.
    """
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        if not 1 <= year <= 9999:
            raise DateError("out of range")
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    step = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    try:
        return moment + amount * step[unit]
    except OverflowError:
        raise DateError("out of range") from None


def offset(text: str, moment: datetime) -> datetime:
    """`moment` moved by a JQL offset: "-1w 2d" (the first sign applies to every part).

    Raises:
        DateError: `text` is not an offset, or the result is out of range.
    """
    text = text.strip()
    sign, pos = 1, 0
    if not text:
        raise DateError(text)
    while pos < len(text):
        m = RELATIVE.match(text, pos)
        if m is None:
            raise DateError(text)
        if m[1]:
            sign = -1 if m[1] == "-" else 1
        moment = shift(moment, sign * int(m[2]), m[3])
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return moment


def relative(text: str, now: datetime) -> str | None:
    """A relative date ("-7d", "-2w", "4w 2d", "-1h") as a time, or None when `text` is not one."""
    if not text or not (text[0] in "+-" or text[0].isdigit()) or not RELATIVE.match(text):
        return None
    try:
        return as_text(offset(text, now))
    except DateError:
        return None


def start_of(moment: datetime, unit: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "d":
        return day
    if unit == "w":
        return day - timedelta(days=(day.weekday() + 1) % 7)  # back to Sunday
    if unit == "M":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def call(name: str, args: list[str], now: datetime) -> str:
    """The value of a date function (one of FUNCTIONS, in any case), with at most one offset argument.

    Raises:
        DateError: The argument is not an offset, or there are too many arguments (the message says which).
    """
    if name.casefold() == "now":
        if args:
            raise DateError(f"Function 'now' expected 0 arguments but received {len(args)}.")
        return as_text(now)
    edge, _, unit_name = name.casefold().partition("of")
    unit = UNITS[unit_name]
    if len(args) > 1:
        raise DateError(f"Function '{name}' expected between 0 and 1 arguments but received {len(args)}.")
    base = start_of(now, unit)
    arg = args[0].strip() if args else ""
    try:
        if re.fullmatch(r"[+-]?\d{1,6}", arg):  # a bare number counts the function's own unit
            base, arg = shift(base, int(arg), unit), ""
        value = base if edge == "start" else shift(base, 1, unit) - timedelta(minutes=1)
        return as_text(offset(arg, value) if arg else value)
    except DateError:
        raise DateError(f"Function '{name}' has an invalid offset '{args[0]}'. Use a number or a duration "
                        f"such as '-1d' or '+2w'.") from None


def day_after(text: str) -> str:
    """The time a day after a normalised time."""
    return as_text(datetime.fromisoformat(text) + timedelta(days=1))
