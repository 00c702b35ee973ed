"""The database work of opening and closing a socket: one call each, run off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chatproject.exceptions import NotFound
from meta.tokens import user_for_access_token
from registry import services as registry_services
from send import positions
from send.positions import RoomPosition


@dataclass(frozen=True)
class OpenedSocket:
    device: int | None  # the device's key when the socket named one
    positions: dict[int, RoomPosition]


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
    try:
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    except NotFound:
        if register_again is None:
            raise
        register_again()
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    device = positions.device_open(user_id=user_id, device_id=device_id) if device_id is not None else None
    return OpenedSocket(device=device, positions=positions.positions_for_socket(user_id=user_id, device=device))


def socket_close(*, user_id: int, gateway_id: str, connection_id: str, device: int | None = None) -> None:
    registry_services.user_disconnect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    if device is not None:
        positions.device_seen(device=device)
