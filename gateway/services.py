"""The database work of opening and closing a socket: one call each, run off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatproject.exceptions import NotFound
from gateway import presence
from meta.selectors import membership_get_for_member
from meta.tokens import user_for_access_token
from registry import services as registry_services
from send import positions
from send.positions import RoomPosition


@dataclass(frozen=True)
class OpenedSocket:
    device: int | None  # the device's key when the socket named one
    positions: dict[int, RoomPosition]
    came_online: bool  # the user's first socket in the cluster (and not within the grace period)


def socket_user(*, token: str) -> int:
    """The id of the user a socket's access token belongs to. Raises NotAuthenticated or
    UserBanned."""
    return user_for_access_token(token).pk


def socket_open(
    *,
    user_id: int,
    gateway_id: str,
    connection_id: str,
    device_id: str | None = None,
    register_again: Callable[[], None] | None = None,
) -> OpenedSocket:
    """Record the route of a new socket (and its device, when it names one), then read where it
    stands in each room. In this order: a message stored after the read is pushed here, one
    stored before is in the read.

    When the registry has forgotten this gateway (a long pause, a purge), `register_again`
    registers it (the runtime's) and the route is recorded then; without it NotFound is raised.
    """
    came_online = not presence.user_was_online(user_id=user_id)
    try:
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    except NotFound:
        if register_again is None:
            raise
        register_again()
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    device = positions.device_open(user_id=user_id, device_id=device_id) if device_id is not None else None
    return OpenedSocket(
        device=device,
        positions=positions.positions_for_socket(user_id=user_id, device=device),
        came_online=came_online,
    )


def socket_close(*, user_id: int, gateway_id: str, connection_id: str, device: int | None = None) -> bool:
    """Remove the socket's route (and note when its device was last seen). True when it was
    the user's last socket in the cluster."""
    registry_services.user_disconnect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    if device is not None:
        positions.device_seen(device=device)
    return presence.user_socket_closed(user_id=user_id)


def room_last_seq(*, user_id: int, room_id: int) -> int:
    """The room's last seq, for a member. Raises NotFound (no such room) or Forbidden (not a
    member), as history does."""
    return membership_get_for_member(user_id=user_id, room_id=room_id).room.last_seq
