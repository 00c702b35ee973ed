"""The synchronous write path (`chat.write`, gateway.probes): a frame is written at once only
when nothing waits before it, and when it cannot be, nothing at all has happened, so the async
path (`deliver`, `write`) takes it with the same guarantees: order, no gap, the budget, probes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gateway.delivery.connection import Connection
from gateway.delivery.engine import DeliveryEngine
from gateway.hub import Hub
from tests.gateway.test_connection import ROOM, USER, FakeEngine, FakeStore, live


class Server:
    """The server's end of `chat.write` and of `websocket.send`, writing to one list in order;
    `paused` makes `write_now` refuse (the client is not reading), `gate` holds `send_text`."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, dict]] = []  # ("now" | "send", the frame)
        self.paused = False
        self.gate: asyncio.Event | None = None
        self.probes: list[int] = []

        self.writes = 0  # writes to the socket: one per write_now or write_many_now

    def write_now(self, text: str) -> bool:
        if self.paused:
            return False
        self.frames.append(("now", json.loads(text)))
        self.writes += 1
        return True

    def write_many_now(self, texts: list[str]) -> bool:
        if self.paused:
            return False
        self.frames.extend(("many", json.loads(text)) for text in texts)
        self.writes += 1
        return True

    async def send_text(self, text: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        self.frames.append(("send", json.loads(text)))

    async def send_probe(self, probe_id: int) -> None:
        self.probes.append(probe_id)

    def seqs(self) -> list[int]:
        out: list[int] = []
        for _how, frame in self.frames:
            if frame.get("type") == "batch":
                out.extend(f["seq"] for f in frame["payload"])
            elif "seq" in frame:
                out.append(frame["seq"])
        return out


async def opened(*, last_seq: int = 0, probes: bool = False, engine: Any = None) -> tuple[Connection, Server]:
    store, server = FakeStore(last_seq=last_seq), Server()
    engine = engine or FakeEngine(store)
    conn = Connection(
        engine,
        user_id=USER,
        send_text=server.send_text,
        send_probe=server.send_probe if probes else None,
        write_now=server.write_now,
        write_many_now=server.write_many_now,
        ack_mode=False,
    )
    # Before the welcome and during the initial sync nothing is written at once.
    assert not conn.write_at_once(json.dumps({"type": "early"}))
    assert not conn.write_many_at_once([json.dumps({"type": "early"})] * 2)
    assert not conn.deliver_at_once(ROOM, 1, 1001, live(1)["frame"], False)
    await conn.start(json.dumps({"type": "system"}))
    await conn.initial_sync({ROOM: await store.position(user_id=USER, room_id=ROOM)})
    server.frames = [f for f in server.frames if f[1].get("type") != "system"]
    return conn, server


def at_once(conn: Connection, seq: int) -> bool:
    frame = live(seq)
    return conn.deliver_at_once(ROOM, seq, frame["msg_id"], frame["frame"], False)


async def test_the_next_seq_is_written_at_once_and_counted_like_a_write():
    conn, server = await opened(last_seq=2)
    assert server.seqs() == [1, 2]
    assert [at_once(conn, seq) for seq in (3, 4, 5)] == [True, True, True]
    assert server.frames[-3:] == [("now", {"seq": 3}), ("now", {"seq": 4}), ("now", {"seq": 5})]
    assert conn.rooms[ROOM].sent == 5
    # Without probes a frame counts as read once written, as through `write`.
    assert conn.writer.written == conn.writer.proven == len(server.frames) + 1  # and the welcome
    assert conn.writer.accepted == conn.writer.written_bytes == conn.writer.proven_bytes


async def test_a_gap_a_duplicate_or_a_paused_client_leave_everything_to_deliver():
    conn, server = await opened(last_seq=2)
    before = (list(server.frames), conn.rooms[ROOM].sent, conn.writer.written, conn.writer.accepted)
    assert not at_once(conn, 4)  # a gap
    assert not at_once(conn, 2)  # written already
    server.paused = True
    assert not at_once(conn, 3)
    assert not conn.write_at_once(json.dumps({"type": "notice"}))
    assert (server.frames, conn.rooms[ROOM].sent, conn.writer.written, conn.writer.accepted) == before
    await conn.deliver(**live(3))  # the async path writes it (here through send_text)
    assert server.frames[-1] == ("send", {"seq": 3})


async def test_while_a_write_is_in_progress_frames_queue_behind_it_in_order():
    conn, server = await opened()
    server.gate = asyncio.Event()
    first = asyncio.ensure_future(conn.deliver(**live(1)))
    await asyncio.sleep(0.01)  # the write of seq 1 now waits on the socket
    assert not at_once(conn, 2)  # it would overtake seq 1
    assert not conn.write_at_once(json.dumps({"type": "notice"}))
    second = asyncio.ensure_future(conn.deliver(**live(2)))
    await asyncio.sleep(0.01)
    server.gate.set()
    await asyncio.gather(first, second)
    assert at_once(conn, 3)
    assert server.seqs() == [1, 2, 3]
    assert [how for how, _ in server.frames] == ["send", "send", "now"]


async def test_a_frame_that_makes_a_probe_due_goes_through_write_which_probes():
    size = len(live(1)["frame"])
    conn, server = await opened(probes=True)
    # Half the budget is the welcome (unproven) and two and a half frames.
    conn.writer.limit = (conn.writer.unproven_bytes + 2 * size) * 2 + size
    assert at_once(conn, 1) and at_once(conn, 2)  # no probe due yet
    assert not at_once(conn, 3)  # half the budget reached: `write` must probe after it
    await conn.deliver(**live(3))
    assert server.seqs() == [1, 2, 3]
    assert server.probes == [1]
    assert conn.writer.written == 4 and conn.writer.proven == 0  # the welcome and three


def notices(*numbers: int) -> list[str]:
    return [json.dumps({"type": "presence", "n": n}) for n in numbers]


async def test_several_live_frames_go_out_in_one_write_in_order_all_or_none():
    conn, server = await opened()
    writes = server.writes
    assert conn.write_many_at_once(notices(1, 2, 3))
    assert server.frames == [("many", {"type": "presence", "n": n}) for n in (1, 2, 3)]
    assert server.writes == writes + 1
    assert conn.writer.written == 4 and conn.writer.proven == 4  # the welcome and three, read once written
    # A paused client, or a write in progress: nothing at all is done.
    before = (list(server.frames), conn.writer.written, conn.writer.accepted)
    server.paused = True
    assert not conn.write_many_at_once(notices(4, 5))
    assert (server.frames, conn.writer.written, conn.writer.accepted) == before
    server.paused = False
    server.gate = asyncio.Event()
    pending = asyncio.ensure_future(conn.write(notices(4)[0]))
    await asyncio.sleep(0.01)
    before = (list(server.frames), conn.writer.written, conn.writer.accepted)
    assert not conn.write_many_at_once(notices(5, 6))  # they would overtake frame 4
    assert (server.frames, conn.writer.written, conn.writer.accepted) == before
    server.gate.set()
    await pending
    assert conn.write_many_at_once(notices(5, 6))
    assert [frame["n"] for _how, frame in server.frames] == [1, 2, 3, 4, 5, 6]


async def test_frames_that_make_a_probe_due_go_through_write_which_probes():
    conn, server = await opened(probes=True)
    texts = notices(1, 2)
    conn.writer.limit = (conn.writer.unproven_bytes + sum(map(len, texts))) * 2  # exactly half with both
    assert not conn.write_many_at_once(texts)
    assert server.frames == [] and server.probes == []
    for text in texts:
        await conn.write(text)
    assert server.probes == [1]


async def test_a_batch_of_live_frames_reaches_each_socket_in_one_write_in_the_batchs_order():
    engine = DeliveryEngine(hub=Hub(), store=FakeStore(last_seq=0))
    one, one_server = await opened(engine=engine)
    two, two_server = await opened(engine=engine)  # the same user's second socket
    for conn in (one, two):
        engine.hub.add(conn)
    writes = (one_server.writes, two_server.writes)
    texts = notices(1, 2, 3, 4)
    other = USER + 1  # not connected here
    event = {
        "type": "frames",
        # Frame 2 skips socket `two` (its own change); frame 3 is for someone else.
        "items": [
            [texts[0], [USER], None],
            [texts[1], [USER], two.connection_id],
            [texts[2], [other], None],
            [texts[3], [other, USER], None],
        ],
    }
    await engine.handle(event)
    assert [f["n"] for _how, f in one_server.frames] == [1, 2, 4]
    assert [f["n"] for _how, f in two_server.frames] == [1, 4]
    assert (one_server.writes, two_server.writes) == (writes[0] + 1, writes[1] + 1)
    # A single frame for a socket is a plain write; a paused client gets them through `write`.
    two_server.paused = True
    await engine.handle({"type": "frames", "items": [[texts[0], [USER], one.connection_id]]})
    await engine.handle({"type": "frames", "items": [[texts[1], [USER], None], [texts[2], [USER], None]]})
    assert [f["n"] for _how, f in two_server.frames] == [1, 4, 1, 2, 3]
    assert [how for how, _f in two_server.frames[2:]] == ["send", "send", "send"]
    assert [f["n"] for _how, f in one_server.frames] == [1, 2, 4, 2, 3]
