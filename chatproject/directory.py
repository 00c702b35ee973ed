"""Where users are connected: the port through which the lower layers ask the registry.

The registry's directory (its user routes) sits above `meta` in the layers, yet `meta` shows
who is online and every publisher must find the gateways of the users an event is for. So the
core defines what it needs here, and the registry installs its implementation when Django
starts (`registry.apps`). Nothing below the registry imports it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class Directory(Protocol):
    def gateways_for_users(self, *, user_ids: Iterable[int]) -> dict[str, list[int]]:
        """Live gateway id → the sorted ids of those of `user_ids` with a socket on it."""
        ...

    def gateways_for_room(self, *, room_id: int, before_seq: int) -> dict[str, list[int]]:
        """Live gateway id → the sorted ids of the room's members who joined before `before_seq`
        (who may see an entry of that seq) with a socket on it."""
        ...

    def user_ids_online(self, *, user_ids: Iterable[int]) -> set[int]:
        """Those of `user_ids` with at least one socket on a live gateway."""
        ...


_installed: Directory | None = None


def install(implementation: Directory) -> None:
    """Make `implementation` the process's directory (the registry does, at start-up)."""
    global _installed
    _installed = implementation


def directory() -> Directory:
    """The process's directory. Raises ImproperlyConfigured before the registry installed one."""
    if _installed is None:
        raise ImproperlyConfigured("no user directory is installed: is the registry app in INSTALLED_APPS?")
    return _installed
