"""The one canonical representation of a message (API.md §3) and the frames built from it.

HTTP replies, history, live `chat` frames and `batch` frames all come from `message_object`, so
they cannot drift apart. Frames are encoded to text once per event, never once per socket
(`chatproject.frames.encode`); the frames that are not about a message live there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from attachments.signing import content_with_signed_urls
from chatproject.timefmt import iso_utc
from send.models import Message


class MessageObject(TypedDict):
    id: int
    room_id: int
    sender_id: int
    seq: int
    client_msg_id: str | None
    created_at: str
    content: dict[str, Any]


def message_object(message: Message) -> MessageObject:
    return {
        "id": message.pk,
        "room_id": message.room_id,
        "sender_id": message.sender_id if message.sender_id is not None else 0,
        "seq": message.seq,
        "client_msg_id": message.client_msg_id,
        "created_at": iso_utc(message.created_at),
        "content": content_with_signed_urls(message.content),  # attachment URLs re-signed (API.md §10)
    }


@dataclass(frozen=True, slots=True)
class TimelineFrame:
    """One entry of a room's timeline as a frame for one member: a `chat` frame, or an update
    frame about message `msg_id` (confirmed by a cumulative ack, or by an ack of its id and
    seq, never by an ack of the message id alone)."""

    seq: int
    msg_id: int
    update: bool
    frame: dict[str, Any]


def chat_frame(obj: MessageObject) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "type": "chat",
        "room_id": obj["room_id"],
        "sender_id": obj["sender_id"],
        "seq": obj["seq"],
        "created_at": obj["created_at"],
        "client_msg_id": obj["client_msg_id"],
        "payload": obj["content"],
    }


def ack_frame(obj: MessageObject) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "type": "ack",
        "room_id": obj["room_id"],
        "sender_id": 0,
        "seq": obj["seq"],
        "client_msg_id": obj["client_msg_id"],
        "payload": None,
    }
