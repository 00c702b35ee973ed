"""One HTTP request to an ASGI application, in process: the reply's status, headers (names in
lower case, sorted) and body."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


async def asgi_request(
    app: Any,
    path: str,
    *,
    method: str = "GET",
    query: str = "",
    headers: list[tuple[bytes, bytes]] | None = None,
    on_send: Callable[[dict[str, Any]], None] | None = None,
) -> Reply:
    """With `host: localhost` unless `headers` name a host; the body is empty, and the client
    never leaves. `on_send` sees each message the application sends, as it sends it."""
    sent: list[dict[str, Any]] = []
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if on_send is not None:
            on_send(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            *([] if any(n == b"host" for n, _ in headers or []) else [(b"host", b"localhost")]),
            *(headers or []),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], sorted((name.lower(), value) for name, value in start["headers"]), body
