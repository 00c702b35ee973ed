"""Work submitted one item at a time on the event loop, run in batches off it: a storm of
small database reads or writes costs a few queries per batch, not a round trip and a thread hop
per item (the gateway's handshakes and closes, `gateway.handshakes`; its sockets' positions and
catch-up frames, `gateway.delivery.store`).

A batch is taken when its first item has waited `wait()` seconds, or at once when `cap()` items
wait, and runs in one `off_loop` call; while `parallel` batches run, the next ones fill up, and
coalescers that share a `BatchGate` run at most its limit of batches at once between them. Each
item gets its own answer (a result or its own exception); a batch that fails as a whole fails
each of its items, and the next batch runs as usual. Bounded: beyond `queue_max()` items waiting
or in a batch, a new one is refused at once with QueueFull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from django.conf import settings

from chatproject.offloop import off_loop

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class BatchGate:
    """At most `limit()` batches of the coalescers that share the gate run at once. A batch's
    work is mostly Python (building queries and results) in a worker thread, which takes the
    GIL from the event loop: with several batches running, a gateway's loop waited seconds to
    accept connections in a reconnect storm (issue 15), while one batch at a time, larger, does
    the same work in fewer queries and leaves the loop its turn."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def slot(self) -> asyncio.Semaphore:
        """The semaphore of the running loop (a new loop, as in tests, gets a new one)."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(max(1, self._limit()))
        return self._semaphore


# The gateway's batches (handshakes, closes, positions, catch-up frames) share this gate.
database_batches = BatchGate(lambda: settings.DB_BATCHES_AT_ONCE)


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
        parallel: int = 2,
        gate: BatchGate | None = None,
    ) -> None:
        self._run = off_loop(run)
        self._parallel = parallel  # each running batch holds one database connection
        self._gate = gate
        self._wait, self._cap, self._queue_max = wait, cap, queue_max
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def _reset(self) -> None:
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._outstanding = 0  # waiting or in a running batch
        self._running = 0  # batches started (waiting for the gate or running)
        self._uncut = 0  # of those, the ones waiting for the gate: not cut from the queue yet
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
        elif self._timer is None and self._running < self._parallel:
            self._timer = loop.call_later(self._wait(), self._take)
        return await future

    def _take(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        cap = self._cap()
        # A batch is cut from the queue once it may run (its gate is open): what comes while it
        # waits for the gate joins it.
        while len(self._queue) > self._uncut * cap and self._running < self._parallel:
            self._running += 1
            self._uncut += 1
            task = asyncio.get_running_loop().create_task(self._run_batch())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_batch(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        results: Sequence[R | BaseException] = []
        cut = False
        try:
            async with self._gate.slot() if self._gate is not None else contextlib.nullcontext():
                cap = self._cap()
                batch, self._queue = self._queue[:cap], self._queue[cap:]
                self._uncut -= 1
                cut = True
                if batch:
                    results = await self._run([item for item, _ in batch])
                    if len(results) != len(batch):
                        raise RuntimeError(f"a batch of {len(batch)} got {len(results)} results")
        except Exception as error:
            logger.warning("a batch of %d failed", len(batch), exc_info=True)
            results = [error] * len(batch)
        finally:
            self._running -= 1
            self._outstanding -= len(batch)
            if not cut:  # cancelled while it waited for the gate
                self._uncut -= 1
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its consumer was cancelled
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if self._queue:  # they gathered while this batch ran: they have waited enough
            self._take()
