"""Pushing stored messages to the gateways: one `deliver` event per gateway, never per member.

The events and the publishing rules (after commit, never raising) are the bus's
(`chatproject.bus`); this module builds the message events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from chatproject.bus import DeliverEvent, publish
from chatproject.frames import encode
from send.representation import MessageObject, ack_frame, chat_frame


def message_publish(
    *, message: MessageObject, user_ids: Iterable[int], sent_at_ms: int | None = None, resend: bool = False
) -> None:
    """Push a stored message to the gateways holding `user_ids`; the sender's sockets get an
    ack frame too, except on a resend. `sent_at_ms` is when it was stored (the gateways measure
    delivery latency from it); a resend's latency counts from now. Never raises."""
    frame = encode(chat_frame(message))
    ack = None if resend else encode(ack_frame(message))
    started = int(time.time() * 1000) if resend or sent_at_ms is None else sent_at_ms

    def event_for(users: list[int]) -> DeliverEvent:
        return {
            "type": "deliver",
            "users": users,
            "room_id": message["room_id"],
            "seq": message["seq"],
            "msg_id": message["id"],
            "sender_id": message["sender_id"],
            "frame": frame,
            "ack": ack,
            "resend": resend,
            "sent_at_ms": started,
        }

    publish(user_ids=user_ids, event_for=event_for)
