"""One socket's delivery state without sockets or a database: ordering, duplicates, gap filling,
the initial sync, confirmation and redelivery (`gateway.delivery.connection`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Mapping
from typing import Any

import pytest

from gateway.delivery import connection as connection_module
from gateway.delivery.connection import Connection
from send.positions import RoomPosition
from send.representation import TimelineFrame, chat_frame

ROOM = 7
USER = 3


def message(seq: int, room_id: int = ROOM) -> dict[str, Any]:
    return {
        "id": 1000 + seq,
        "room_id": room_id,
        "sender_id": 9,
        "seq": seq,
        "client_msg_id": None,
        "created_at": "2026-11-23T10:04:05.123Z",
        "content": {"type": "text", "text": f"m{seq}"},
    }


def live(seq: int, room_id: int = ROOM) -> dict[str, Any]:
    """What `Connection.deliver` gets for a live chat frame."""
    return {"room_id": room_id, "seq": seq, "msg_id": 1000 + seq, "frame": json.dumps({"seq": seq}), "resend": False}


class FakeStore:
    """The database: a room's messages up to `last_seq`, and the member's position."""

    def __init__(self, *, last_seq: int, start: int = 0, joined_seq: int = 0, member: bool = True) -> None:
        self.last_seq, self.start, self.joined_seq, self.member = last_seq, start, joined_seq, member
        self.reads: list[tuple[int, int]] = []

    async def position(self, *, user_id: int, room_id: int, device: int | None = None) -> RoomPosition | None:
        if not self.member:
            return None
        return RoomPosition(room_id=room_id, start=self.start, last_seq=self.last_seq, joined_seq=self.joined_seq)

    async def frames(
        self, *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
    ) -> list[TimelineFrame]:
        self.reads.append((after_seq, upto_seq))
        seqs = range(after_seq + 1, min(upto_seq, after_seq + limit) + 1)
        return [
            TimelineFrame(seq=s, msg_id=1000 + s, update=False, frame=chat_frame(message(s, room_id))) for s in seqs
        ]

    async def positions(self, *, user_ids: list[int]) -> dict[int, dict[int, RoomPosition]]:
        raise NotImplementedError

    async def confirmations_record(self, *, confirmed: Mapping, device_confirmed: Mapping) -> None:
        raise NotImplementedError


class FakeEngine:
    budget_bytes = 1 << 20

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.proving: set[Connection] = set()
        self.confirmed: dict[tuple[int, int], int] = {}
        self.watched: set[Connection] = set()
        self.tasks: list[asyncio.Task] = []

    def track_proofs(self, connection: Connection) -> None:
        self.proving.add(connection)

    def confirm(self, user_id: int, room_id: int, seq: int, *, device: int | None = None) -> None:
        self.confirmed[(user_id, room_id)] = max(seq, self.confirmed.get((user_id, room_id), 0))

    def watch(self, connection: Connection) -> None:
        self.watched.add(connection)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.ensure_future(coro))

    async def settle(self) -> None:
        while self.tasks:
            await self.tasks.pop(0)


class Socket:
    """The socket's end: the frames written to it, decoded."""

    def __init__(self) -> None:
        self.frames: list[Any] = []

    async def send_text(self, text: str) -> None:
        await asyncio.sleep(0)  # a real socket yields to the loop on every write
        self.frames.append(json.loads(text))

    def seqs(self) -> list[int]:
        """The seqs in the order the client sees them, batches unpacked."""
        out: list[int] = []
        for frame in self.frames:
            if frame.get("type") == "batch":
                out.extend(f["seq"] for f in frame["payload"])
            elif "seq" in frame:
                out.append(frame["seq"])
        return out


async def opened(store: FakeStore, *, ack_mode: bool | None = False) -> tuple[Connection, FakeEngine, Socket]:
    engine, socket = FakeEngine(store), Socket()
    conn = Connection(engine, user_id=USER, send_text=socket.send_text, ack_mode=ack_mode)
    await conn.start(json.dumps({"type": "system"}))
    await conn.initial_sync({ROOM: await store.position(user_id=USER, room_id=ROOM)})
    socket.frames = [f for f in socket.frames if f.get("type") != "system"]
    return conn, engine, socket


@pytest.fixture(autouse=True)
def _short_gap_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "GAP_WAIT_SECONDS", 0.05)


async def test_live_frames_in_order_are_written_at_once_and_duplicates_dropped():
    conn, engine, socket = await opened(FakeStore(last_seq=0))
    for seq in (1, 2, 2, 1, 3):
        await conn.deliver(**live(seq))
    assert socket.seqs() == [1, 2, 3]
    assert engine.tasks == []  # no gap, no database read


async def test_a_resend_of_a_written_frame_is_written_again():
    conn, _, socket = await opened(FakeStore(last_seq=0))
    await conn.deliver(**live(1))
    await conn.deliver(**{**live(1), "resend": True})
    assert socket.seqs() == [1, 1]


async def test_an_early_frame_waits_for_the_missing_one_that_comes_live():
    store = FakeStore(last_seq=0)
    conn, engine, socket = await opened(store)
    await conn.deliver(**live(2))
    assert socket.seqs() == []
    await conn.deliver(**live(1))
    assert socket.seqs() == [1, 2]
    await engine.settle()
    assert store.reads == []  # the gap closed before the wait ended


async def test_a_gap_that_stays_open_is_filled_from_the_database_before_the_early_frame():
    store = FakeStore(last_seq=0)
    conn, engine, socket = await opened(store)
    await conn.deliver(**live(1))
    store.last_seq = 4  # 2 and 3 were stored, their pushes lost
    await conn.deliver(**live(4))
    await engine.settle()
    assert socket.seqs() == [1, 2, 3, 4]
    assert socket.frames[1]["type"] == "batch"
    assert store.reads == [(1, 4)]


