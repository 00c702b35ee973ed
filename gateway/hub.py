"""The sockets this process holds, by user: the in-process fan-out table of a gateway.

Only the event loop touches it (consumers add and remove themselves on connect and
disconnect), so it needs no lock. The delivery engine owns one (`delivery_engine().hub`); the
runtime's heartbeat and the metrics read its counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Socket(Protocol):
    user_id: int
    connection_id: str


class Hub:
    def __init__(self) -> None:
        self._by_user: dict[int, dict[str, Socket]] = {}
        self._count = 0

    def add(self, socket: Socket) -> int:
        """Register a socket; returns how many sockets its user now has here."""
        sockets = self._by_user.setdefault(socket.user_id, {})
        if socket.connection_id not in sockets:
            sockets[socket.connection_id] = socket
            self._count += 1
        return len(sockets)

    def remove(self, socket: Socket) -> int:
        """Forget a socket; returns how many sockets its user still has here."""
        sockets = self._by_user.get(socket.user_id)
        if not sockets or sockets.get(socket.connection_id) is not socket:
            return len(sockets or ())
        del sockets[socket.connection_id]
        self._count -= 1
        if not sockets:
            del self._by_user[socket.user_id]
            return 0
        return len(sockets)

    def sockets_of(self, user_id: int) -> Iterable[Socket]:
        sockets = self._by_user.get(user_id)
        return tuple(sockets.values()) if sockets else ()

    def has_user(self, user_id: int) -> bool:
        return user_id in self._by_user

    def connection_count(self) -> int:
        return self._count

    def user_count(self) -> int:
        return len(self._by_user)

    def all_sockets(self) -> list[Socket]:
        return [s for sockets in self._by_user.values() for s in sockets.values()]
