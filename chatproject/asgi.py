"""ASGI entry point: HTTP through Django, WebSocket through Channels."""

import os
from collections.abc import Awaitable, Callable
from typing import Any

from chatproject.asgi_handler import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")

# Django must be set up before anything imports models. One thread hop per request: see
# chatproject.asgi_handler.
django_asgi_app = get_asgi_application()

from chatproject.fast_http import FastRoutes  # noqa: E402
from chatproject.http_limits import BodyLimitMiddleware  # noqa: E402
from gateway.routing import websocket_routes  # noqa: E402
from registry.views.routes import FAST_ROUTES  # noqa: E402
from runtime.lifecycle import RegistryLifecycleMiddleware  # noqa: E402

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _no_such_socket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A WebSocket handshake to a path that has none: refused (HTTP 403), not a server error."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": 1008})


class ProtocolRouter:
    """HTTP to Django, a WebSocket to the consumer of its path.

    Plain calls that return the chosen app's coroutine, where Channels' routers await it: a
    socket's coroutine chain (held for as long as the socket is open, thousands at once) is
    then two frames shorter, and the scope is not copied again.
    """

    def __init__(self, *, http: App, websocket: dict[str, App]) -> None:
        self.http = http
        self.websocket = websocket

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        kind = scope["type"]
        if kind == "http":
            return self.http(scope, receive, send)
        if kind == "websocket":
            return self.websocket.get(scope["path"], _no_such_socket)(scope, receive, send)
        raise ValueError(f"no application for the ASGI scope type {kind!r}")


# The lifecycle wrapper registers this process in the registry and keeps it alive. The
# registry's hottest GET is answered beside Django's stack when plain (chatproject.fast_http).
# Request bodies over the limit are refused before Django reads them.
application = RegistryLifecycleMiddleware(
    ProtocolRouter(
        http=FastRoutes(BodyLimitMiddleware(django_asgi_app), routes=FAST_ROUTES, run_sync=django_asgi_app.run_sync),
        websocket=websocket_routes,
    )
)
