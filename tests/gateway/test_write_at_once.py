"""The synchronous write path (`chat.write`, gateway.probes): a frame is written at once only
when nothing waits before it, and when it cannot be, nothing at all has happened, so the async
path (`deliver`, `write`) takes it with the same guarantees: order, no gap, the budget, probes."""

from __future__ import annotations

import asyncio
import json

from gateway.delivery.connection import Connection
from tests.gateway.test_connection import ROOM, USER, FakeEngine, FakeStore, live


class Server:
    """The server's end of `chat.write` and of `websocket.send`, writing to one list in order;
    `paused` makes `write_now` refuse (the client is not reading), `gate` holds `send_text`."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, dict]] = []  # ("now" | "send", the frame)
        self.paused = False
        self.gate: asyncio.Event | None = None
        self.probes: list[int] = []

    def write_now(self, text: str) -> bool:
        if self.paused:
            return False
        self.frames.append(("now", json.loads(text)))
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


async def opened(*, last_seq: int = 0, probes: bool = False) -> tuple[Connection, Server]:
    store, server = FakeStore(last_seq=last_seq), Server()
    engine = FakeEngine(store)
    conn = Connection(
        engine,
        user_id=USER,
        send_text=server.send_text,
        send_probe=server.send_probe if probes else None,
        write_now=server.write_now,
        ack_mode=False,
    )
    # Before the welcome and during the initial sync nothing is written at once.
    assert not conn.write_at_once(json.dumps({"type": "early"}))
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
