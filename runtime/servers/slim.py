"""The two asyncio primitives uvicorn's WebSocket protocol keeps per socket, at a fraction of
their memory.

uvicorn gives every socket an `asyncio.Queue` (its receive events) and an `asyncio.Event` (whether
the transport takes writes). A Queue holds three deques and an Event of its own, an Event a
deque, and an empty deque allocates a block of 64 slots: five of them, about 3.8 KB, on every
idle socket, which is most of a gateway's memory per socket beyond the connection itself.
`Inbox` and `Flag` do what the protocol asks of those two with a few slots each: a deque only
while events wait, a future only while someone waits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Inbox:
    """What uvicorn's WebSocket protocol uses of `asyncio.Queue` (unbounded): `put_nowait`,
    `get`, `get_nowait`, `empty`, `qsize`; and `arrival()`, a future done when an item has
    been put (for a reader that awaits it without a coroutine of its own). Made for one reader
    at a time, as the protocol's `receive` is: readers waiting together share one future."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        items = self._items
        if items is None:
            items = self._items = deque()
        items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an empty deque keeps its 64-slot block
        return item

    async def get(self) -> Any:
        while not self._items:
            await self.arrival()
        return self.get_nowait()

    def arrival(self) -> asyncio.Future[None]:
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0


class Flag:
    """What the protocol uses of `asyncio.Event`: `set`, `clear`, `is_set`, `wait`. Created set
    (a new socket takes writes)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            waiters = self._waiters
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
