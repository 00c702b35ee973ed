"""`runtime.servers.slim`: the receive queue and the writable flag of each uvicorn WebSocket
(`ChatWebSocketProtocol`), in place of an `asyncio.Queue` and an `asyncio.Event`."""

from __future__ import annotations

import asyncio
import sys
from collections import deque

import pytest
import uvicorn

from runtime.servers.slim import Flag, Inbox
from runtime.servers.uvicorn_protocols import ChatWebSocketProtocol


async def test_the_inbox_hands_items_out_in_order_and_lets_its_deque_go_when_drained():
    inbox = Inbox()
    assert inbox.empty() and inbox.qsize() == 0
    for n in range(3):
        inbox.put_nowait(n)
    assert not inbox.empty() and inbox.qsize() == 3
    assert [await inbox.get(), inbox.get_nowait(), await inbox.get()] == [0, 1, 2]
    assert inbox.empty() and inbox._items is None
    with pytest.raises(asyncio.QueueEmpty):
        inbox.get_nowait()


async def test_a_waiting_reader_is_woken_by_the_next_item():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait("connect")
    assert await asyncio.wait_for(reader, 1) == "connect"


async def test_a_reader_cancelled_while_waiting_loses_nothing():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    inbox.put_nowait("frame")  # the same turn of the loop: the reader never ran again
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert await asyncio.wait_for(inbox.get(), 1) == "frame"
    # woken, then cancelled before it ran: the item stays for the next reader
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("again")
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert inbox.get_nowait() == "again"


async def test_the_flag_starts_set_and_wakes_every_waiter_when_set_again():
    flag = Flag()
    assert flag.is_set() and await flag.wait() is True
    flag.clear()
    waiters = [asyncio.ensure_future(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    assert flag._waiters is None


async def test_a_cancelled_flag_waiter_is_forgotten():
    flag = Flag()
    flag.clear()
    waiter = asyncio.ensure_future(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert flag._waiters == []
    flag.set()
    assert flag.is_set()


def test_each_socket_of_the_chat_protocol_holds_the_slim_ones_and_no_deque():
    """The point of it: what a socket holds, measured as Python sees it."""

    async def app(scope, receive, send):  # pragma: no cover - never called
        return None

    config = uvicorn.Config(app, ws="websockets-sansio", lifespan="off")
    config.load()
    loop = asyncio.new_event_loop()
    try:
        protocol = ChatWebSocketProtocol(config, uvicorn.server.ServerState(), {}, _loop=loop)
    finally:
        loop.close()
    assert isinstance(protocol.queue, Inbox) and isinstance(protocol.writable, Flag)
    assert not [value for value in vars(protocol).values() if isinstance(value, deque)]
    slim = sys.getsizeof(protocol.queue) + sys.getsizeof(protocol.writable)
    stock = asyncio.Queue()
    stock_size = sum(sys.getsizeof(d) for d in (stock._queue, stock._getters, stock._putters))
    assert slim * 10 < stock_size
