"""WebSocket routes: path → ASGI app (`chatproject.asgi.ProtocolRouter` picks by exact path)."""

from collections.abc import Awaitable
from typing import Any

from gateway.consumers import ChatConsumer


def chat_socket(scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
    """A new `ChatConsumer` per socket, as Channels' `as_asgi()` makes one, returning its
    coroutine rather than awaiting it in a frame of its own."""
    return ChatConsumer()(scope, receive, send)


websocket_routes = {"/api/ws": chat_socket}
