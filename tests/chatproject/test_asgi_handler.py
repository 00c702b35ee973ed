"""The project's ASGI handler (`chatproject.asgi_handler`): Django's request stack entered in one
hop, each request's sync parts on a thread of its own taken from a pool of idle ones."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import orjson
import pytest
from django.urls import get_resolver

from chatproject.asgi_handler import OneHopASGIHandler
from tests.support.asgi import asgi_request

pytestmark = pytest.mark.django_db(transaction=True)


async def request(handler: OneHopASGIHandler, path: str) -> tuple[int, dict[str, Any]]:
    status, _headers, body = await asgi_request(handler, path)
    return status, orjson.loads(body)


async def test_a_request_gets_the_envelope_and_its_thread_goes_back_to_the_pool():
    handler = OneHopASGIHandler()
    status, body = await request(handler, "/no/such/path")
    assert status == 404 and body["code"] != 0
    assert len(handler._idle) == 1
    first = handler._idle[0]
    await request(handler, "/no/such/path")
    assert handler._idle == [first]  # reused, not a new thread per request


async def test_concurrent_requests_run_on_threads_of_their_own_off_the_loop(monkeypatch):
    handler = OneHopASGIHandler()
    seen: list[int] = []
    loop_thread = threading.get_ident()
    pattern = get_resolver().url_patterns[-1]  # the catch-all: chatproject.views.not_found
    original = pattern.callback

    def slow_not_found(request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(threading.get_ident())
        threading.Event().wait(0.05)  # the three overlap
        return original(request, *args, **kwargs)

    monkeypatch.setattr(pattern, "callback", slow_not_found)
    statuses = await asyncio.gather(*(request(handler, f"/nothing/{n}") for n in range(3)))
    assert [status for status, _ in statuses] == [404, 404, 404]
    assert len(set(seen)) == 3 and loop_thread not in seen
    assert len(handler._idle) == 3


async def test_beyond_http_threads_requests_wait_for_a_free_thread_instead_of_starting_one(monkeypatch, settings):
    settings.HTTP_THREADS = 2
    handler = OneHopASGIHandler()
    seen: list[int] = []
    running = 0
    most = 0
    pattern = get_resolver().url_patterns[-1]
    original = pattern.callback
    guard = threading.Lock()

    def slow_not_found(request: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
            seen.append(threading.get_ident())
        threading.Event().wait(0.03)
        with guard:
            running -= 1
        return original(request, *args, **kwargs)

    monkeypatch.setattr(pattern, "callback", slow_not_found)
    statuses = await asyncio.gather(*(request(handler, f"/nothing/{n}") for n in range(7)))
    assert [status for status, _ in statuses] == [404] * 7
    assert most == 2 and len(set(seen)) == 2  # two threads served all seven, never more at once
    assert len(handler._idle) == 2 and not handler._waiters


async def test_a_request_cancelled_while_waiting_for_a_thread_loses_no_thread(settings):
    settings.HTTP_THREADS = 1
    handler = OneHopASGIHandler()
    held = await handler._executor()
    waiting = asyncio.ensure_future(handler._executor())
    await asyncio.sleep(0)
    handler._release(held)  # handed to the waiter...
    waiting.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert handler._idle == [held]
    status, _ = await request(handler, "/no/such/path")
    assert status == 404 and handler._idle == [held]


async def test_the_signals_and_the_view_run_in_the_one_thread_and_the_connection_goes_back_first(monkeypatch):
    """request_started, the view and request_finished (which hands the database connection
    back) all run on the request's thread, in that order, and a plain response is closed
    before its bytes are written: nothing of the request is left for a hop after the reply."""
    from django.core import signals

    handler = OneHopASGIHandler()
    events: list[tuple[str, int]] = []
    pattern = get_resolver().url_patterns[-1]
    original = pattern.callback

    def started(**kwargs: Any) -> None:
        events.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        events.append(("finished", threading.get_ident()))

    def view(request: Any, *args: Any, **kwargs: Any) -> Any:
        events.append(("view", threading.get_ident()))
        return original(request, *args, **kwargs)

    monkeypatch.setattr(pattern, "callback", view)
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        status, _headers, _body = await asgi_request(
            handler, "/no/such/path", on_send=lambda message: events.append((message["type"], 0))
        )
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert status == 404
    names = [name for name, _ in events]
    assert names == ["started", "view", "finished", "http.response.start", "http.response.body"]
    threads = {thread for name, thread in events if not name.startswith("http.")}
    assert len(threads) == 1 and threading.get_ident() not in threads


async def test_a_streamed_response_is_sent_whole_and_closed_after(monkeypatch):
    from django.core import signals
    from django.http import StreamingHttpResponse

    handler = OneHopASGIHandler()
    order: list[str] = []
    pattern = get_resolver().url_patterns[-1]

    async def chunks() -> Any:
        for n in range(3):
            order.append(f"chunk {n}")
            yield f"part {n};".encode()

    def view(request: Any, *args: Any, **kwargs: Any) -> Any:
        return StreamingHttpResponse(chunks(), content_type="text/plain")

    def finished(**kwargs: Any) -> None:
        order.append("finished")

    monkeypatch.setattr(pattern, "callback", view)
    signals.request_finished.connect(finished)
    try:
        status, _headers, body = await asgi_request(handler, "/streamed")
    finally:
        signals.request_finished.disconnect(finished)
    assert status == 200 and body == b"part 0;part 1;part 2;"
    assert order == ["chunk 0", "chunk 1", "chunk 2", "finished"]
    assert len(handler._idle) == 1


async def test_an_error_response_is_logged_once_with_its_status(caplog):
    handler = OneHopASGIHandler()
    with caplog.at_level("WARNING", logger="django.request"):
        status, _body = await request(handler, "/no/such/path")
    assert status == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1 and records[0].status_code == 404 and "/no/such/path" in records[0].getMessage()
