"""The one canonical representation of messages and of every WebSocket frame (API.md §3, §5.2).

HTTP replies, history, live `chat` frames and `batch` frames are all built here from the same
message object, so they cannot drift apart. Frames are encoded to text once per event, never
once per socket.
"""

from __future__ import annotations

from typing import Any, TypedDict

import orjson

from chatproject.timefmt import iso_utc
from send.models import Message

WELCOME_TEXT = "Connected to WebSocket server"


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
        "content": message.content,
    }


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


def batch_frame(chat_frames: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": -1, "type": "batch", "room_id": 0, "sender_id": 0, "payload": chat_frames}


def notice_frame(*, room_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": -1, "type": "notice", "room_id": room_id, "sender_id": 0, "payload": payload}


def error_frame(*, code: int, msg: str) -> dict[str, Any]:
    return {"id": -1, "type": "error", "room_id": 0, "sender_id": 0, "payload": {"code": code, "msg": msg}}


def pong_frame() -> dict[str, Any]:
    return {"id": -1, "type": "pong", "room_id": 0, "sender_id": 0, "payload": None}


def welcome_frame() -> dict[str, Any]:
    return {"id": -1, "type": "system", "room_id": -1, "sender_id": -1, "payload": WELCOME_TEXT}


def encode(frame: Any) -> str:
    """Frame → JSON text (ints stay exact: orjson writes them as they are)."""
    return orjson.dumps(frame).decode()


def decode(text: str | bytes) -> Any:
    """JSON text → Python (raises ValueError on malformed JSON)."""
    return orjson.loads(text)
