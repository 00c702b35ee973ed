"""The stock Channels pattern, as the Channels tutorial builds a chat: one
`AsyncJsonWebsocketConsumer` per socket, joined to a channel-layer group per room
(`group_add`), and a `chat_message` handler that `send_json`s each event, fed by one
`group_send` per message on the Redis channel layer. Nothing is tuned: Channels' own
`dispatch` (with its thread hop before every handler since 4.2), its JSON encoding per
socket, channels-redis's stock options.

`POST /publish {"size": k, "messages": m}` does m `group_send`s to room k's group. The
benchmark runs it in a second process (the feeder, like the project's send process), so the
measured process only receives and writes, as a gateway does. `GET /health` answers 200.

    DJANGO_SETTINGS_MODULE=bench.baselines.stock_settings uvicorn bench.baselines.stock_channels:application
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.baselines.stock_settings")
django.setup()

import orjson  # noqa: E402
from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.baselines import WELCOME, chat_frame, publish_request, rooms_of  # noqa: E402

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_counter = {"messages": 0}


def room_group(size: int) -> str:
    return f"room{size}"


class RoomConsumer(AsyncJsonWebsocketConsumer):
    room_groups: list[str]

    async def connect(self) -> None:
        _user, sizes = rooms_of(self.scope.get("query_string", b""))
        self.room_groups = [room_group(size) for size in sizes]
        for group in self.room_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(WELCOME)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "room_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])


async def publish(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """HTTP: `POST /publish` (group_send per message) and `GET /health`."""
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
    layer = get_channel_layer()
    for _ in range(messages):
        _counter["messages"] += 1
        frame = chat_frame(room_size=size, n=_counter["messages"])
        await layer.group_send(room_group(size), {"type": "chat.message", "message": frame})
    await _reply(send, 200, {"messages": messages})


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


application = ProtocolTypeRouter({"http": publish, "websocket": URLRouter([path("ws", RoomConsumer.as_asgi())])})
