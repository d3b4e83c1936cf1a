"""The one date parser of the sources: every timestamp an export, a file or a service gives becomes
``Post.created_at``'s ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds) here, so that the store's order by
date holds across sources and networks (``base.Post``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

# Cells that mean "no value" (spreadsheets, pandas); also what ``_file_values`` reads as no value.
NULLS = frozenset({"", "null", "none", "nan", "nat", "n/a"})
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
# Days in each month as two-digit strings; February 29th is left to datetime, which knows leap years.
_LAST_DAY = dict(zip(range(1, 13), "31 28 31 30 31 30 31 31 30 31 30 31".split()))
# X's "Wed Jul 27 15:19:52 +0000 2022" (API v1.1 and archives), read by hand: strptime costs ~10 µs a
# post, which an archive of 200k posts pays in full.
_X_DATE = re.compile(r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
# The same in UTC, clock and year in range, as every post of an X archive has it: written out from its
# fields, about 4x faster than through a datetime.
_X_UTC = re.compile(r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) ((?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d) "
                    r"\+0000 (19[7-9]\d|[2-9]\d{3})")
# ISO 8601 that datetime.fromisoformat does not read: a lowercase "z" (RFC 3339 allows it), and on
# Python 3.10 a "Z" or a fraction of other than 3 or 6 digits. The fraction is dropped: seconds suffice.
_ISO_LOOSE = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:[.,]\d+)?\s*([Zz]|[+-]\d\d:?\d\d)?")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_ISO_WITH_ZONE = ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z")
# strptime's %Z also takes the zone names of the machine it runs on ("CET"), and reads them as UTC:
# only these two say UTC wherever the file is read.
_UTC_NAMES = frozenset({"UTC", "GMT"})


def parse_date(value: Any) -> str | None:
    """A post's date as ISO 8601 in UTC, whole seconds: ``2022-07-27T15:19:52Z``; None if not a date.

    Accepted (surrounding spaces ignored):

    - X (API v1.1, archives): ``Wed Jul 27 15:19:52 +0000 2022``, any ``+HHMM``/``-HHMM`` offset.
    - ISO 8601 / RFC 3339: ``2022-07-27T15:19:52Z`` (or ``z``), with an offset (``+02:00``,
      ``-0530``), a fraction (``.123``, any number of digits; dropped), ``T`` or a space between
      date and time; X archives before 2019 write ``2013-05-01 12:00:00 +0000``. A date alone is
      midnight.
    - ``2022-07-27 15:19:52 UTC`` (or ``GMT``).
    - RFC 2822 / HTTP dates: ``Wed, 27 Jul 2022 15:19:52 +0000`` (or ``GMT``), and asctime's
      ``Wed Jul 27 15:19:52 2022``, which HTTP also allows.
    - ``d/m/Y`` or ``m/d/Y`` with an optional ``H:MM[:SS]``, only when the day is over 12:
      ``03/04/2022`` could be either and gives None.
    - Unix epoch seconds, as a number or a string of digits; values of 1e11 and more are
      milliseconds. Values under 1e8 (before 1973) are counts or years, not dates: None.

    A time without an offset is read as UTC. None for None, booleans, empty or null-like strings
    (``null``, ``NaN``, ``n/a``...), anything else unreadable, impossible dates (``2022-13-45``) and
    years outside 1970-9999 once in UTC. Never raises.
    """
    if type(value) is str:
        m = _X_UTC.fullmatch(value)
        fast = _x_utc(m) if m else None
        if fast:
            return fast
    dt = parse_datetime(value)
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: Any) -> datetime | None:
    """What ``parse_date`` reads, as an aware datetime in UTC (fraction kept); None where it gives None."""
    try:
        dt = _read(value)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        dt = dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    # strftime writes years before 1000 with fewer than 4 digits; no post is older than 1970.
    return dt if 1970 <= dt.year <= 9999 else None


def _x_utc(m: re.Match[str]) -> str | None:
    """An ``_X_UTC`` match as ``parse_date`` writes it; None where it is not sure (an unknown month, a
    day past the month's end, February 29th): ``parse_datetime`` then decides."""
    name, day, clock, year = m.groups()
    month = _MONTHS.get(name) or _MONTHS.get(name.title())
    day = day.zfill(2)
    if month is None or not "01" <= day <= _LAST_DAY[month]:  # two-digit strings: compared as numbers
        return None
    return f"{year}-{month:02d}-{day}T{clock}Z"


def _read(value: Any) -> datetime | None:
    """The datetime ``value`` names, naive where it gives no offset; None (or an error) if none."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    s = str(value).strip()
    if not s or s.lower() in NULLS:
        return None
    if _NUMBER.fullmatch(s):
        return _from_epoch(float(s))
    m = _X_DATE.fullmatch(s)
    if m:
        month = _MONTHS.get(m[1].title())
        if month is None:
            return None
        offset = timedelta(hours=int(m[7]), minutes=int(m[8])) * (-1 if m[6] == "-" else 1)
        return datetime(int(m[9]), month, int(m[2]), int(m[3]), int(m[4]), int(m[5]), tzinfo=timezone(offset))
    dt = _read_iso(s[:-4] if s.endswith(" UTC") else s)
    if dt is not None:
        return dt
    for fmt in _ISO_WITH_ZONE:
        if fmt.endswith("%Z") and s.rsplit(None, 1)[-1].upper() not in _UTC_NAMES:
            continue
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    m = _SLASH_DATE.fullmatch(s)
    if m:
        return _slash_date(m)
    try:
        return parsedate_to_datetime(s)
    except (ValueError, TypeError, IndexError):
        return None


def _read_iso(s: str) -> datetime | None:
    """ISO 8601 as ``datetime.fromisoformat`` reads it, else as ``_ISO_LOOSE`` does; None if neither."""
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        pass
    m = _ISO_LOOSE.fullmatch(s)
    if not m:
        return None
    zone = m[2] or ""
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif len(zone) == 5:
        zone = f"{zone[:3]}:{zone[3:]}"  # Python 3.10 reads +05:30, not +0530
    try:
        return datetime.fromisoformat(m[1].replace(" ", "T") + zone)
    except ValueError:  # the shape of a date, not a real one: 2022-13-45
        return None


def _slash_date(m: re.Match[str]) -> datetime | None:
    a, b, year = int(m[1]), int(m[2]), int(m[3])
    if a > 12 >= b:
        day, month = a, b
    elif b > 12 >= a:
        day, month = b, a
    else:
        return None  # 03/04/2022: April or March? Better no date than a wrong one.
    return datetime(year, month, day, int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))


def _from_epoch(seconds: float) -> datetime | None:
    if seconds >= 1e11:  # 1e11 s is the year 5138: such values are milliseconds
        seconds /= 1000
    if seconds < 1e8:  # before 1973: a count or a year, not a post's date
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
