"""What starts a fan-out's messages: send_message on our cluster, `/publish` on a baseline."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable

from bench.clients import stamp_text
from bench.fixtures import BenchUser
from bench.httpclient import HttpError, HttpPool

SEND_MESSAGE_PATH = "/api/chat/send_message"


def sender_for_ours(
    *,
    pool: HttpPool,
    room_ids: dict[int, int],
    senders: dict[int, list[BenchUser]],
    run_id: str,
    path: str = SEND_MESSAGE_PATH,
) -> Callable[[int], Awaitable[tuple[bool, float]]]:
    """send_message (or the bare Django send, at its `path`) into the room of a size, senders
    taking turns; (ok, request seconds)."""
    numbers = itertools.count(1)
    turns = {size: itertools.cycle(users) for size, users in senders.items()}

    async def send(size: int) -> tuple[bool, float]:
        user = next(turns[size])
        n = next(numbers)
        body = {
            "room_id": room_ids[size],
            "content": {"type": "text", "text": stamp_text(time.time())},
            "client_msg_id": f"{run_id}-{n}",
        }
        began = time.monotonic()
        try:
            reply = await pool.post(path, body, headers={"Authorization": f"Bearer {user.token}"})
        except HttpError:
            return False, time.monotonic() - began
        ok = reply.status == 200 and (reply.json() or {}).get("code") == 0
        return ok, time.monotonic() - began

    return send


def publisher_for_baseline(*, pool: HttpPool, messages: Callable[[int], int]) -> Callable[[int], Awaitable[bool]]:
    """POST /publish {size, messages} to a baseline server (or the stock feeder)."""

    async def trigger(size: int) -> bool:
        try:
            reply = await pool.post("/publish", {"size": size, "messages": messages(size)})
        except HttpError:
            return False
        return reply.status == 200

    return trigger
