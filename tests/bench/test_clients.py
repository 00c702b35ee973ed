"""The load-generator clients: in read mode each chat frame a client receives is answered with a
`read` frame for its room and seq, as a client showing the room would; otherwise none."""

from __future__ import annotations

from typing import Any

import orjson

from bench.clients import Client, Worker


class FakeSocket:
    """Yields the given frames, records what the client sends, then ends as a server close."""

    close_code = 1000

    def __init__(self, frames: list[dict[str, Any]]) -> None:
        self.frames = [orjson.dumps(frame) for frame in frames]
        self.sent: list[dict[str, Any]] = []

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> bytes:
        if not self.frames:
            raise StopAsyncIteration
        return self.frames.pop(0)

    async def send(self, text: str) -> None:
        self.sent.append(orjson.loads(text))


def chat(room: int, seq: int) -> dict[str, Any]:
    return {"id": seq + 100, "type": "chat", "room_id": room, "seq": seq, "payload": {"type": "text", "text": "x"}}


FRAMES = [
    chat(5, 1),
    {"id": -1, "type": "batch", "room_id": 0, "payload": [chat(5, 2), chat(6, 9)]},
    {"id": -1, "type": "read", "room_id": 5, "payload": {"user_id": 3, "read_seq": 2}},
    {"id": 7, "type": "update", "room_id": 5, "seq": 3, "payload": {"event": "edit"}},
]


async def _read(worker: Worker, frames: list[dict[str, Any]]) -> FakeSocket:
    socket = FakeSocket(frames)
    client = Client(ws=socket, group="fan", label="gw1")  # type: ignore[arg-type]
    client.closing = True  # the fake's end is not a drop
    await worker._read(client)
    return socket


async def test_in_read_mode_every_chat_frame_is_read_with_its_room_and_seq() -> None:
    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    assert await worker.op_read_mode(on=True) == 0
    socket = await _read(worker, FRAMES)
    assert socket.sent == [
        {"type": "read", "room_id": 5, "seq": 1},
        {"type": "read", "room_id": 5, "seq": 2},
        {"type": "read", "room_id": 6, "seq": 9},
    ]
    assert worker.counts == {("gw1", 5): 3, ("gw1", 6): 1}  # the update is counted, not read; receipts neither
    assert await worker.op_read_mode(on=False) == 3
    assert (await _read(worker, FRAMES)).sent == []
    assert await worker.op_read_mode(on=False) == 0


async def test_paced_reads_send_the_first_at_once_and_the_latest_seq_once_its_second_is_up(monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("bench.confirming.time.monotonic", lambda: clock[0])
    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    await worker.op_read_mode(on=True, every=1.0)
    socket = await _read(worker, FRAMES)  # seqs 1, 2 of room 5 and 9 of room 6 within one instant
    assert socket.sent == [{"type": "read", "room_id": 5, "seq": 1}, {"type": "read", "room_id": 6, "seq": 9}]
    clock[0] += 0.5
    await worker._reads_flush(due_only=True)
    assert len(socket.sent) == 2  # room 5's second is not up yet
    clock[0] += 0.5
    await worker._reads_flush(due_only=True)
    assert socket.sent[2:] == [{"type": "read", "room_id": 5, "seq": 2}]
    assert not worker.paced_readers
    assert await worker.op_read_mode(on=False) == 3


async def test_stopping_paced_reads_sends_what_is_still_waiting() -> None:
    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    await worker.op_read_mode(on=True, every=60.0)
    socket = await _read(worker, FRAMES)
    assert await worker.op_read_mode(on=False) == 3
    assert socket.sent[-1] == {"type": "read", "room_id": 5, "seq": 2}
