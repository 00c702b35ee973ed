"""The database work of opening and closing sockets, a batch at a time (`gateway.handshakes`
gathers them): one call each, run off the event loop, a constant number of queries whatever
the batch's size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chatproject.exceptions import NotAuthenticated, NotFound
from gateway import presence
from meta.selectors import membership_get_for_member
from meta.tokens import user_may_connect, users_for_sockets
from registry import services as registry_services
from send import positions
from send.positions import RoomPosition


@dataclass(frozen=True)
class OpenedSocket:
    device: int | None  # the device's key when the socket named one
    positions: dict[int, RoomPosition]
    came_online: bool  # the user's first socket in the cluster (and not within the grace period)


@dataclass(frozen=True)
class SocketRequest:
    """A new socket whose access token verified: its user, its id here, its device id if any."""

    user_id: int
    connection_id: str
    device_id: str | None = None


@dataclass(frozen=True)
class ClosedSocket:
    user_id: int
    connection_id: str
    device: int | None = None


def sockets_open(
    *,
    gateway_id: str,
    requests: Sequence[SocketRequest],
    register_again: Callable[[], None] | None = None,
) -> list[OpenedSocket | NotAuthenticated]:
    """Open a batch of sockets in a constant number of queries, whatever its size: check their
    users (an unknown or inactive one gets NotAuthenticated, a banned one UserBanned, in its
    place of the list), note who was online already, record the routes of the others (and their
    devices), then read where each stands in each room. In this order: a message stored after
    the read is pushed here, one stored before is in the read.

    When the registry has forgotten this gateway (a long pause, a purge), `register_again`
    registers it (the runtime's) and the routes are recorded then; without it NotFound is
    raised. A database failure raises: the whole batch failed.
    """
    users = users_for_sockets(user_ids=[r.user_id for r in requests])
    results: list[OpenedSocket | NotAuthenticated | None] = [None] * len(requests)
    admitted: list[tuple[int, SocketRequest]] = []
    for index, request in enumerate(requests):
        try:
            user_may_connect(users.get(request.user_id))
        except NotAuthenticated as refusal:
            results[index] = refusal
            continue
        admitted.append((index, request))
    if admitted:
        online = presence.users_were_online(last_seen={r.user_id: users[r.user_id].last_seen for _, r in admitted})
        routes = [(r.user_id, r.connection_id) for _, r in admitted]
        try:
            registry_services.users_connect(gateway_id=gateway_id, connections=routes)
        except NotFound:
            if register_again is None:
                raise
            register_again()
            registry_services.users_connect(gateway_id=gateway_id, connections=routes)
        devices = positions.devices_open(devices=[(r.user_id, r.device_id) for _, r in admitted if r.device_id])
        sockets = [(r.user_id, devices[(r.user_id, r.device_id)] if r.device_id else None) for _, r in admitted]
        owed = positions.positions_for_sockets(sockets=sockets)
        for (index, request), socket in zip(admitted, sockets, strict=True):
            results[index] = OpenedSocket(
                device=socket[1],
                positions=dict(owed[socket]),
                came_online=request.user_id not in online,
            )
            online.add(request.user_id)  # a second socket of the user in the batch comes online no more
    return [result for result in results if result is not None]


def sockets_close(*, gateway_id: str, closed: Sequence[ClosedSocket]) -> set[int]:
    """Remove the routes of a batch of closed sockets (and note when their devices were last
    seen), in a constant number of queries. Returns the users whose last socket in the cluster
    it was (their `last_seen` is now)."""
    registry_services.users_disconnect(
        gateway_id=gateway_id, connections=[(c.user_id, c.connection_id) for c in closed]
    )
    positions.devices_seen(devices=[c.device for c in closed if c.device is not None])
    return presence.users_sockets_closed(user_ids=[c.user_id for c in closed])


def room_last_seq(*, user_id: int, room_id: int) -> int:
    """The room's last seq, for a member. Raises NotFound (no such room) or Forbidden (not a
    member), as history does."""
    return membership_get_for_member(user_id=user_id, room_id=room_id).room.last_seq
