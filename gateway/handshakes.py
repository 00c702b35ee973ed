"""Handshakes and closes of sockets, gathered into batches: the database work of a storm of
connections costs a few queries per batch, not ten round trips and two thread hops per socket.

A socket whose access token verified (on the loop, no database) waits in a queue; a batch is
taken when its first socket has waited WS_HANDSHAKE_BATCH_WAIT_MS, or at once when
WS_HANDSHAKE_BATCH_MAX are waiting, and runs in one `off_loop` call (`services.sockets_open`).
While batches run (at most PARALLEL_BATCHES at a time) the next ones fill up. Closes are
gathered the same way (`services.sockets_close`).

Each socket gets its own answer (its opened socket, or its own refusal: unknown, banned); a
batch that fails as a whole (the database is down) fails each of its sockets, and the next
batch runs as usual. Bounded: beyond WS_HANDSHAKE_QUEUE_MAX sockets waiting or in a batch, a
new one is refused at once with QueueFull (the consumer closes it with 1013, try again later).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from django.conf import settings

from chatproject.offloop import off_loop
from gateway import services
from gateway.delivery import DeliveryEngine, delivery_engine
from gateway.services import ClosedSocket, OpenedSocket, SocketRequest

logger = logging.getLogger(__name__)

PARALLEL_BATCHES = 2  # per kind: each holds one database connection while it runs

T = TypeVar("T")
R = TypeVar("R")


class QueueFull(Exception):
    """Too many sockets wait already: refuse this one, the client tries again later."""


class Coalescer(Generic[T, R]):
    """Gathers items submitted on the event loop into batches for `run`, a blocking function
    that answers a list of items with one result (or exception) per item, in order."""

    def __init__(
        self,
        run: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        wait: Callable[[], float],
        cap: Callable[[], int],
        queue_max: Callable[[], float],
    ) -> None:
        self._run = off_loop(run)
        self._wait, self._cap, self._queue_max = wait, cap, queue_max
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._outstanding = 0  # waiting or in a running batch
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def outstanding(self) -> int:
        return self._outstanding

    async def submit(self, item: T) -> R:
        """The item's result, once its batch ran. Raises QueueFull at once when too many
        wait, the item's own exception, or the batch's when the batch failed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests): what waited on the old one is gone
            self._loop = loop
            self._reset()
        if self._outstanding >= self._queue_max():
            raise QueueFull()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        self._outstanding += 1
        if len(self._queue) >= self._cap():
            self._take()
        elif self._timer is None and self._running < PARALLEL_BATCHES:
            self._timer = loop.call_later(self._wait(), self._take)
        return await future

    def _take(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        cap = self._cap()
        while self._queue and self._running < PARALLEL_BATCHES:
            batch, self._queue = self._queue[:cap], self._queue[cap:]
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._run_batch(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} got {len(results)} results")
        except Exception as error:
            logger.warning("a batch of %d failed", len(batch), exc_info=True)
            results = [error] * len(batch)
        finally:
            self._running -= 1
            self._outstanding -= len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its consumer was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if self._queue:  # they gathered while this batch ran: they have waited enough
            self._take()


class Handshakes:
    """The process's two coalescers, opens and closes, for the gateway `engine` is."""

    def __init__(self, engine: DeliveryEngine) -> None:
        self.engine = engine
        wait = lambda: settings.WS_HANDSHAKE_BATCH_WAIT_MS / 1000  # noqa: E731
        cap = lambda: settings.WS_HANDSHAKE_BATCH_MAX  # noqa: E731
        self.opens: Coalescer[SocketRequest, OpenedSocket] = Coalescer(
            self._open, wait=wait, cap=cap, queue_max=lambda: settings.WS_HANDSHAKE_QUEUE_MAX
        )
        # Closes are never refused (a refused close would leave its route behind): there are
        # never more of them than sockets this gateway held.
        self.closes: Coalescer[ClosedSocket, bool] = Coalescer(
            self._close, wait=wait, cap=cap, queue_max=lambda: math.inf
        )

    async def open(self, request: SocketRequest) -> OpenedSocket:
        """Record the route of a socket already in the hub, and read what it is owed. Raises
        QueueFull, NotAuthenticated or UserBanned for this socket, anything else when its
        batch failed."""
        return await self.opens.submit(request)

    async def close(self, socket: ClosedSocket) -> bool:
        """Remove the route of a socket gone from the hub; True when it was its user's last
        socket in the cluster (told once per user and batch). Raises QueueFull, or what the
        batch raised."""
        return await self.closes.submit(socket)

    def _open(self, requests: list[SocketRequest]) -> list[OpenedSocket | Exception]:
        gateway_id = self.engine.gateway_id
        if gateway_id is None:
            raise RuntimeError("this process is no gateway any more")
        return list(
            services.sockets_open(gateway_id=gateway_id, requests=requests, register_again=self.engine.register_again)
        )

    def _close(self, closed: list[ClosedSocket]) -> list[bool]:
        gateway_id = self.engine.gateway_id
        if gateway_id is None:
            return [False] * len(closed)
        gone = services.sockets_close(gateway_id=gateway_id, closed=closed)
        answers = []
        for socket in closed:
            answers.append(socket.user_id in gone)
            gone.discard(socket.user_id)
        return answers


_handshakes: Handshakes | None = None


def handshakes() -> Handshakes:
    """This process's coalescers, for its delivery engine; created on first use."""
    global _handshakes
    if _handshakes is None:
        _handshakes = Handshakes(delivery_engine())
    return _handshakes
