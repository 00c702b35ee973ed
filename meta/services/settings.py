"""A user's own settings (API.md §7.3): whether others see how far they read."""

from __future__ import annotations

from meta.models import User


def user_settings_update(*, user: User, share_read_receipts: bool | None = None) -> User:
    """Change the settings given; the others stay. From the next read on, a user who stops
    sharing receipts sends `read` frames to their own sockets only, and members lists show
    their `read_seq` as null to others."""
    if share_read_receipts is not None and share_read_receipts != user.share_read_receipts:
        user.share_read_receipts = share_read_receipts
        user.save(update_fields=["share_read_receipts"])
    return user
