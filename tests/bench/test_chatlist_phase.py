"""The chat list phase of the benchmark: what it times and checks, and that its fixture writes
what `GET /api/joined_rooms` counts."""

from __future__ import annotations

import orjson
import pytest

from bench import chatlist_phase
from bench.fixtures import BenchUser, ChatList, chat_list_create
from bench.httpclient import HttpError, Response
from send.conversations import rooms_joined

USER = BenchUser(id=7, token="t7")


class FakePool:
    """Answers the chat list as the server would for `rooms` rooms; fails the first `failing`."""

    def __init__(self, rooms: int, *, failing: int = 0, unread: int = 2) -> None:
        self.rooms = rooms
        self.failing = failing
        self.unread = unread
        self.calls: list[tuple[str, dict[str, str] | None]] = []

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Response:
        self.calls.append((path, headers))
        if len(self.calls) <= self.failing:
            raise HttpError("connection refused")
        rooms = [{"id": n, "unread": self.unread, "mentions": 1} for n in range(self.rooms)]
        data = {"room_ids": [room["id"] for room in rooms], "rooms": rooms}
        return Response(status=200, body=orjson.dumps({"code": 0, "msg": "ok", "data": data}))


def chat_list(rooms: int = 10) -> ChatList:
    return ChatList(user=USER, rooms=rooms, messages_per_room=5, unread=2 * rooms, mentions=rooms)


async def test_it_times_the_requests_after_the_warmup_as_the_user_and_checks_the_reply() -> None:
    pool = FakePool(10)
    row = await chatlist_phase.run(pool=pool, chat_list=chat_list(), warmup=2, requests=5)
    assert pool.calls == [("/api/joined_rooms", {"Authorization": "Bearer t7"})] * 7
    assert (row["requests"], row["errors"], row["returned"], row["room_ids"]) == (5, 0, 10, 10)
    assert (row["unread"], row["mentions"]) == (20, 10)
    assert 0 <= row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert chatlist_phase.faults(row) == []


async def test_a_short_list_wrong_counts_or_failed_requests_are_faults() -> None:
    row = await chatlist_phase.run(pool=FakePool(9, failing=1, unread=3), chat_list=chat_list(), requests=3)
    assert (row["requests"], row["errors"]) == (3, 1)  # a warm-up request failed; the 3 timed ones answered
    assert chatlist_phase.faults(row) == [
        "1 requests failed",
        "9 returned listed of 10",
        "9 room ids listed of 10",
        "unread 27, expected 20",
        "mentions 9, expected 10",
    ]
    row = await chatlist_phase.run(pool=FakePool(10, failing=99), chat_list=chat_list(), requests=3)
    assert (row["p50_ms"], row["returned"]) == (None, 0)
    assert chatlist_phase.faults(row) == ["no request answered (5 failed)"]


@pytest.mark.django_db
def test_the_fixture_writes_what_the_chat_list_counts() -> None:
    written = chat_list_create(rooms=12, messages_per_room=5)
    listed = rooms_joined(user_id=written.user.id)
    assert len(listed) == 12
    assert sum(room.unread for room in listed) == written.unread == 6 * 3
    assert sum(room.mentions for room in listed) == written.mentions == 6
    assert {room.last_message["seq"] for room in listed} == {5}
    assert [room.name for room in listed[:3]] == ["chat list 0", "chat list 1", "chat list 2"]  # most recent first
    mentioned = [room for room in listed if room.mentions]
    assert all(room.read_seq == 2 and room.unread == 3 for room in mentioned)
