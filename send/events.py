"""Events on the channel layer, from the send path to the gateways (one channel per gateway).

Every event names the users it is for; a gateway hands it to those of its own sockets. Frames
travel already encoded, so a gateway never re-encodes per socket.
"""

from __future__ import annotations

import re
from typing import Literal, TypedDict

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def gateway_channel(gateway_id: str) -> str:
    """The channel-layer channel a gateway process receives on (ids are already [A-Za-z0-9._-])."""
    return f"gateway.{_SAFE.sub('_', gateway_id)}"[:99]


class DeliverEvent(TypedDict):
    """A stored message for `users`; `ack` (the sender's ack frame) goes to the sender's sockets.
    `sent_at_ms` (Unix ms) is when the message was stored, or a resend asked for: the gateway's
    delivery latency is measured from it."""

    type: Literal["deliver"]
    users: list[int]
    room_id: int
    seq: int
    msg_id: int
    sender_id: int
    frame: str
    ack: str | None
    resend: bool
    sent_at_ms: int


class NoticeEvent(TypedDict):
    """A room event for the online `users`; not stored, not re-sent."""

    type: Literal["notice"]
    users: list[int]
    frame: str


class SyncEvent(TypedDict):
    """Look in the database for anything owed to `users` and deliver it."""

    type: Literal["sync"]
    users: list[int]


class ForwardEvent(TypedDict):
    """An arbitrary frame for `users` (`/center/forward`, pushback of a non-message frame)."""

    type: Literal["forward"]
    users: list[int]
    frame: str


class CloseEvent(TypedDict):
    """Close every socket of `users` with `code` (a banned user: 4403)."""

    type: Literal["close"]
    users: list[int]
    code: int


GatewayEvent = DeliverEvent | NoticeEvent | SyncEvent | ForwardEvent | CloseEvent
