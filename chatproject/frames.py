"""WebSocket frames of the wire contract (API.md §5) that are not about one message, their
encoding, and the socket's close codes and size limit.

Every frame is one JSON object with at least `id`, `type`, `room_id`, `sender_id`, `payload`.
Frames built from a message (`chat`, `ack`) live with the message representation in
`send.representation`; everything else is built here, encoded once per event and never once
per socket.
"""

from __future__ import annotations

from typing import Any

import orjson

WELCOME_TEXT = "Connected to WebSocket server"
# Client frames over this many bytes close the socket with CLOSE_TOO_BIG (API.md §5.1).
MAX_FRAME_BYTES = 64 * 1024
# At most this many `chat` frames in one `batch` frame (API.md §5.2).
BATCH_SIZE = 50

# Close codes (API.md §5.1).
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012  # this gateway restarted (or was counted dead): reconnect through the registry
CLOSE_TRY_AGAIN = 1013
CLOSE_TOO_SLOW = 4008  # the client did not read its frames: what it had not read stays owed
CLOSE_BAD_DEVICE = 4400  # `device_id` is not 1-64 letters, digits, '-', '_' or '.'
CLOSE_BAD_TOKEN = 4401
CLOSE_BANNED = 4403
CLOSE_TOO_MANY = 4409


def encode(frame: Any) -> str:
    """Frame → JSON text (ints stay exact: orjson writes them as they are)."""
    return orjson.dumps(frame).decode()


def decode(text: str | bytes) -> Any:
    """JSON text → Python (raises ValueError on malformed JSON)."""
    return orjson.loads(text)


def welcome_frame() -> dict[str, Any]:
    return {"id": -1, "type": "system", "room_id": -1, "sender_id": -1, "payload": WELCOME_TEXT}


def batch_frame(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Frames owed from while the user was away, oldest first (at most BATCH_SIZE)."""
    return {"id": -1, "type": "batch", "room_id": 0, "sender_id": 0, "payload": frames}


def notice_frame(*, room_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": -1, "type": "notice", "room_id": room_id, "sender_id": 0, "payload": payload}


def error_frame(*, code: int, msg: str) -> dict[str, Any]:
    return {"id": -1, "type": "error", "room_id": 0, "sender_id": 0, "payload": {"code": code, "msg": msg}}


def pong_frame() -> dict[str, Any]:
    return {"id": -1, "type": "pong", "room_id": 0, "sender_id": 0, "payload": None}


def read_frame(*, room_id: int, user_id: int, read_seq: int) -> dict[str, Any]:
    """`user_id` has read `room_id` up to `read_seq` (API.md §7.3); live only."""
    return {
        "id": -1,
        "type": "read",
        "room_id": room_id,
        "sender_id": user_id,
        "payload": {"user_id": user_id, "read_seq": read_seq},
    }


TYPING_EXPIRES_MS = 6000


def typing_frame(*, room_id: int, user_id: int) -> dict[str, Any]:
    """`user_id` is typing in `room_id` (API.md §7.4); live only."""
    return {
        "id": -1,
        "type": "typing",
        "room_id": room_id,
        "sender_id": user_id,
        "payload": {"expires_in_ms": TYPING_EXPIRES_MS},
    }


def presence_frame(*, user_id: int, online: bool, last_seen: str | None) -> dict[str, Any]:
    """`user_id` went online or offline (API.md §7.4); live only."""
    return {
        "id": -1,
        "type": "presence",
        "room_id": 0,
        "sender_id": 0,
        "payload": {"user_id": user_id, "online": online, "last_seen": last_seen},
    }
