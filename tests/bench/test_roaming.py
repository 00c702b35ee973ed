"""The reconnect storm's clients: the browser client's back-off, the seq bookkeeping that
judges every message in order with no gap, and a client that loses its gateway coming back on
another through a registry (real sockets on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from bench.clients import Worker
from bench.roaming import Roamer


def test_a_roamer_counts_duplicates_and_frames_past_a_gap_and_what_never_came():
    roamer = Roamer(1, "t", room=5)
    for seq in (1, 2, 2, 1, 3):
        roamer.take(seq)
    assert (roamer.high, roamer.duplicates, roamer.out_of_order, roamer.missing(3)) == (3, 2, 0, 0)
    roamer.take(6)  # 4 and 5 missing: out of order
    assert (roamer.high, roamer.out_of_order, roamer.missing(6)) == (3, 1, 2)
    roamer.take(4)
    assert (roamer.high, roamer.missing(6)) == (4, 1)
    roamer.take(5)  # the gap filled: 6 joins the run
    assert (roamer.high, roamer.ahead, roamer.missing(6), roamer.missing(8)) == (6, set(), 0, 2)
    roamer.take(6)
    assert roamer.duplicates == 3


def test_back_after_is_the_first_welcome_elsewhere_after_the_kill():
    roamer = Roamer(1, "t", room=5)
    roamer.welcomes = [("gw1", 100.0), ("gw1", 101.0), ("gw2", 103.5), ("gw2", 110.0)]
    assert roamer.back_after("gw1", 100.5) == 3.0
    assert roamer.back_after("gw2", 100.5) == 0.5
    assert Roamer(1, "t", room=5).back_after("gw1", 0.0) is None


def frame(seq: int, room: int = 5) -> dict[str, Any]:
    return {"id": seq, "type": "chat", "room_id": room, "sender_id": 2, "seq": seq, "payload": {"text": "x"}}


class Cluster:
    """A registry naming the first gateway still up, and gateways that send a welcome and
    then their frames to every socket."""

    def __init__(self, frames: dict[str, list[dict[str, Any]]]) -> None:
        self.frames = frames
        self.ports: dict[str, int] = {}
        self.servers: dict[str, Any] = {}
        self.up: list[str] = []
        self.tokens: list[str] = []

    async def start(self) -> str:
        for name in self.frames:
            self.servers[name] = await serve(self._gateway(name), "127.0.0.1", 0)
            self.ports[name] = self.servers[name].sockets[0].getsockname()[1]
            self.up.append(name)
        registry = await asyncio.start_server(self._registry, "127.0.0.1", 0)
        self.servers["registry"] = registry
        return f"http://127.0.0.1:{registry.sockets[0].getsockname()[1]}"

    def _gateway(self, name: str) -> Any:
        async def handler(ws: ServerConnection) -> None:
            self.tokens.append(ws.request.headers["Authorization"])
            await ws.send(orjson.dumps({"id": -1, "type": "system", "payload": "Connected"}).decode())
            for item in self.frames[name]:
                await ws.send(orjson.dumps(item).decode())
            await ws.wait_closed()

        return handler

    async def _registry(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                name = self.up[0]
                data = {"gateway_id": name, "ws_url": f"ws://127.0.0.1:{self.ports[name]}/api/ws"}
                body = json.dumps({"data": data}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()

    async def kill(self, name: str) -> None:
        self.up.remove(name)
        server = self.servers[name]
        server.close()
        await server.wait_closed()

    async def stop(self) -> None:
        for server in self.servers.values():
            server.close()


@pytest.mark.parametrize(
    ("second", "lost", "out_of_order"),
    [([frame(2), frame(3)], 0, 0), ([frame(4)], 1, 1)],
    ids=["the resync fills in", "a gap is caught"],
)
async def test_a_client_of_a_killed_gateway_comes_back_on_the_other_and_is_judged_by_seq(second, lost, out_of_order):
    cluster = Cluster({"gw1": [frame(1), frame(2), frame(9, room=6)], "gw2": second})
    registry = await cluster.start()
    worker = Worker(conn=None, index=0)  # type: ignore[arg-type]
    try:
        connected = await worker.op_roam(group="g", clients=[(7, "tok", 5)], registry=registry, query="?ack=0")
        assert (connected["ok"], connected["labels"]) == (1, {"gw1": 1})
        await asyncio.sleep(0.2)
        status = await worker.op_roam_status(group="g", victim="gw1", since=0.0)
        assert status == {"moved": 1, "back": 0}
        killed_at = time.time()
        await cluster.kill("gw1")
        for _ in range(50):
            if (await worker.op_roam_status(group="g", victim="gw1", since=killed_at))["back"]:
                break
            await asyncio.sleep(0.1)
        report = await worker.op_roam_finish(
            group="g", victim="gw1", since=killed_at, last_seqs={5: 4 if lost else 3}, within=1.0
        )
    finally:
        await worker.op_roam_stop(group="g")
        await cluster.stop()
    assert (report["moved"], len(report["delays"]), report["lost"], report["out_of_order"]) == (
        1,
        1,
        lost,
        out_of_order,
    )
    assert 0.0 <= report["delays"][0] < 1.5  # back-off: the stopped server closes with 1001, so within 0-1 s
    assert report["clients_missing"] == (1 if lost else 0)
    assert report["duplicates"] == (0 if lost else 1)  # seq 2 twice: allowed, counted
    assert cluster.tokens == ["Bearer tok", "Bearer tok"]
