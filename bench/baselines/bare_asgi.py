"""The ceiling: a bare ASGI WebSocket app with no framework at all.

Each socket is put in the rooms its query names (`/ws?user=<i>&sizes=10,100`); `POST /publish
{"size": k, "messages": m}` encodes m chat frames once each and writes every one to each
socket of room k, in order, awaiting every write, then answers with the number of frames
written. `GET /health` answers 200. Whatever a frame costs here is the ASGI server's own
cost of writing it: no parsing, routing, authentication, channel layer or database.

    uvicorn bench.baselines.bare_asgi:app --ws-per-message-deflate false
    daphne bench.baselines.bare_asgi:app
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from bench.baselines import WELCOME, chat_frame, publish_request, rooms_of

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

ROOMS: dict[int, dict[int, Send]] = {}  # room size → {socket number: its ASGI send}
_WELCOME_TEXT = orjson.dumps(WELCOME).decode()
_counter = {"sockets": 0, "messages": 0}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await _websocket(scope, receive, send)
    elif scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _websocket(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    _user, sizes = rooms_of(scope.get("query_string", b""))
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": _WELCOME_TEXT})
    _counter["sockets"] += 1
    number = _counter["sockets"]
    for size in sizes:
        ROOMS.setdefault(size, {})[number] = send
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
    finally:
        for size in sizes:
            ROOMS.get(size, {}).pop(number, None)


async def _http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/health":
        await _reply(send, 200, {"status": "ok"})
        return
    if scope["path"] != "/publish" or scope["method"] != "POST":
        await _reply(send, 404, {"error": "POST /publish or GET /health"})
        return
    try:
        size, messages = publish_request(body)
    except ValueError as error:
        await _reply(send, 400, {"error": str(error)})
        return
    written = 0
    for _ in range(messages):
        _counter["messages"] += 1
        text = orjson.dumps(chat_frame(room_size=size, n=_counter["messages"])).decode()
        event = {"type": "websocket.send", "text": text}
        for socket_send in list(ROOMS.get(size, {}).values()):
            with contextlib.suppress(Exception):  # a socket that just closed
                await socket_send(event)
                written += 1
    await _reply(send, 200, {"frames": written})


async def _reply(send: Send, status: int, data: dict[str, Any]) -> None:
    body = orjson.dumps(data)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
