"""Usernames: their normalised key (uniqueness and login), TS #39 script restriction and
confusable skeleton; see `keys`."""

from meta.usernames.keys import MAX_NORMALISED_LENGTH, highly_restrictive, username_key, username_skeleton

__all__ = ["MAX_NORMALISED_LENGTH", "highly_restrictive", "username_key", "username_skeleton"]
