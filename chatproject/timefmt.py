"""The one wire format for times: ISO 8601 in UTC with milliseconds and `Z` (API.md §1.1)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_utc(dt: datetime) -> str:
    """`dt` as "2026-11-23T10:04:05.123Z" (UTC, milliseconds truncated, never rounded up).

    Raises ValueError for a naive datetime: the project only handles timezone-aware ones.
    """
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError("iso_utc() needs a timezone-aware datetime")
    utc = dt.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def unix_ms(dt: datetime) -> int:
    """`dt` as milliseconds since the Unix epoch (the wire's `*_ms` fields)."""
    return int(dt.timestamp() * 1000)
