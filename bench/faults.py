"""The fault phases (issue 10): what a stalled reader costs a gateway, and how long a killed
gateway's clients take to be back, on a cluster of their own (a send process and two gateways
on the primary server, PostgreSQL and Redis), after the other phases.

- **Stalled readers**: clients that open their socket, read the welcome and then never read
  again (their kernel receive buffer small, as a phone's that went to sleep), in a room that
  keeps talking (4 KB messages). The gateway's RSS is read before and after: each stalled
  socket may hold at most DELIVERY_MAX_UNPROVEN_BYTES, and is cut off with 4008 once its budget
  stayed full for DELIVERY_SLOW_SECONDS (counted from the gateway's `chat_slow_consumers`).
- **Failover**: clients connected through the registry, spread over both gateways; one gateway
  is SIGKILLed while the room keeps talking; each of its clients reconnects through the
  registry (retrying every 0.2-0.4 s, as the browser client does at first) and its time to the
  welcome on the other gateway is recorded, and whether it then holds every message.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import time
from collections.abc import Callable
from typing import Any

import websockets

from bench.fixtures import BenchUser
from bench.httpclient import HttpError, HttpPool
from bench.procs import ServerProcess
from bench.stats import percentile

TEXT = "x" * 3990  # with its number, just under the 4,000-character limit


class StalledSocket:
    """A WebSocket opened by hand that reads the welcome and then nothing more."""

    def __init__(self) -> None:
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, port: int, token: str) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /api/ws?ack=0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"handshake refused: {head[:80]!r}")
        await asyncio.wait_for(reader.read(200), timeout=10)  # the welcome frame
        self.writer = writer  # never read again

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.transport.abort()


async def stalled_readers(
    *,
    gateway: ServerProcess,
    sender: BenchUser,
    stalled: list[BenchUser],
    room_id: int,
    http: HttpPool,
    messages: int,
    rate: float,
    slow_seconds: float,
    budget_bytes: int,
) -> dict[str, Any]:
    """RSS of `gateway` before and after `messages` messages of 4 KB into a room where every
    member's socket stopped reading."""
    sockets = [StalledSocket() for _ in stalled]
    await asyncio.gather(*(s.open(gateway.port, u.token) for s, u in zip(sockets, stalled, strict=True)))
    await asyncio.sleep(1.0)
    before = gateway.rss_bytes()
    cutoffs0 = await _slow_consumers(gateway)
    began = time.time()
    sent = 0
    for n in range(messages):
        delay = began + n / rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        body = {"room_id": room_id, "content": {"type": "text", "text": f"{n} {TEXT}"}}
        reply = await http.post("/api/chat/send_message", body, headers={"Authorization": f"Bearer {sender.token}"})
        if reply.status != 200:
            raise RuntimeError(f"send_message answered {reply.status}: {reply.body[:200]!r}")
        sent += 1
    peak = gateway.rss_bytes()
    await asyncio.sleep(slow_seconds + 3.0)
    after = gateway.rss_bytes()
    cutoffs = await _slow_consumers(gateway) - cutoffs0
    for s in sockets:
        s.close()
    grown = max(peak, after) - before
    return {
        "stalled_sockets": len(sockets),
        "messages": sent,
        "message_bytes": len(TEXT),
        "bytes_sent_to_each": sent * len(TEXT),
        "budget_bytes": budget_bytes,
        "rss_before_mib": round(before / 2**20, 1),
        "rss_peak_mib": round(max(peak, after) / 2**20, 1),
        "kb_per_stalled_socket": round(grown / len(sockets) / 1024, 1),
        "cut_off": cutoffs,
        "seconds": round(time.time() - began, 1),
    }


async def _slow_consumers(gateway: ServerProcess) -> int:
    pool = HttpPool(gateway.base_url, size=1, timeout=10)
    try:
        reply = await pool.get("/metrics")
        for line in reply.body.decode().splitlines():
            if line.startswith("chat_slow_consumers_total "):
                return int(float(line.split()[1]))
        return 0
    finally:
        await pool.close()


