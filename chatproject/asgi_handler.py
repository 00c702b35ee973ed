"""Django's ASGI handler with its request stack built once, synchronously, and entered once.

Every view of this project is synchronous (DRF's and Django's; no `async def` view), and so is
the innermost of the project's middleware. Django's own `ASGIHandler` builds its stack in async
mode regardless, so a request to a sync view crossed between the event loop and the
thread-sensitive thread several times: into the sync middleware, back to the loop for
`_get_response_async`, into the thread for each sync `process_view` hook (CSRF's), and into it
again for the view. Each crossing is a future, a context copy and a thread wake-up: measurable
CPU on the send path (README, Performance: the send path).

`OneHopASGIHandler` builds the stack as the WSGI handler does (`load_middleware(is_async=False)`:
middleware, view hooks and the view called directly, in one thread) and enters it with one
`sync_to_async(thread_sensitive=True)`, the same thread Django would run those sync parts in. The
event loop still only parses the request and writes the reply; nothing blocking runs on it. An
async view, if one is ever added, still works (Django adapts it with `async_to_sync`), at the
cost of holding its request's thread while it runs: write long-running ones as ASGI apps.

Each request still gets a thread of its own for its sync parts (asgiref's
`ThreadSensitiveContext`, so requests run side by side), but from a pool of idle single-thread
executors rather than a new thread started, and another started to join it, per request. At
most `IDLE_EXECUTORS_MAX` stay idle; a burst's extra threads end.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

IDLE_EXECUTORS_MAX = 32


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(1, thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_EXECUTORS_MAX:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)


def get_asgi_application() -> OneHopASGIHandler:
    """`django.core.asgi.get_asgi_application`, with the one-hop handler."""
    django.setup(set_prefix=False)
    return OneHopASGIHandler()
