"""The two servers the gateway is measured against, in the same run, on the same machine:

- `bare_asgi`: a minimal ASGI WebSocket app that writes one pre-encoded frame to each of a
  room's sockets, nothing else: the ceiling of the ASGI server itself;
- `stock_channels`: the stock Channels pattern, a consumer per socket joined to a
  channel-layer group per room and fed by `group_send` per message.

Both speak to the same load-generator clients as the gateway: `/ws?user=<i>&sizes=10,100`
joins user i to every room whose size is above i, the first frame is a welcome (`type`
"system"), and messages are `chat` frames shaped like the gateway's, with `room_id` = the
room's size.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

# The bare Django send baseline's path (`bench.baselines.bare_django`), under /api/ like ours.
BARE_SEND_PATH = "api/bench/bare_send"

WELCOME = {"id": -1, "type": "system", "room_id": -1, "sender_id": -1, "payload": "Connected to WebSocket server"}


def chat_frame(*, room_size: int, n: int, sent_at: float | None = None) -> dict[str, Any]:
    """A chat frame of the gateway's shape and size (API.md §5.2), for room `room_size`."""
    sent_at = time.time() if sent_at is None else sent_at
    return {
        "id": n,
        "type": "chat",
        "room_id": room_size,
        "sender_id": 1,
        "seq": n,
        "created_at": datetime.fromtimestamp(sent_at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "client_msg_id": f"bench-{n}",
        "payload": {"type": "text", "text": f"b{sent_at:.6f}"},
    }


def rooms_of(query_string: bytes) -> tuple[int, list[int]]:
    """(user index, sizes of the rooms that user is in) from `user=<i>&sizes=<a,b,...>`."""
    query = parse_qs(query_string.decode("latin-1"))
    user = int(query.get("user", ["0"])[-1])
    sizes = [int(s) for s in query.get("sizes", [""])[-1].split(",") if s.strip()]
    return user, [size for size in sizes if user < size]


def publish_request(body: bytes) -> tuple[int, int]:
    """(room size, message count) of a `POST /publish` body `{"size": k, "messages": m}`."""
    data = orjson.loads(body or b"{}")
    size, messages = data.get("size"), data.get("messages", 1)
    if not isinstance(size, int) or not isinstance(messages, int) or size < 1 or not 1 <= messages <= 10_000:
        raise ValueError("send {size: int >= 1, messages: 1..10000}")
    return size, messages
