"""Load-generator worker processes.

Each worker is a separate process holding many real WebSocket clients (the `websockets`
asyncio library, on uvloop when installed). The driver talks to it over a pipe with a few
commands (`connect`, `counts`, `latency`, `close`, ...); nothing crosses the pipe per frame:
workers count frames per (gateway, room) and keep latency samples, and the driver asks.

A client finds its gateway the way real clients do (`GET /registry/gateway/available?user_id=`,
then the `ws_url` it names), or is given a URL directly (the memory phase, the baselines). It
counts as connected once the server's welcome frame (`type` "system") has arrived.

In read mode (`read_mode`, for every client of the worker), a client reads every message it
receives with `{"type": "read", "room_id", "seq"}` frames: either one per chat frame (the worst
case), or paced as the browser client and docs/websocket.md do it, at most one a second per
room carrying the latest seq (the first at once, the rest when the second is up): the cost of
read receipts on the gateways, next to the same fan-out without.

Bench messages carry their send time in their text, `b<unix seconds>`: a worker subtracts it
from the arrival time (the same clock: one machine) for the latency samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.backoff import retry_delay
from bench.confirming import ReadsAndAcks
from bench.httpclient import HttpPool
from bench.roaming import Roaming
from bench.socket_options import SOCKET_OPTIONS

STAMP_PREFIX = "b"
CLOSE_CONCURRENCY = 200


def stamp_text(sent_at: float) -> str:
    """The text of a bench message sent at `sent_at` (time.time())."""
    return f"{STAMP_PREFIX}{sent_at:.6f}"


def stamp_of(text: Any) -> float | None:
    if isinstance(text, str) and text.startswith(STAMP_PREFIX):
        try:
            return float(text[1:])
        except ValueError:
            return None
    return None


def raise_nofile_limit() -> int:
    """Lift the soft limit on open files to the hard one (thousands of sockets per process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
    return soft


class Client:
    __slots__ = ("acked", "closing", "group", "label", "read_at", "read_pending", "seen", "task", "ws")

    def __init__(self, *, ws: ClientConnection, group: str, label: str) -> None:
        self.ws = ws
        self.group = group
        self.label = label
        self.closing = False
        self.task: asyncio.Task[None] | None = None
        self.seen: dict[int, int] = {}  # room → highest seq received (ack mode)
        self.acked: dict[int, int] = {}  # room → highest seq acked
        self.read_at: dict[int, float] = {}  # room → when its last read frame went (paced reads)
        self.read_pending: dict[int, int] = {}  # room → seq received and not read yet (paced reads)


class Worker(ReadsAndAcks, Roaming):
    def __init__(self, conn: Connection, index: int) -> None:
        self.conn = conn
        self.index = index
        self.clients: dict[str, list[Client]] = {}
        self.counts: Counter[tuple[str, int]] = Counter()
        self.dropped: Counter[str] = Counter()  # close reason of sockets the server closed
        self.latency_room: int | None = None
        self.samples = array("d")
        self.ack_clients: set[Client] = set()
        self.read_mode = False
        self.read_every = 0.0  # 0: a read frame per chat frame; else at most one per room this often
        self.reads_sent = 0
        self.paced_readers: set[Client] = set()
        self._acked_at = 0.0
        self._exit = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- the pipe -----------------------------------------------------------------------------

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        # A thread blocks on the pipe: the loop's add_reader would make the pipe non-blocking
        # (uvloop does), and a message arriving in two pieces would then fail to read.
        reader = threading.Thread(target=self._read_commands, args=(loop,), name="commands", daemon=True)
        reader.start()
        ack_task = loop.create_task(self._ack_loop())
        try:
            await self._exit.wait()
        finally:
            ack_task.cancel()
            await self._close_all()

    def _read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                loop.call_soon_threadsafe(self._exit.set)  # the driver is gone
                return
            loop.call_soon_threadsafe(self._dispatch, message)
            if message.get("op") == "exit":
                return

    def _dispatch(self, message: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: dict[str, Any]) -> None:
        op = message.pop("op")
        request_id = message.pop("id")
        handler: Callable[..., Any] | None = getattr(self, f"op_{op}", None)
        try:
            if handler is None:
                raise ValueError(f"unknown worker command {op!r}")
            reply = {"id": request_id, "ok": True, "result": await handler(**message)}
        except Exception as error:
            reply = {"id": request_id, "ok": False, "error": f"{type(error).__name__}: {error}"}
        with contextlib.suppress(OSError, EOFError):
            self.conn.send(reply)

    # --- commands -----------------------------------------------------------------------------

    async def op_ping(self) -> int:
        return os.getpid()

    async def op_connect(
        self,
        *,
        group: str,
        clients: list[tuple[int | None, str | None, str | None]],
        registry: str | None = None,
        query: str = "",
        concurrency: int = 100,
        start_at: float | None = None,
        client_timeout: float = 30.0,
        ack: bool = False,
        label: str = "direct",
        retries: int = 0,
    ) -> dict[str, Any]:
        """Open one socket per `(user_id, token, url)`; a None url is looked up in the registry
        (and `query` appended to the `ws_url` it names), and its frames are counted under the
        gateway id the registry named; a given url's under `label`. Returns counts, errors and
        times. With `retries`, a client that fails tries again after a jittered back-off
        (bench/backoff.py), as a real client would; without, a failure counts."""
        pool = HttpPool(registry, size=min(max(concurrency, 1), 64), timeout=client_timeout) if registry else None
        gate = asyncio.Semaphore(max(concurrency, 1))
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.time()
        try:
            outcomes = await asyncio.gather(
                *(
                    self._open_retrying(group, label, spec, pool, query, gate, client_timeout, ack, retries)
                    for spec in clients
                )
            )
        finally:
            if pool is not None:
                await pool.close()
        errors: Counter[str] = Counter()
        labels: Counter[str] = Counter()
        durations: list[float] = []
        last_welcome = 0.0
        for ok, detail, seconds, at in outcomes:
            if ok:
                labels[detail] += 1
                durations.append(seconds)
                last_welcome = max(last_welcome, at)
            else:
                errors[detail] += 1
        return {
            "ok": sum(labels.values()),
            "failed": sum(errors.values()),
            "errors": dict(errors.most_common(10)),
            "labels": dict(labels),
            "started": started,
            "finished": time.time(),
            "last_welcome": last_welcome,
            "durations": durations,
        }

    async def _open_retrying(self, *args: Any) -> tuple[bool, str, float, float]:
        """Open one client, retrying up to `retries` times as bench/backoff.py says, all within
        `client_timeout`; the seconds returned run from the first try to the welcome."""
        *before, client_timeout, ack, retries = args
        began = time.monotonic()
        deadline = began + client_timeout
        attempt = 0
        while True:
            ok, detail, _, at, code = await self._open(*before, max(0.0, deadline - time.monotonic()), ack)
            if ok:
                return ok, detail, time.monotonic() - began, at
            delay = retry_delay(code, attempt) if attempt < retries else None
            if delay is None or time.monotonic() + delay >= deadline:
                return ok, detail, 0.0, at
            await asyncio.sleep(delay)
            attempt += 1

    async def _open(
        self,
        group: str,
        label: str,
        spec: tuple[int | None, str | None, str | None],
        pool: HttpPool | None,
        query: str,
        gate: asyncio.Semaphore,
        client_timeout: float,
        ack: bool,
    ) -> tuple[bool, str, float, float, int | None]:
        """One attempt: (ok, gateway id or failure, seconds, welcome time, close code or HTTP
        status of a failure)."""
        user_id, token, url = spec
        async with gate:
            began = time.monotonic()
            ws: ClientConnection | None = None
            try:
                async with asyncio.timeout(client_timeout):
                    if url is None:
                        if pool is None:
                            raise ValueError("no url and no registry")
                        reply = await pool.get(f"/registry/gateway/available?user_id={user_id}")
                        if reply.status != 200:
                            return False, f"registry answered {reply.status}", 0.0, 0.0, None
                        data = reply.json()["data"]
                        url, label = data["ws_url"] + query, data["gateway_id"]
                    headers = {"Authorization": f"Bearer {token}"} if token else None
                    ws = await connect(url, additional_headers=headers, **SOCKET_OPTIONS)
                    welcome = orjson.loads(await ws.recv())
                    if not isinstance(welcome, dict) or welcome.get("type") != "system":
                        raise ValueError(f"first frame is not the welcome: {str(welcome)[:60]}")
            except TimeoutError:
                await self._discard(ws)
                return False, "timed out", 0.0, 0.0, None
            except InvalidStatus as error:
                return False, f"handshake refused: HTTP {error.response.status_code}", 0.0, 0.0, None
            except ConnectionClosed as error:
                await self._discard(ws)
                code = error.rcvd.code if error.rcvd else None
                return False, f"closed before the welcome (code {code or 'none'})", 0.0, 0.0, code
            except Exception as error:  # any other failure of this one client (e.g. InvalidMessage) counts
                await self._discard(ws)
                return False, f"{type(error).__name__}: {str(error)[:80]}", 0.0, 0.0, None
            seconds = time.monotonic() - began
        client = Client(ws=ws, group=group, label=label)
        self.clients.setdefault(group, []).append(client)
        if ack:
            self.ack_clients.add(client)
        client.task = asyncio.ensure_future(self._read(client))
        return True, label, seconds, time.time(), None

    @staticmethod
    async def _discard(ws: ClientConnection | None) -> None:
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close()

    async def op_counts(self) -> dict[str, Any]:
        return {
            "counts": [[label, room, n] for (label, room), n in self.counts.items()],
            "dropped": dict(self.dropped),
            "open": sum(1 for clients in self.clients.values() for c in clients if not c.closing),
        }

    async def op_reset(self) -> None:
        self.counts.clear()
        self.dropped.clear()

    async def op_latency_start(self, *, room_id: int) -> None:
        self.latency_room = room_id
        self.samples = array("d")

    async def op_latency_take(self) -> bytes:
        self.latency_room = None
        samples, self.samples = self.samples, array("d")
        return samples.tobytes()

    async def op_close(self, *, group: str) -> int:
        clients = self.clients.pop(group, [])
        gate = asyncio.Semaphore(CLOSE_CONCURRENCY)

        async def close(client: Client) -> None:
            client.closing = True
            self.ack_clients.discard(client)
            async with gate:
                with contextlib.suppress(Exception):
                    await client.ws.close()
            if client.task is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(client.task, timeout=5)

        await asyncio.gather(*(close(c) for c in clients))
        return len(clients)

    async def op_exit(self) -> None:
        self._exit.set()

    async def _close_all(self) -> None:
        for group in list(self.clients):
            await self.op_close(group=group)

    # --- frames -------------------------------------------------------------------------------

    async def _read(self, client: Client) -> None:
        counts = self.counts
        label = client.label
        try:
            async for raw in client.ws:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                if kind == "chat" or kind == "update":  # an update takes a seq and a frame too
                    now = time.time()
                    room = frame["room_id"]
                    counts[(label, room)] += 1
                    if room == self.latency_room:
                        self._sample(frame, now)
                    if client in self.ack_clients:
                        self._saw(client, room, frame.get("seq"))
                    if self.read_mode and kind == "chat":
                        await self._read_seq(client, room, frame.get("seq"))
                elif kind == "batch":
                    now = time.time()
                    for inner in frame["payload"]:
                        room = inner["room_id"]
                        counts[(label, room)] += 1
                        if room == self.latency_room:
                            self._sample(inner, now)
                        if client in self.ack_clients:
                            self._saw(client, room, inner.get("seq"))
                        if self.read_mode and inner.get("type") == "chat":
                            await self._read_seq(client, room, inner.get("seq"))
            reason = f"closed by the server (code {client.ws.close_code})"
        except ConnectionClosed as error:
            reason = f"closed by the server (code {error.rcvd.code if error.rcvd else 'none'})"
        except Exception as error:
            reason = f"read failed: {type(error).__name__}"
        if not client.closing:
            self.dropped[reason] += 1

    def _sample(self, frame: dict[str, Any], now: float) -> None:
        payload = frame.get("payload")
        sent_at = stamp_of(payload.get("text") if isinstance(payload, dict) else None)
        if sent_at is not None:
            self.samples.append(now - sent_at)


def worker_main(conn: Connection, index: int) -> None:
    """Entry point of a worker process (multiprocessing, spawn)."""
    raise_nofile_limit()
    # Ctrl-C reaches the whole process group: the driver handles it and tells workers to exit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(Worker(conn, index).serve())
