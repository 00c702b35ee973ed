"""The database work of opening and closing a socket: one call each, off the event loop."""

from __future__ import annotations

from chatproject.exceptions import NotFound
from meta.tokens import user_for_access_token
from registry import services as registry_services
from send.selectors import RoomPosition, positions_for_users


def socket_user(*, token: str) -> int:
    """The id of the user a socket's access token belongs to. Raises NotAuthenticated or
    UserBanned."""
    return user_for_access_token(token).pk


def socket_open(*, user_id: int, gateway_id: str, connection_id: str) -> dict[int, RoomPosition]:
    """Record the route of a new socket, then read where the user stands in each room. In this
    order: a message stored after the read is pushed here, one stored before is in the read."""
    try:
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    except NotFound:
        # This gateway's record expired (a long pause, a purge): register again and retry.
        from registry.lifecycle import gateway_register_self

        gateway_register_self()
        registry_services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    return positions_for_users(user_ids=[user_id]).get(user_id, {})


def socket_close(*, user_id: int, gateway_id: str, connection_id: str) -> None:
    registry_services.user_disconnect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
