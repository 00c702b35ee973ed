"""A small asyncio HTTP/1.1 client with keep-alive connections, for the load generators.

The benchmark sends hundreds of JSON requests a second (send_message, registry look-ups,
baseline triggers) from processes that also hold thousands of sockets; a thread per request
or a heavy client library would cost the machine's two cores more than the requests
themselves. This speaks just what the project's servers answer: a status line, headers, a
body of `Content-Length` bytes or chunked, keep-alive unless the server says `close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

MAX_HEADER_BYTES = 64 * 1024
# Servers close idle keep-alive connections (uvicorn after 5 s): never reuse one idle this long.
IDLE_REUSE_SECONDS = 2.0


class HttpError(Exception):
    """The server could not be reached, or answered something that is not HTTP/1.1."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpPool:
    """Up to `size` keep-alive connections to one `http://host:port` origin."""

    def __init__(self, base_url: str, *, size: int = 16, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"expected an http://host:port URL, got {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.host_header = parts.netloc
        self.timeout = timeout
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    async def _open(self) -> _Conn:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEADER_BYTES)
        except OSError as error:
            raise HttpError(f"cannot connect to {self.host}:{self.port}: {error}") from None
        return _Conn(reader, writer)

    async def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        """One request; a reused connection the server had closed is retried once on a new one."""
        payload = b"" if body is None else orjson.dumps(body)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        async with self._slots:
            for attempt in range(2):
                conn = self._take_idle() if attempt == 0 else None
                reused = conn is not None
                if conn is None:
                    conn = await self._open()
                try:
                    async with asyncio.timeout(self.timeout):
                        conn.writer.write(raw)
                        await conn.writer.drain()
                        response, keep = await _read_response(conn.reader)
                except TimeoutError:
                    conn.close()
                    raise HttpError(f"{method} {path}: no answer within {self.timeout:g} s") from None
                except (OSError, asyncio.IncompleteReadError, HttpError) as error:
                    conn.close()
                    if reused and attempt == 0:
                        continue
                    raise HttpError(f"{method} {path}: {error or type(error).__name__}") from None
                except BaseException:
                    conn.close()
                    raise
                if keep and not self._closed:
                    conn.idle_since = time.monotonic()
                    self._idle.append(conn)
                else:
                    conn.close()
                return response
        raise HttpError(f"{method} {path}: no response")  # pragma: no cover - the loop always returns or raises

    def _take_idle(self) -> _Conn | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since < IDLE_REUSE_SECONDS and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, body: Any, *, headers: dict[str, str] | None = None) -> Response:
        return await self.request("POST", path, body=body, headers=headers)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """(response, whether the connection may be reused)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/1."):
        raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(status_line[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and status_line[0] == "HTTP/1.1"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers are sent by these servers
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(chunks)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif status in (204, 304) or 100 <= status < 200:
        body = b""
    else:
        body = await reader.read()
        keep = False
    return Response(status=status, body=body), keep
