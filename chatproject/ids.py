"""Ids and other integers on the wire: JSON integers below 2^53 (API.md §1.1), so that a
browser's `JSON.parse` keeps them exact."""

from __future__ import annotations

from typing import Any

MAX_ID = 2**53 - 1


def is_id(value: Any, *, minimum: int = 1) -> bool:
    """A JSON integer (never a bool) from `minimum` to MAX_ID."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= MAX_ID
