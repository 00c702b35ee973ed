"""chatproject.timefmt.iso_utc, the one wire format of times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chatproject.timefmt import iso_utc


@pytest.mark.parametrize(
    ("dt", "wire"),
    [
        (datetime(2026, 11, 23, 10, 4, 5, 123456, tzinfo=UTC), "2026-11-23T10:04:05.123Z"),
        (datetime(2026, 11, 23, 10, 4, 5, tzinfo=UTC), "2026-11-23T10:04:05.000Z"),
        (datetime(2026, 11, 23, 10, 4, 5, 999999, tzinfo=UTC), "2026-11-23T10:04:05.999Z"),
        (datetime(2026, 11, 23, 12, 4, 5, 7000, tzinfo=timezone(timedelta(hours=2))), "2026-11-23T10:04:05.007Z"),
        (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), "2026-12-31T23:30:00.000Z"),
    ],
)
def test_iso_utc(dt, wire):
    assert iso_utc(dt) == wire


def test_iso_utc_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        iso_utc(datetime(2026, 11, 23, 10, 4, 5))
