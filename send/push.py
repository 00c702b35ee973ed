"""Publishing to the gateways after commit: one channel-layer send per gateway, never per member.

The database is the source of truth: if a push is lost (Redis down, channel full, a gateway
crash), the message stays owed and the gateways' sweep or the member's next connection
delivers it. So a failed push is logged, never raised into the request that stored the message.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chatproject import metrics
from registry.selectors import gateways_for_users
from send.events import CloseEvent, DeliverEvent, ForwardEvent, GatewayEvent, NoticeEvent, SyncEvent, gateway_channel
from send.representation import MessageObject, ack_frame, chat_frame, encode, notice_frame

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., None])


def _never_raises(fn: F) -> F:
    """A push runs after the data it announces is committed: a failure (database or Redis
    unreachable) is logged and left to the gateways' sweep, never raised into the request."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            logger.warning("%s failed; the gateways' sweep will deliver", fn.__name__, exc_info=True)

    return wrapper  # type: ignore[return-value]


async def _send_all(events: dict[str, GatewayEvent]) -> None:
    layer = get_channel_layer()
    for gateway_id, event in events.items():
        try:
            await layer.send(gateway_channel(gateway_id), event)
        except Exception:
            metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
            logger.warning("push to gateway %s failed; the sweep will deliver", gateway_id, exc_info=True)


def _publish(events: dict[str, GatewayEvent]) -> None:
    if not events:
        return
    try:
        async_to_sync(_send_all)(events)
    except Exception:
        metrics.CHANNEL_LAYER_SEND_ERRORS.inc()
        logger.warning("push failed; the sweep will deliver", exc_info=True)


def _unix_ms(iso: str) -> int:
    """'2026-11-23T10:04:05.123Z' → Unix milliseconds."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@_never_raises
def message_publish(*, message: MessageObject, user_ids: Iterable[int], resend: bool = False) -> None:
    """Push a stored message to the gateways holding `user_ids` (the sender gets an ack frame,
    except on a resend)."""
    routes = gateways_for_users(user_ids=user_ids)
    frame = encode(chat_frame(message))
    ack = None if resend else encode(ack_frame(message))
    # Delivery latency starts when the message was stored; for a resend, when it was asked for.
    sent_at_ms = int(time.time() * 1000) if resend else _unix_ms(message["created_at"])
    events: dict[str, GatewayEvent] = {}
    for gateway_id, users in routes.items():
        event: DeliverEvent = {
            "type": "deliver",
            "users": users,
            "room_id": message["room_id"],
            "seq": message["seq"],
            "msg_id": message["id"],
            "sender_id": message["sender_id"],
            "frame": frame,
            "ack": ack,
            "resend": resend,
            "sent_at_ms": sent_at_ms,
        }
        events[gateway_id] = event
    _publish(events)


@_never_raises
def notice_publish(*, room_id: int, user_ids: Iterable[int], payload: dict[str, Any]) -> None:
    """Push a `notice` frame to those of `user_ids` who are online."""
    routes = gateways_for_users(user_ids=user_ids)
    frame = encode(notice_frame(room_id=room_id, payload=payload))
    events: dict[str, GatewayEvent] = {}
    for gateway_id, users in routes.items():
        event: NoticeEvent = {"type": "notice", "users": users, "frame": frame}
        events[gateway_id] = event
    _publish(events)


@_never_raises
def sync_publish(*, user_ids: Iterable[int]) -> None:
    """Ask the gateways of `user_ids` to deliver whatever the database says those users are owed."""
    events: dict[str, GatewayEvent] = {}
    for gateway_id, users in gateways_for_users(user_ids=user_ids).items():
        event: SyncEvent = {"type": "sync", "users": users}
        events[gateway_id] = event
    _publish(events)


@_never_raises
def frame_publish(*, user_ids: Iterable[int], frame: dict[str, Any]) -> None:
    """Push an arbitrary frame to wherever `user_ids` are connected."""
    text = encode(frame)
    events: dict[str, GatewayEvent] = {}
    for gateway_id, users in gateways_for_users(user_ids=user_ids).items():
        event: ForwardEvent = {"type": "forward", "users": users, "frame": text}
        events[gateway_id] = event
    _publish(events)


CLOSE_BANNED = 4403


@_never_raises
def sockets_close_publish(*, user_ids: Iterable[int], code: int) -> None:
    """Close every socket of `user_ids` with `code` (a ban: 4403)."""
    events: dict[str, GatewayEvent] = {}
    for gateway_id, users in gateways_for_users(user_ids=user_ids).items():
        event: CloseEvent = {"type": "close", "users": users, "code": code}
        events[gateway_id] = event
    _publish(events)
