"""The bare ASGI baseline, driven through its ASGI interface: sockets join the rooms their
query names, `POST /publish` writes each frame to every socket of one room, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from bench.baselines import bare_asgi, publish_request, rooms_of


class Socket:
    def __init__(self, query: bytes) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.incoming.put_nowait({"type": "websocket.connect"})

        async def send(message: dict[str, Any]) -> None:
            self.sent.append(message)

        scope = {"type": "websocket", "path": "/ws", "query_string": query}
        self.task = asyncio.ensure_future(bare_asgi.app(scope, self.incoming.get, send))

    def texts(self) -> list[dict[str, Any]]:
        return [orjson.loads(m["text"]) for m in self.sent if m["type"] == "websocket.send"]

    async def close(self) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, timeout=2)


async def http(method: str, path: str, body: bytes = b"") -> tuple[int, Any]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await bare_asgi.app({"type": "http", "method": method, "path": path}, receive, send)
    return sent[0]["status"], orjson.loads(sent[1]["body"])


async def test_publish_writes_each_frame_to_every_socket_of_the_room_only():
    sockets = [Socket(f"user={i}&sizes=2,3".encode()) for i in range(3)]
    await asyncio.sleep(0)
    status, body = await http("POST", "/publish", b'{"size": 2, "messages": 3}')
    assert (status, body) == (200, {"frames": 6})
    for socket in sockets[:2]:
        frames = socket.texts()
        assert frames[0]["type"] == "system"
        assert [f["type"] for f in frames[1:]] == ["chat"] * 3
        assert {f["room_id"] for f in frames[1:]} == {2}
        ids = [f["id"] for f in frames[1:]]
        assert ids == sorted(ids) and len(set(ids)) == 3
        assert frames[1]["payload"]["text"].startswith("b")
    assert [f["type"] for f in sockets[2].texts()] == ["system"]  # user 2 is only in the room of 3
    for socket in sockets:
        await socket.close()
    assert (await http("POST", "/publish", b'{"size": 2, "messages": 1}')) == (200, {"frames": 0})
    assert not any(bare_asgi.ROOMS.values())


async def test_health_bad_publish_and_unknown_paths():
    assert await http("GET", "/health") == (200, {"status": "ok"})
    status, body = await http("POST", "/publish", b'{"size": 0}')
    assert status == 400 and "size" in body["error"]
    assert (await http("GET", "/publish"))[0] == 404


def test_query_and_publish_parsing():
    assert rooms_of(b"user=5&sizes=10,100,1000") == (5, [10, 100, 1000])
    assert rooms_of(b"user=50&sizes=10,100") == (50, [100])
    assert rooms_of(b"") == (0, [])
    assert publish_request(b'{"size": 10, "messages": 4}') == (10, 4)
    assert publish_request(b'{"size": 10}') == (10, 1)
