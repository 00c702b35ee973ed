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
event loop still only reads the body and writes the reply; nothing blocking runs on it. An
async view, if one is ever added, still works (Django adapts it with `async_to_sync`), at the
cost of holding its request's thread while it runs: write long-running ones as ASGI apps.

The hop also takes in what Django's `ASGIHandler.handle` does in hops of their own around the
stack: the `request_started` signal (its receivers are sync: a hop there and back before the
request even starts), building the request, logging an error response, and closing the
response (the `request_finished` signal, which hands the database connection back to the
pool: a hop after the reply). A response that is not streamed is closed in the hop, before its
bytes go out (it is all in memory by then); a streamed one is closed after, as Django does.
Django also races the request against the client's disconnect, to cancel an async view; a sync
view runs to its end either way, and the server drops a reply to a client that has gone.

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
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix, set_urlconf
from django.utils.log import log_response

T = TypeVar("T")


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        self._started = 0
        self._waiters: deque[asyncio.Future[ThreadPoolExecutor]] = deque()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._respond_in_thread = sync_to_async(self._respond, thread_sensitive=True)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = await self._executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._release(executor)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's `ASGIHandler.handle` with everything between reading the body and writing the
        reply in one hop (`_respond`)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            set_script_prefix(get_script_prefix(scope))
            response = await self._respond_in_thread(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The response to one request, in its thread: the request_started signal, the request
        built, the middleware stack and the view, an error logged, and a response that is not
        streamed closed (request_finished)."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            set_urlconf(settings.ROOT_URLCONF)
            response = self._middleware_chain(request)
            response._resource_closers.append(request.close)
            if response.status_code >= 400:
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):  # the server chunks it; read it in big blocks
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response

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
