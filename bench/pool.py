"""The driver's side of the load-generator workers (`bench.clients`): start them, send them
commands over their pipes, gather their answers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
from collections import Counter
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bench.clients import worker_main

T = TypeVar("T")


class WorkerError(RuntimeError):
    """A worker answered a command with an error, or died."""


class WorkerHandle:
    def __init__(self, index: int, process: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.process = process
        self.conn = conn
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.conn.fileno(), self._on_readable)
        # recv() must block until a whole message is in, whatever the loop did to the fd.
        os.set_blocking(self.conn.fileno(), True)

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(Exception):
            loop.remove_reader(self.conn.fileno())

    def _on_readable(self) -> None:
        try:
            while self.conn.poll():
                reply = self.conn.recv()
                future = self._pending.pop(reply["id"], None)
                if future is None or future.done():
                    continue
                if reply["ok"]:
                    future.set_result(reply["result"])
                else:
                    future.set_exception(WorkerError(f"worker {self.index}: {reply['error']}"))
        except (EOFError, OSError):
            self._fail_all(WorkerError(f"worker {self.index} exited"))
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.conn.fileno())

    def _fail_all(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    async def call(self, op: str, *, limit: float = 120.0, **args: Any) -> Any:
        """Run a worker command (`bench.clients.Worker.op_<op>`); its answer, within `limit` s."""
        if not self.process.is_alive():
            raise WorkerError(f"worker {self.index} is not running (exit code {self.process.exitcode})")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.conn.send({"id": request_id, "op": op, **args})
        try:
            return await asyncio.wait_for(future, timeout=limit)
        finally:
            self._pending.pop(request_id, None)


class WorkerPool:
    """`count` worker processes, each holding a share of the simulated clients."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.workers: list[WorkerHandle] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        # spawn, not fork: the driver holds database connections a forked child must not share.
        context = multiprocessing.get_context("spawn")
        self._loop = asyncio.get_running_loop()
        for index in range(self.count):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main, args=(child, index), name=f"bench-worker-{index}", daemon=True
            )
            process.start()
            child.close()
            handle = WorkerHandle(index, process, parent)
            handle.attach(self._loop)
            self.workers.append(handle)
        await self.call_all("ping", limit=60)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def split(self, items: Sequence[T]) -> list[list[T]]:
        """`items` dealt round robin over the workers."""
        return [list(items[i :: self.count]) for i in range(self.count)]

    async def call_all(self, op: str, *, limit: float = 120.0, **args: Any) -> list[Any]:
        """The same command to every worker; their answers in worker order."""
        return list(await asyncio.gather(*(worker.call(op, limit=limit, **args) for worker in self.workers)))

    async def connect(
        self,
        *,
        group: str,
        clients: Sequence[tuple[int | None, str | None, str | None]],
        client_timeout: float = 30.0,
        call_limit: float = 600.0,
        **args: Any,
    ) -> dict[str, Any]:
        """Open `clients` spread over the workers; the merged outcome of every worker."""
        shares = self.split(clients)
        # `client_timeout` is each client's; the call may take as long as the whole batch.
        results = await asyncio.gather(
            *(
                worker.call(
                    "connect", limit=call_limit, group=group, clients=share, client_timeout=client_timeout, **args
                )
                for worker, share in zip(self.workers, shares, strict=True)
            )
        )
        merged: dict[str, Any] = {"ok": 0, "failed": 0, "errors": Counter(), "labels": Counter(), "durations": []}
        merged["started"] = min(r["started"] for r in results)
        merged["finished"] = max(r["finished"] for r in results)
        merged["last_welcome"] = max(r["last_welcome"] for r in results)
        for result in results:
            merged["ok"] += result["ok"]
            merged["failed"] += result["failed"]
            merged["errors"].update(result["errors"])
            merged["labels"].update(result["labels"])
            merged["durations"].extend(result["durations"])
        merged["errors"] = dict(merged["errors"])
        merged["labels"] = dict(merged["labels"])
        return merged

    async def counts(self) -> tuple[Counter[tuple[str, int]], Counter[str], int]:
        """(frames per (label, room), sockets the servers closed by reason, sockets open)."""
        total: Counter[tuple[str, int]] = Counter()
        dropped: Counter[str] = Counter()
        open_sockets = 0
        for result in await self.call_all("counts", limit=30):
            for label, room, n in result["counts"]:
                total[(label, room)] += n
            dropped.update(result["dropped"])
            open_sockets += result["open"]
        return total, dropped, open_sockets

    async def reset(self) -> None:
        await self.call_all("reset", limit=30)

    async def close_group(self, group: str) -> int:
        return sum(await self.call_all("close", group=group, limit=300))

    async def stop(self) -> None:
        loop = self._loop
        for worker in self.workers:
            if worker.process.is_alive():
                with contextlib.suppress(Exception):
                    await worker.call("exit", limit=10)
        for worker in self.workers:
            worker.process.join(timeout=15)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            if loop is not None:
                worker.detach(loop)
            worker.conn.close()
        self.workers = []

    def kill(self) -> None:
        """Last-resort cleanup (no event loop needed)."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
