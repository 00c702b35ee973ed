"""The chat list phase of `make bench`: how long `GET /api/joined_rooms` takes for a user in a
thousand rooms (API.md §7.3: read positions, unread and mention counts, the last message, in a
fixed number of queries), over HTTP against the running send process.

The user and their rooms are written beforehand (`fixtures.chat_list_create`); the phase makes
a few warm-up requests, then times each of `requests` requests one after the other (wall time
from the request's first byte to the reply's last, on a kept-alive connection), and checks the
reply: every room listed, and the unread and mention counts the fixture wrote.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from bench.fixtures import ChatList
from bench.httpclient import HttpError, Response
from bench.stats import percentile

WARMUP_REQUESTS = 2
REQUESTS = 20


class Getter(Protocol):
    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Response: ...


async def run(
    *, pool: Getter, chat_list: ChatList, warmup: int = WARMUP_REQUESTS, requests: int = REQUESTS
) -> dict[str, Any]:
    """Time `requests` chat lists of `chat_list.user` after `warmup` untimed ones. The row says
    what the last reply held (`returned` rooms, `unread`, `mentions`) next to what the fixture
    wrote, and `errors` counts requests that failed or answered something else."""
    headers = {"Authorization": f"Bearer {chat_list.user.token}"}
    times_ms: list[float] = []
    errors = 0
    last: dict[str, Any] | None = None
    size = 0
    for n in range(warmup + requests):
        began = time.perf_counter()
        try:
            reply = await pool.get("/api/joined_rooms", headers=headers)
        except HttpError:
            errors += 1
            continue
        seconds = time.perf_counter() - began
        body = reply.json() if reply.status == 200 else None
        if not isinstance(body, dict) or body.get("code") != 0:
            errors += 1
            continue
        last, size = body["data"], len(reply.body)
        if n >= warmup:
            times_ms.append(seconds * 1000)
    rooms = (last or {}).get("rooms", [])
    times_ms.sort()
    return {
        "rooms": chat_list.rooms,
        "messages_per_room": chat_list.messages_per_room,
        "requests": len(times_ms),
        "warmup": warmup,
        "errors": errors,
        "p50_ms": round(percentile(times_ms, 50), 1) if times_ms else None,
        "p95_ms": round(percentile(times_ms, 95), 1) if times_ms else None,
        "max_ms": round(times_ms[-1], 1) if times_ms else None,
        "reply_kb": round(size / 1024, 1),
        "returned": len(rooms),
        "room_ids": len((last or {}).get("room_ids", [])),
        "unread": sum(room.get("unread", 0) for room in rooms),
        "expected_unread": chat_list.unread,
        "mentions": sum(room.get("mentions", 0) for room in rooms),
        "expected_mentions": chat_list.mentions,
    }


def faults(row: dict[str, Any]) -> list[str]:
    """What is wrong with a chat list row (a broken measurement, not a missed target)."""
    found = []
    if not row["requests"]:
        found.append(f"no request answered ({row['errors']} failed)")
    elif row["errors"]:
        found.append(f"{row['errors']} requests failed")
    if row["requests"]:
        for field in ("returned", "room_ids"):
            if row[field] != row["rooms"]:
                found.append(f"{row[field]} {field.replace('_', ' ')} listed of {row['rooms']}")
        for field in ("unread", "mentions"):
            if row[field] != row[f"expected_{field}"]:
                found.append(f"{field} {row[field]}, expected {row[f'expected_{field}']}")
    return found
