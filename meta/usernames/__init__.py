"""Usernames: their normalised form (the key of uniqueness and of login), see `keys`."""

from meta.usernames.keys import username_key

__all__ = ["username_key"]
