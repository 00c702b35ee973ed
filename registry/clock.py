"""The registry's one clock. Tests patch `registry.clock.now` to drive time forward."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return timezone.now()
