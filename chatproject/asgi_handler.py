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

Each request runs its sync parts in a thread of its own (asgiref's `ThreadSensitiveContext`,
so requests run side by side), taken from at most `HTTP_THREADS` single-thread executors.
Django's handler starts a new thread per request instead, however many arrive: a burst of
thousands (a gateway's clients all asking the registry where to reconnect) then ran thousands
of threads contending for the database pool's few connections, with more CPU spent switching
between them than answering. Beyond `HTTP_THREADS`, a request waits on the event loop (a
future, no thread) for the next free one, in arrival order.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

T = TypeVar("T")


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._started = 0
        self._waiters: deque[asyncio.Future[ThreadPoolExecutor]] = deque()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = await self._executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._release(executor)

    async def run_sync(self, fn: Callable[[], T]) -> T:
        """`fn()` in one of the request threads (waiting for one as a request does): for the
        routes `chatproject.fast_http` answers beside the stack."""
        executor = await self._executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn)
        finally:
            self._release(executor)

    async def _executor(self) -> ThreadPoolExecutor:
        if self._idle:
            return self._idle.pop()
        if self._started < settings.HTTP_THREADS:
            self._started += 1
            return ThreadPoolExecutor(1, thread_name_prefix="request")
        waiter: asyncio.Future[ThreadPoolExecutor] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed an executor, then cancelled
                self._release(waiter.result())
            raise

    def _release(self, executor: ThreadPoolExecutor) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(executor)
                return
        self._idle.append(executor)


def get_asgi_application() -> OneHopASGIHandler:
    """`django.core.asgi.get_asgi_application`, with the one-hop handler."""
    django.setup(set_prefix=False)
    return OneHopASGIHandler()
