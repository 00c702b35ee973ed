"""The sockets this process holds, by user: the in-process fan-out table of a gateway.

Only the event loop touches it (consumers add and remove themselves on connect and
disconnect), so it needs no lock. The delivery engine owns one (`delivery_engine().hub`); the
runtime's heartbeat and the metrics read its counts.
"""

from __future__ import annotations

from typing import Protocol


class Socket(Protocol):
    user_id: int
    connection_id: str


class Hub:
    """Each user's sockets as a tuple (rarely more than one, at most WS_MAX_CONNECTIONS_PER_USER):
    `sockets_of` hands it out as it is, with no copy per event, and a tuple of one takes a
    quarter of the memory of a dict of one, which counts with thousands of idle sockets."""

    def __init__(self) -> None:
        self._by_user: dict[int, tuple[Socket, ...]] = {}
        self._count = 0

    def add(self, socket: Socket) -> int:
        """Register a socket; returns how many sockets its user now has here."""
        sockets = self._by_user.get(socket.user_id, ())
        if all(s.connection_id != socket.connection_id for s in sockets):
            sockets = self._by_user[socket.user_id] = (*sockets, socket)
            self._count += 1
        return len(sockets)

    def remove(self, socket: Socket) -> int:
        """Forget a socket; returns how many sockets its user still has here."""
        sockets = self._by_user.get(socket.user_id, ())
        if not any(s is socket for s in sockets):
            return len(sockets)
        left = tuple(s for s in sockets if s is not socket)
        self._count -= 1
        if not left:
            del self._by_user[socket.user_id]
            return 0
        self._by_user[socket.user_id] = left
        return len(left)

    def sockets_of(self, user_id: int) -> tuple[Socket, ...]:
        return self._by_user.get(user_id, ())

    def has_user(self, user_id: int) -> bool:
        return user_id in self._by_user

    def connection_count(self) -> int:
        return self._count

    def user_count(self) -> int:
        return len(self._by_user)

    def all_sockets(self) -> list[Socket]:
        return [s for sockets in self._by_user.values() for s in sockets]
