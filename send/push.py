"""Pushing stored timeline entries (messages and their updates) to the gateways: one `deliver`
event per gateway, never per member.

The events and the publishing rules (after commit, never raising) are the bus's
(`chatproject.bus`); this module builds the message events.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from chatproject.bus import DeliverEvent, publish, room_publish
from chatproject.frames import encode
from send.representation import MessageObject, ack_frame, chat_frame


def message_publish(
    *,
    message: MessageObject,
    user_ids: Iterable[int] | None = None,
    sent_at_ms: int | None = None,
    resend: bool = False,
) -> None:
    """Push a stored message to the gateways holding `user_ids`, by default the members of its
    room who may see it (joined before its seq), as they are now; the sender's sockets get an
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

    if user_ids is None:
        room_publish(room_id=message["room_id"], before_seq=message["seq"], event_for=event_for)
    else:
        publish(user_ids=user_ids, event_for=event_for)


def update_publish(
    *,
    room_id: int,
    seq: int,
    msg_id: int,
    actor_id: int,
    frame: dict[str, Any],
    hidden_frame: dict[str, Any],
    user_ids: Iterable[int],
    hidden_user_ids: Iterable[int],
    sent_at_ms: int,
) -> None:
    """Push a stored update of message `msg_id` to the gateways holding `user_ids`: its frame,
    and to those of them in `hidden_user_ids` (who may not see the message) `hidden_frame`,
    under the same seq. One event per gateway. Never raises."""
    text, hidden_text = encode(frame), encode(hidden_frame)
    hidden = set(hidden_user_ids)

    def event_for(users: list[int]) -> DeliverEvent:
        event: DeliverEvent = {
            "type": "deliver",
            "users": users,
            "room_id": room_id,
            "seq": seq,
            "msg_id": msg_id,
            "sender_id": actor_id,
            "frame": text,
            "ack": None,
            "resend": False,
            "sent_at_ms": sent_at_ms,
            "update": True,
        }
        here = [u for u in users if u in hidden]
        if here:
            event["hidden_users"] = here
            event["hidden_frame"] = hidden_text
        return event

    publish(user_ids=user_ids, event_for=event_for)
