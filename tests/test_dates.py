"""The sources' one date parser (``huggingtweets/sources/_dates.py``): every format it accepts, what it
refuses, and that no source parses dates on its own."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from huggingtweets.sources import _dates, archive, files
from huggingtweets.sources._dates import parse_date, parse_datetime
from huggingtweets.sources._http import rate_limit_wait

SOURCES = Path(__file__).resolve().parent.parent / "huggingtweets" / "sources"
UTC = "2022-07-27T15:19:52Z"


@pytest.mark.parametrize("value", [
    "Wed Jul 27 15:19:52 +0000 2022",  # X API v1.1 and archives
    "Wed Jul 27 17:19:52 +0200 2022",
    "Wed Jul 27 09:49:52 -0530 2022",
    "Thu Jul 28 03:19:52 +1200 2022",  # the next day, in UTC the day before
    "wed jul 27 15:19:52 +0000 2022",
])
def test_x_dates(value):
    assert parse_date(value) == UTC


def test_x_date_with_a_one_digit_day():
    assert parse_date("Sun Jul 3 15:19:52 +0000 2022") == "2022-07-03T15:19:52Z"


@pytest.mark.parametrize("value,expected", [
    ("Sat Feb 29 10:00:00 +0000 2020", "2020-02-29T10:00:00Z"),  # a leap year
    ("Mon Feb 29 10:00:00 +0000 2021", None),
    ("Thu Jun 31 10:00:00 +0000 2021", None),
    ("Sat Jul 31 23:59:59 +0000 2021", "2021-07-31T23:59:59Z"),
    ("Wed Jul 00 10:00:00 +0000 2021", None),
    ("Wed Jul 27 24:00:00 +0000 2022", None),
    ("Wed Jul 27 15:60:00 +0000 2022", None),
    ("Wed Jul 27 15:19:60 +0000 2022", None),
    ("Wed Foo 27 15:19:52 +0000 2022", None),
    ("Wed Dec 31 23:59:59 +0000 1969", None),
    ("Thu Jan 01 00:00:00 +0000 1970", "1970-01-01T00:00:00Z"),
])
def test_x_dates_are_checked(value, expected):
    assert parse_date(value) == expected


def test_x_dates_of_every_day_agree_with_datetime():
    # Most X dates take a shortcut that writes the fields out; it must give what datetime gives.
    day = date(2019, 1, 1)
    while day.year < 2021:
        for clock in ("00:00:00", "23:59:59"):
            value = f"{day:%a %b} {day.day:02d} {clock} +0000 {day.year}"
            assert parse_date(value) == f"{day.isoformat()}T{clock}Z", value
        day += timedelta(days=1)


@pytest.mark.parametrize("value", [
    "2022-07-27T15:19:52Z",
    "2022-07-27T15:19:52z",  # RFC 3339 allows a lowercase z
    "2022-07-27T15:19:52+00:00",
    "2022-07-27T17:19:52+02:00",
    "2022-07-27T17:19:52+0200",
    "2022-07-27T07:19:52-08:00",
    "2022-07-27T20:49:52+05:30",
    "2022-07-27T15:19:52.000Z",  # Mastodon, Bluesky
    "2022-07-27T15:19:52.9Z",  # the fraction is dropped, not rounded
    "2022-07-27T15:19:52.123456Z",
    "2022-07-27T15:19:52.1234567z",
    "2022-07-27T17:19:52.5+02:00",
    "2022-07-27T15:19:52",  # no offset: UTC
    "2022-07-27T15:19:52.123456",
    "2022-07-27 15:19:52",
    "2022-07-27 15:19:52 +0000",  # X archives before 2019
    "2022-07-27 17:19:52 +0200",
    "2022-07-27 15:19:52 UTC",
    "2022-07-27 15:19:52 GMT",
    "  2022-07-27T15:19:52Z\n",
])
def test_iso_8601(value):
    assert parse_date(value) == UTC


def test_a_date_alone_is_midnight():
    assert parse_date("2022-07-27") == "2022-07-27T00:00:00Z"


def test_a_zone_name_other_than_utc_is_not_read_as_utc():
    # strptime's %Z would read the machine's own zone name as UTC; the offset is unknown here.
    assert parse_date("2022-07-27 15:19:52 CET") is None


@pytest.mark.parametrize("value", [
    "Wed, 27 Jul 2022 15:19:52 +0000",  # RFC 2822, HTTP dates
    "Wed, 27 Jul 2022 15:19:52 GMT",
    "Wed, 27 Jul 2022 08:19:52 -0700",
    "27 Jul 2022 15:19:52 +0000",
    "Wed Jul 27 15:19:52 2022",  # asctime, which HTTP also allows: UTC
])
def test_rfc_2822(value):
    assert parse_date(value) == UTC


@pytest.mark.parametrize("value,expected", [
    ("7/27/2022 15:19", "2022-07-27T15:19:00Z"),
    ("7/27/2022 15:19:52", UTC),
    ("27/07/2022", "2022-07-27T00:00:00Z"),
    ("27/7/2022 15:19:52", UTC),
    ("03/04/2022", None),  # March or April: no guess
    ("12/12/2022", None),
])
def test_day_month_year(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", [
    1658935192, 1658935192.0, "1658935192", "1658935192.9",
    1658935192000, 1658935192000.0, "1658935192000",  # milliseconds
])
def test_epoch_seconds_and_milliseconds(value):
    assert parse_date(value) == UTC


@pytest.mark.parametrize("value", [
    None, True, False, "", "   ", "null", "None", "NaN", "NaT", "n/a",
    "yesterday", "not a date", "2022", 2022, 0, -5, "12345",  # counts and years, not dates
    "99999999999999999999", float("inf"), float("nan"),
    "2022-13-45 99:99:99", "2022-02-30T10:00:00Z", "2022-07-27T25:00:00Z",
    "1969-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    [], {}, object(),
])
def test_anything_else_is_none_and_never_raises(value):
    assert parse_date(value) is None
    assert parse_datetime(value) is None


def test_parse_datetime_is_aware_utc_and_keeps_the_fraction():
    dt = parse_datetime("2022-07-27T17:19:52.250+02:00")
    assert dt == datetime(2022, 7, 27, 15, 19, 52, 250_000, tzinfo=timezone.utc)
    assert dt.utcoffset() == timedelta(0)
    x = parse_datetime("Wed Jul 27 15:19:52 +0000 2022")
    assert x == datetime(2022, 7, 27, 15, 19, 52, tzinfo=timezone.utc)


def test_the_sources_share_one_parser():
    assert archive.x_date is parse_date
    assert files.parse_date is parse_date


def test_rate_limit_headers_read_through_the_parser():
    now = datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc).timestamp()
    assert rate_limit_wait({"retry-after": "Tue, 14 Nov 2023 22:14:20 GMT"}, now) == 60
    assert rate_limit_wait({"x-ratelimit-reset": "2023-11-14T22:13:50.500Z"}, now) == 30.5
    assert rate_limit_wait({"retry-after": "soon"}, now) is None


def test_no_source_parses_dates_on_its_own():
    parsing = re.compile(r"strptime|fromisoformat|parsedate|fromtimestamp|dateutil")
    found = [f"{path.name}:{n}" for path in sorted(SOURCES.glob("*.py")) if path.name != "_dates.py"
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if parsing.search(line)]
    assert not found, f"date parsing outside {_dates.__name__}: {found}"
