"""One time parser for every source: what it accepts, and what it refuses without guessing."""

from __future__ import annotations

import datetime as dt

import pytest

from hookseal.sources import SourceError
from hookseal.sources._parse import parse_instant


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1_700_000_000, 1_700_000_000.0),
        (1_700_000_000.5, 1_700_000_000.5),
        ("1700000000", 1_700_000_000.0),
        (" 1700000000 ", 1_700_000_000.0),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        ("2023-11-14T23:13:20+01:00", 1_700_000_000.0),
        (dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc), 1_700_000_000.0),
    ],
)
def test_accepted_spellings_of_one_moment(raw: object, expected: float) -> None:
    assert parse_instant(raw, what="expires_at") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, "must be epoch seconds"),
        ("NaN", "not a finite number"),
        ("inf", "not a finite number"),
        (float("nan"), "not a finite number"),
        (10**400, "not a finite number"),
        ("2023-11-14T22:13:20", "needs a timezone"),
        (dt.datetime(2023, 11, 14), "needs a timezone"),
        ("next tuesday", "not an ISO-8601 time"),
        ([1], "must be epoch seconds"),
    ],
)
def test_refused_without_guessing(raw: object, message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        parse_instant(raw, what="expires_at")
    assert str(info.value).startswith("expires_at: ")