async def test_the_initial_sync_sends_what_is_owed_in_batches_then_the_live_frames_held_meanwhile():
    store = FakeStore(last_seq=120, start=10)
    engine, socket = FakeEngine(store), Socket()
    conn = Connection(engine, user_id=USER, send_text=socket.send_text, ack_mode=False)
    await conn.start(json.dumps({"type": "system"}))
    sync = asyncio.ensure_future(conn.initial_sync({ROOM: await store.position(user_id=USER, room_id=ROOM)}))
    await conn.deliver(**live(121))  # arrives while the sync is reading
    await sync
    batches = [f for f in socket.frames if f.get("type") == "batch"]
    assert [len(b["payload"]) for b in batches] == [50, 50, 10]
    assert socket.seqs() == list(range(11, 122))


async def test_a_socket_without_acks_confirms_what_was_written():
    conn, engine, _ = await opened(FakeStore(last_seq=3, start=1), ack_mode=False)
    assert engine.confirmed == {(USER, ROOM): 3}
    await conn.deliver(**live(4))
    assert engine.confirmed == {(USER, ROOM): 4}
    assert engine.watched == set()


async def test_an_ack_mode_socket_confirms_only_what_it_acks():
    conn, engine, _ = await opened(FakeStore(last_seq=0), ack_mode=True)
    for seq in (1, 2, 3):
        await conn.deliver(**live(seq))
    assert engine.confirmed == {}
    conn.ack_one(1002)  # seq 2 alone: the room is confirmed up to its first unconfirmed (1) - 1
    assert engine.confirmed == {}
    conn.ack_cumulative(ROOM, 99)  # never beyond what was written
    assert engine.confirmed == {(USER, ROOM): 3}
    assert not conn.has_pending()


async def test_an_update_frame_is_confirmed_by_its_id_and_seq_not_by_the_message_id_alone():
    conn, engine, _ = await opened(FakeStore(last_seq=0), ack_mode=True)
    await conn.deliver(**live(1))  # message 1001
    await conn.deliver(**{**live(2), "msg_id": 1001, "update": True})  # an edit of message 1001
    conn.ack_one(1001)  # the chat frame of message 1001
    assert engine.confirmed == {(USER, ROOM): 1}
    conn.ack_one(1001)  # again: the update frame is not confirmed by the message id alone
    assert engine.confirmed == {(USER, ROOM): 1}
    conn.ack_one(1001, seq=2)
    assert engine.confirmed == {(USER, ROOM): 2}
    assert not conn.has_pending()


async def test_what_an_ack_mode_socket_leaves_unconfirmed_is_written_again_after_the_timeout():
    conn, _, socket = await opened(FakeStore(last_seq=0), ack_mode=True)
    await conn.deliver(**live(1))
    await conn.deliver(**live(2))
    conn.ack_cumulative(ROOM, 1)
    assert await conn.redeliver_due(now=time.monotonic() + 5, after=10) == 0
    assert await conn.redeliver_due(now=time.monotonic() + 11, after=10) == 1
    assert socket.seqs() == [1, 2, 2]


async def test_a_silent_socket_is_settled_as_one_without_acks_after_the_timeout():
    conn, engine, _ = await opened(FakeStore(last_seq=2), ack_mode=None)
    assert engine.confirmed == {}
    assert await conn.redeliver_due(now=conn.opened_at + 1, after=10) == 0
    assert engine.confirmed == {}
    await conn.redeliver_due(now=conn.opened_at + 10, after=10)
    assert conn.ack_mode is False
    assert engine.confirmed == {(USER, ROOM): 2}


async def test_writes_leave_in_call_order_while_the_socket_is_busy():
    conn, _, socket = await opened(FakeStore(last_seq=0))
    await asyncio.gather(*(conn.write(json.dumps({"seq": n})) for n in range(1, 21)))
    assert socket.seqs() == list(range(1, 21))


async def test_frames_before_the_welcome_wait_for_it():
    engine, socket = FakeEngine(FakeStore(last_seq=0)), Socket()
    conn = Connection(engine, user_id=USER, send_text=socket.send_text, ack_mode=False)
    await conn.write(json.dumps({"type": "notice"}))
    assert socket.frames == []
    await conn.start(json.dumps({"type": "system"}))
    assert [f["type"] for f in socket.frames] == ["system", "notice"]


async def test_a_room_the_user_left_is_forgotten_when_filling():
    store = FakeStore(last_seq=0)
    conn, engine, socket = await opened(store)
    store.member = False
    await conn.deliver(**live(3))
    await engine.settle()
    assert socket.seqs() == []
    assert ROOM not in conn.rooms


async def test_a_member_added_back_gets_nothing_from_while_they_were_out():
    store = FakeStore(last_seq=2)
    conn, engine, socket = await opened(store)
    assert socket.seqs() == [1, 2]
    store.last_seq, store.joined_seq = 9, 8  # removed at 2, added again at 8
    await conn.deliver(**live(9))
    await engine.settle()
    assert socket.seqs() == [1, 2, 9]


async def test_a_write_to_a_closed_socket_is_dropped_and_confirms_nothing():
    engine = FakeEngine(FakeStore(last_seq=0))

    async def broken(text: str) -> None:
        raise ConnectionResetError

    conn = Connection(engine, user_id=USER, send_text=broken, ack_mode=False)
    await conn.start("{}")
    await conn.write(json.dumps({"seq": 1}), [(ROOM, 1)])
    assert conn.closed
    assert engine.confirmed == {}
