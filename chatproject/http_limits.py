"""Limits on what a client may send over HTTP, the same under daphne and uvicorn: the request
body (API.md §1.1: bodies over 1 MiB are refused with 413 before they are parsed), the request
line (16 KiB, 414 beyond) and the request head (32 KiB with the headers, 431 beyond). Every
refusal is in the envelope.

`BodyLimitMiddleware` wraps the HTTP application:

- a `Content-Length` over the limit is answered 413 at once, before a byte of the body is
  read (the server then closes the connection: `Connection: close`);
- a body without `Content-Length` (`Transfer-Encoding: chunked`) is read here, chunk by chunk,
  counting: 413 as soon as it passes the limit, otherwise it is handed on whole with the
  `Content-Length` it turned out to have. Django and DRF read a body only as far as
  `Content-Length` says, so without this a chunked body would be read as empty.

Under daphne, twisted reads (and would parse) the whole body before the application is called:
`runtime.servers.daphne_limits` applies the same rule inside daphne's request, from the announced
length and while chunks arrive. Under uvicorn the server holds at most 64 KiB of a body the
application has not asked for, so the middleware alone is enough.

A path listed in `settings.STREAMING_BODY_PATHS` (path → its own limit in bytes, or None) is
not held to MAX_BODY_BYTES: a `Content-Length` over its own limit is still refused at once, and
a chunked body as soon as it passes it, but otherwise its body reaches the view as a stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from django.conf import settings

from chatproject.envelope import error_body

logger = logging.getLogger("chatproject.http_limits")

MAX_REQUEST_LINE_BYTES = 16 * 1024
MAX_REQUEST_HEAD_BYTES = 32 * 1024
REQUEST_LINE_TOO_LONG = f"the request line is longer than {MAX_REQUEST_LINE_BYTES} bytes"
REQUEST_HEAD_TOO_LARGE = f"the request line and headers are larger than {MAX_REQUEST_HEAD_BYTES} bytes"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

REASONS = {
    400: b"Bad Request",
    413: b"Content Too Large",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
}


def body_limit_for(path: str) -> int | None:
    """The most bytes a request body to `path` may have; None: no limit at this layer."""
    streaming: dict[str, int | None] = settings.STREAMING_BODY_PATHS
    if path in streaming:
        return streaming[path]
    return settings.MAX_BODY_BYTES


def too_large_msg(limit: int) -> str:
    return f"the body is larger than {limit} bytes"


def envelope_bytes(status: int, msg: str) -> bytes:
    return orjson.dumps(error_body(status, msg))


def raw_error_response(status: int, msg: str) -> bytes:
    """A whole HTTP/1.1 error reply in the envelope that closes the connection, for servers'
    own refusals written straight to the socket."""
    body = envelope_bytes(status, msg)
    head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (
        status,
        REASONS.get(status, b"Error"),
        len(body),
    )
    return head + body


def content_length(headers: list[tuple[bytes, bytes]]) -> tuple[bool, int | None]:
    """(valid, length) from request headers: (True, None) when there is no Content-Length;
    (False, None) when it is not one non-negative decimal number (several equal ones count as one)."""
    values = {value.strip() for name, value in headers if name.lower() == b"content-length"}
    if not values:
        return True, None
    if len(values) != 1:
        return False, None
    value = values.pop()
    if not value.isdigit() or len(value) > 18:
        return False, None
    return True, int(value)


async def send_error(send: Send, status: int, msg: str) -> None:
    body = envelope_bytes(status, msg)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """ASGI middleware around the HTTP application: see the module docstring."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = body_limit_for(path)
        valid, length = content_length(scope.get("headers", []))
        if not valid:
            await send_error(send, 400, "the Content-Length header is not a number")
            return
        if length is not None:
            if limit is not None and length > limit:
                logger.info("refused %s %s: Content-Length %d over %d bytes", scope.get("method"), path, length, limit)
                await send_error(send, 413, too_large_msg(limit))
                return
            await self.app(scope, receive, send)
            return
        if path in settings.STREAMING_BODY_PATHS:
            await self.app(scope, receive if limit is None else _counted(receive, send, limit, scope), send)
            return
        await self._read_then_call(scope, receive, send, limit)

    async def _read_then_call(self, scope: Scope, receive: Receive, send: Send, limit: int | None) -> None:
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before the body was complete
            chunk = message.get("body", b"")
            received += len(chunk)
            if limit is not None and received > limit:
                logger.info("refused %s %s: body over %d bytes", scope.get("method"), scope.get("path"), limit)
                await send_error(send, 413, too_large_msg(limit))
                return
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if not received:
            await self.app(scope, _replay(b"", receive), send)
            return
        framing = (b"content-length", b"transfer-encoding")
        headers = [(n, v) for n, v in scope.get("headers", []) if n.lower() not in framing]
        headers.append((b"content-length", str(received).encode()))
        await self.app({**scope, "headers": headers}, _replay(b"".join(chunks), receive), send)


def is_streaming_path(path: str) -> bool:
    return path in settings.STREAMING_BODY_PATHS


def _counted(receive: Receive, send: Send, limit: int, scope: Scope) -> Receive:
    """A `receive` that counts a streamed body without `Content-Length` as it passes: beyond
    `limit` it answers 413 itself and tells the application the client went away, so nothing
    more of the body is read or stored."""
    received = 0
    refused = False

    async def counted() -> dict[str, Any]:
        nonlocal received, refused
        if refused:
            return {"type": "http.disconnect"}
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                refused = True
                logger.info("refused %s %s: streamed body over %d bytes", scope.get("method"), scope.get("path"), limit)
                await send_error(send, 413, too_large_msg(limit))
                return {"type": "http.disconnect"}
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the body already read, then whatever the server says next
    (`http.disconnect`)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
