"""The load generators' HTTP/1.1 client against a real server on loopback: keep-alive, chunked
bodies, and a connection the server closed while idle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.httpclient import HttpError, HttpPool


class TinyServer:
    """Answers `GET /n` with the request count, `GET /chunked` chunked, `GET /bye` with
    `Connection: close`; `close_idle()` closes every open connection from the server side."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next((int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length")), 0)
                body = await reader.readexactly(length) if length else b""
                self.requests += 1
                path = lines[0].split(" ")[1]
                if path == "/chunked":
                    writer.write(
                        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
                    )
                elif path == "/bye":
                    writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
                    await writer.drain()
                    writer.close()
                    return
                else:
                    reply = f'{{"n": {self.requests}, "echo": {body.decode() or "null"}}}'.encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(reply), reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def close_idle(self) -> None:
        for writer in self.writers:
            writer.close()

    async def stop(self) -> None:
        self.close_idle()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[tuple[TinyServer, int]]:
    tiny = TinyServer()
    port = await tiny.start()
    yield tiny, port
    await tiny.stop()


async def test_requests_reuse_one_keep_alive_connection(server):
    tiny, port = server
    pool = HttpPool(f"http://127.0.0.1:{port}", size=1, timeout=5)
    first = await pool.post("/n", {"room_id": 1})
    second = await pool.get("/n")
    await pool.close()
    assert (first.status, first.json()) == (200, {"n": 1, "echo": {"room_id": 1}})
    assert second.json() == {"n": 2, "echo": None}
    assert tiny.connections == 1


async def test_a_chunked_body_is_read_whole(server):
    _tiny, port = server
    pool = HttpPool(f"http://127.0.0.1:{port}", size=1, timeout=5)
    reply = await pool.get("/chunked")
    after = await pool.get("/n")  # the connection is still in step after the last chunk
    await pool.close()
    assert reply.json() == {"a": 1}
    assert after.status == 200


async def test_a_connection_the_server_closed_is_replaced(server):
    tiny, port = server
    pool = HttpPool(f"http://127.0.0.1:{port}", size=1, timeout=5)
    assert (await pool.get("/bye")).body == b"ok"
    assert (await pool.get("/n")).status == 200
    tiny.close_idle()  # as uvicorn does with an idle keep-alive connection
    await asyncio.sleep(0.05)
    assert (await pool.get("/n")).status == 200
    await pool.close()
    assert tiny.connections == 3


async def test_an_unreachable_server_is_an_http_error():
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    pool = HttpPool(f"http://127.0.0.1:{port}", size=1, timeout=2)
    with pytest.raises(HttpError, match="cannot connect"):
        await pool.get("/n")


def test_only_plain_http_urls_are_accepted():
    with pytest.raises(ValueError, match="http://host:port"):
        HttpPool("https://example.com")