class FailoverClient:
    """Finds its gateway through the registry and, when the socket drops, finds another."""

    def __init__(self, user: BenchUser, registry: str) -> None:
        self.user = user
        self.registry = registry
        self.gateways: list[str] = []
        self.welcomed_at: list[float] = []
        self.seqs: set[int] = set()
        self.closed_at: float | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    async def run(self, http: HttpPool) -> None:
        while not self.stopping:
            try:
                reply = await http.get(
                    "/registry/gateway/available", headers={"Authorization": f"Bearer {self.user.token}"}
                )
                if reply.status != 200:
                    raise ConnectionError(reply.status)
                data = reply.json()["data"]
                url = f"ws://{data['address']}:{data['port']}/api/ws?ack=0"
                async with websockets.connect(
                    url, additional_headers={"Authorization": f"Bearer {self.user.token}"}, open_timeout=10
                ) as ws:
                    json.loads(await ws.recv())
                    self.gateways.append(data["gateway_id"])
                    self.welcomed_at.append(time.time())
                    async for raw in ws:
                        frame = json.loads(raw)
                        chats = frame["payload"] if frame["type"] == "batch" else [frame]
                        self.seqs.update(c["seq"] for c in chats if c.get("type") == "chat")
            except (OSError, websockets.WebSocketException, ConnectionError, TimeoutError, HttpError):
                pass
            if self.stopping:
                return
            if self.closed_at is None:
                self.closed_at = time.time()
            await asyncio.sleep(0.2 + random.random() * 0.2)


async def failover(
    *,
    registry: HttpPool,
    registry_url: str,
    gateways: dict[str, ServerProcess],
    clients: list[BenchUser],
    sender: BenchUser,
    room_id: int,
    messages: int,
    wait: Callable[[float], Any] = asyncio.sleep,
) -> dict[str, Any]:
    """SIGKILL the gateway holding the most clients; the time each of its clients takes to be
    welcomed elsewhere, and whether every client ends with every message."""
    runners = [FailoverClient(user, registry_url) for user in clients]
    for runner in runners:
        runner.task = asyncio.ensure_future(runner.run(registry))
    deadline = time.time() + 60
    while time.time() < deadline and any(not r.gateways for r in runners):
        await wait(0.2)
    if any(not r.gateways for r in runners):
        raise RuntimeError("not every failover client connected within 60 s")
    counts: dict[str, int] = {}
    for runner in runners:
        counts[runner.gateways[0]] = counts.get(runner.gateways[0], 0) + 1
    victim = max(counts, key=counts.get)
    moved = [r for r in runners if r.gateways[0] == victim]
    killed_at = time.time()
    gateways[victim].popen.send_signal(signal.SIGKILL)

    async def say(n: int) -> bool:
        body = {"room_id": room_id, "content": {"type": "text", "text": f"during failover {n}"}}
        reply = await registry.post("/api/chat/send_message", body, headers={"Authorization": f"Bearer {sender.token}"})
        return reply.status == 200

    stored = 0
    for n in range(messages):
        stored += await say(n)
        await wait(0.1)
    deadline = time.time() + 60
    while time.time() < deadline and any(len(r.welcomed_at) < 2 for r in moved):
        await wait(0.2)
    await wait(3.0)  # the last batches
    delays = sorted(r.welcomed_at[1] - killed_at for r in moved if len(r.welcomed_at) >= 2)
    missing = sum(1 for r in runners if not set(range(1, stored + 1)) <= r.seqs)
    for runner in runners:
        runner.stopping = True
        if runner.task is not None:
            runner.task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.gather(*(r.task for r in runners if r.task is not None), return_exceptions=True)
    return {
        "clients": len(runners),
        "on_killed_gateway": len(moved),
        "killed": victim,
        "reconnected": len(delays),
        "reconnect_p50_s": round(statistics.median(delays), 2) if delays else None,
        "reconnect_p95_s": round(percentile(delays, 95), 2) if delays else None,
        "reconnect_max_s": round(delays[-1], 2) if delays else None,
        "messages_during": stored,
        "clients_missing_messages": missing,
    }
