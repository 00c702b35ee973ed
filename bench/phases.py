"""The measurements. Each reads the CPU time of the processes it measures before and after
(psutil: user + system of every thread), counts what the clients received (never per-frame
IPC: the workers count, the driver asks them every 25 ms), and returns a plain dict for the
JSON results.

Fan-out is driven closed loop: senders keep publishing while the frames not yet received stay
under a window (every sender one publish in flight, or a quarter second of the delivery rate
seen so far, never more than the channels hold), so every process stays busy without a
backlog, and the measurement ends once every frame has arrived (or the drain timeout says
some were lost, which is reported as a problem). Latency and sending are driven open loop at a
steady rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.fixtures import BenchUser
from bench.pool import WorkerPool
from bench.procs import ServerProcess, cpu_of, cpu_of_pids, machine_busy_seconds
from bench.stats import histogram, percentile, window_messages

POLL_SECONDS = 0.025
# The gateways' sweep delivers a lost push within DELIVERY_SWEEP_SECONDS (5 s): give it three.
OURS_STALL_SECONDS = 15.0
WINDOW_SECONDS = 0.25
MAX_TRIGGER_ERRORS = 50
SETTLE_SECONDS = 1.0  # between two measurements, so one's tail does not weigh on the next
STORM_RETRIES = 10  # enough to fill the client timeout with back-off (0.5 s doubling, capped at 30 s)


@dataclass
class Target:
    """What a fan-out measurement drives and divides by."""

    kind: str  # "ours", "bare" or "stock"
    server: str
    measured: list[ServerProcess]  # their CPU is the denominator
    feeder: ServerProcess | None  # publishes (send process, stock feeder); its CPU is reported apart
    labels: dict[str, str]  # client label (gateway id, baseline name) → measured process name
    room_ids: dict[int, int]  # room size → room_id in the frames
    trigger: Callable[[int], Awaitable[bool]]  # publish into the room of that size once
    frames_per_trigger: Callable[[int], int]
    concurrency: int = 2
    stall_seconds: float = 5.0  # no new frame for this long: the rest will not come


@dataclass
class Progress:
    expected: int = 0
    received: int = 0
    triggers: int = 0
    errors: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    measured: list[ServerProcess] = field(default_factory=list)
    # When a frame was last seen arrive, and the measured processes' CPU time then: a phase
    # ends at its last frame, not after the idle wait that proves no more will come.
    last_change: float = field(default_factory=time.time)
    cpu_at_last_change: dict[str, float] = field(default_factory=dict)

    async def wait(self, seconds: float) -> None:
        self.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.changed.wait(), timeout=seconds)


class Phases:
    def __init__(self, *, pool: WorkerPool, drain_timeout: float) -> None:
        self.pool = pool
        self.drain_timeout = drain_timeout

    @property
    def loadgen_pids(self) -> list[int]:
        """The load generators: the workers and this driver (it sends and polls)."""
        return [*self.pool.pids, os.getpid()]

    # --- counting ---------------------------------------------------------------------------

    async def _poll(self, room_id: int, progress: Progress, stop: asyncio.Event) -> None:
        while not stop.is_set():
            counts, _dropped, _open = await self.pool.counts()
            received = sum(n for (_label, room), n in counts.items() if room == room_id)
            if received != progress.received:
                progress.received = received
                progress.last_change = time.time()
                progress.cpu_at_last_change = cpu_of(progress.measured)
            progress.changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)

    async def _drain(self, progress: Progress, *, stall_seconds: float) -> None:
        """Wait until every expected frame is in, or none has come for `stall_seconds`, or the
        drain timeout."""
        deadline = time.time() + self.drain_timeout
        while progress.received < progress.expected and time.time() < deadline:
            if time.time() - progress.last_change > stall_seconds:
                return
            await progress.wait(0.5)

    # --- fan-out --------------------------------------------------------------------------------

    async def fanout(self, target: Target, size: int, *, seconds: float) -> dict[str, Any]:
        room_id = target.room_ids[size]
        # Frames allowed in flight: every sender may have one publish out, and beyond that a
        # quarter second of what has been delivered so far, up to the channels' capacity.
        floor = target.concurrency * target.frames_per_trigger(size)
        ceiling = max(floor, size * window_messages(size))
        await self.pool.reset()
        progress = Progress(measured=target.measured)
        stop = asyncio.Event()
        cpu0 = cpu_of(target.measured)
        progress.cpu_at_last_change = cpu0
        feeder0 = target.feeder.cpu_seconds() if target.feeder else 0.0
        load0, busy0 = cpu_of_pids(self.loadgen_pids), machine_busy_seconds()
        t0 = time.time()
        poller = asyncio.ensure_future(self._poll(room_id, progress, stop))
        stop_at = t0 + seconds

        def window() -> float:
            elapsed = time.time() - t0
            rate = progress.received / elapsed if elapsed > 0.2 else 0.0
            return min(ceiling, max(floor, rate * WINDOW_SECONDS))

        async def sender() -> None:
            while time.time() < stop_at and progress.errors < MAX_TRIGGER_ERRORS:
                if progress.expected + target.frames_per_trigger(size) - progress.received > window():
                    await progress.wait(0.1)
                    continue
                frames = target.frames_per_trigger(size)
                progress.expected += frames
                if await target.trigger(size):
                    progress.triggers += 1
                else:
                    progress.expected -= frames
                    progress.errors += 1
                    await asyncio.sleep(0.05)

        try:
            await asyncio.gather(*(sender() for _ in range(target.concurrency)))
            feeder1 = target.feeder.cpu_seconds() if target.feeder else 0.0
            await self._drain(progress, stall_seconds=target.stall_seconds)
            t_end, cpu1 = progress.last_change, progress.cpu_at_last_change
            load1, busy1, t_now = cpu_of_pids(self.loadgen_pids), machine_busy_seconds(), time.time()
        finally:
            stop.set()
            await poller
        counts, dropped, open_sockets = await self.pool.counts()
        wall = t_end - t0
        per_process: dict[str, dict[str, float]] = {}
        unknown = 0
        for (label, room), n in counts.items():
            if room != room_id:
                continue
            name = target.labels.get(label)
            if name is None:
                unknown += n
                continue
            entry = per_process.setdefault(name, {"frames": 0})
            entry["frames"] += n
        total_frames = 0
        total_cpu = 0.0
        for name, entry in per_process.items():
            cpu = cpu1.get(name, 0.0) - cpu0.get(name, 0.0)
            entry["cpu_s"] = round(cpu, 3)
            entry["frames_per_cpu_s"] = round(entry["frames"] / cpu, 1) if cpu > 0 else 0.0
            entry["utilization"] = round(cpu / wall, 3) if wall > 0 else 0.0
            total_frames += int(entry["frames"])
            total_cpu += cpu
        received = total_frames + unknown
        row: dict[str, Any] = {
            "target": target.kind,
            "server": target.server,
            "room_size": size,
            "triggers": progress.triggers,
            "frames": received,
            "expected": progress.expected,
            "lost": max(0, progress.expected - received),
            "seconds": round(wall, 3),
            "frames_per_s": round(received / wall, 1) if wall > 0 else 0.0,
            "cpu_s": round(total_cpu, 3),
            "frames_per_cpu_s": round(total_frames / total_cpu, 1) if total_cpu > 0 else 0.0,
            "per_process": per_process,
            "trigger_errors": progress.errors,
            "feeder_cpu_s": round(feeder1 - feeder0, 3),
            "loadgen_cpu_s": round(load1 - load0, 3),
            "machine_busy": round((busy1 - busy0) / (t_now - t0), 2),
            "sockets_open": open_sockets,
            "sockets_dropped": dict(dropped),
        }
        if unknown:
            row["frames_on_unmeasured_processes"] = unknown
        return row

    # --- latency --------------------------------------------------------------------------------

    async def latency(
        self,
        *,
        send: Callable[[int], Awaitable[tuple[bool, float]]],
        room_id: int,
        size: int,
        deliveries_per_s: int,
        seconds: float,
        gateways: list[ServerProcess],
    ) -> tuple[dict[str, Any], list[float]]:
        """Open loop: `deliveries_per_s / size` messages a second into a room of `size` online
        members; every member's arrival minus the send time stamped in the message."""
        rate = deliveries_per_s / size
        count = max(1, round(rate * seconds))
        await self.pool.reset()
        await self.pool.call_all("latency_start", room_id=room_id)
        progress = Progress(measured=gateways)
        stop = asyncio.Event()
        poller = asyncio.ensure_future(self._poll(room_id, progress, stop))
        cpu0 = cpu_of(gateways)
        progress.cpu_at_last_change = cpu0
        lags: list[float] = []
        tasks: list[asyncio.Task[tuple[bool, float]]] = []
        start = time.time() + 0.2
        try:
            for n in range(count):
                due = start + n / rate
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                lags.append(max(0.0, time.time() - due))
                tasks.append(asyncio.ensure_future(send(size)))
            outcomes = await asyncio.gather(*tasks)
            sent_for = time.time() - start
            ok = sum(1 for good, _ in outcomes if good)
            progress.expected = ok * size
            await self._drain(progress, stall_seconds=OURS_STALL_SECONDS)
            t_end, cpu1 = progress.last_change, progress.cpu_at_last_change
        finally:
            stop.set()
            await poller
        raw = await self.pool.call_all("latency_take", limit=60)
        samples = array("d")
        for chunk in raw:
            samples.frombytes(chunk)
        values_ms = sorted(v * 1000 for v in samples)
        rtts = sorted(rtt * 1000 for good, rtt in outcomes if good)
        wall = t_end - start
        row = {
            "room_size": size,
            "target_deliveries_per_s": deliveries_per_s,
            "messages_per_s": round(rate, 2),
            "messages": ok,
            "send_errors": count - ok,
            "achieved_deliveries_per_s": round(len(values_ms) / sent_for, 1) if sent_for > 0 else 0.0,
            "samples": len(values_ms),
            "expected_samples": ok * size,
            "p50_ms": round(percentile(values_ms, 50), 2),
            "p95_ms": round(percentile(values_ms, 95), 2),
            "p99_ms": round(percentile(values_ms, 99), 2),
            "max_ms": round(values_ms[-1], 2) if values_ms else None,
            "mean_ms": round(statistics.fmean(values_ms), 2) if values_ms else None,
            "send_request_p50_ms": round(percentile(rtts, 50), 2),
            "send_request_p99_ms": round(percentile(rtts, 99), 2),
            "sender_lag_max_ms": round(max(lags) * 1000, 2) if lags else 0.0,
            "gateway_utilization": {
                name: round((cpu1.get(name, 0.0) - cpu0.get(name, 0.0)) / wall, 3) for name in cpu0
            },
            "histogram": histogram(values_ms, bin_ms=0.5, limit_ms=max(100.0, percentile(values_ms, 99.9) * 1.2)),
        }
        return row, values_ms

    # --- sending --------------------------------------------------------------------------------

    async def sending(
        self,
        *,
        send: Callable[[int], Awaitable[tuple[bool, float]]],
        send_process: ServerProcess,
        room_id: int,
        size: int,
        rate: float,
        seconds: float,
        delivers: bool = True,
    ) -> dict[str, Any]:
        """send_message calls per send-process CPU-second at a steady `rate`; `delivers` False:
        the calls publish nothing (the bare Django send), so no frame is awaited."""
        count = max(1, round(rate * seconds))
        await self.pool.reset()
        progress = Progress()
        stop = asyncio.Event()
        poller = asyncio.ensure_future(self._poll(room_id, progress, stop))
        cpu0 = send_process.cpu_seconds()
        start = time.time() + 0.1
        tasks = []
        try:
            for n in range(count):
                delay = start + n / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(send(size)))
            outcomes = await asyncio.gather(*tasks)
            cpu = send_process.cpu_seconds() - cpu0
            ok = sum(1 for good, _ in outcomes if good)
            progress.expected = ok * size if delivers else 0
            if delivers:
                await self._drain(progress, stall_seconds=OURS_STALL_SECONDS)
        finally:
            stop.set()
            await poller
        rtts = sorted(rtt * 1000 for good, rtt in outcomes if good)
        return {
            "room_size": size,
            "rate": round(rate, 2),
            "calls": ok,
            "errors": count - ok,
            "cpu_s": round(cpu, 3),
            "calls_per_cpu_s": round(ok / cpu, 1) if cpu > 0 else 0.0,
            "cpu_ms_per_call": round(cpu / ok * 1000, 3) if ok else None,
            "request_p50_ms": round(percentile(rtts, 50), 2),
            "request_p99_ms": round(percentile(rtts, 99), 2),
            "frames": progress.received,
            "lost": max(0, progress.expected - progress.received),
        }

    # --- memory ---------------------------------------------------------------------------------

    async def memory(
        self, *, gateway: ServerProcess, users: list[BenchUser], warm: int, query: str, settle: float = 3.0
    ) -> dict[str, Any]:
        """RSS of one gateway before and after opening `len(users) - warm` idle authenticated
        sockets on it (the first `warm` open first, so start-up allocations are not counted)."""
        url = f"ws://127.0.0.1:{gateway.port}/api/ws{query}"
        specs = [(u.id, u.token, url) for u in users]
        first = await self.pool.connect(group="mem", clients=specs[:warm], label=gateway.name, concurrency=10)
        await asyncio.sleep(1.0)
        before = gateway.rss_bytes()
        rest = await self.pool.connect(group="mem", clients=specs[warm:], label=gateway.name, concurrency=50)
        await asyncio.sleep(settle)
        after = gateway.rss_bytes()
        opened = rest["ok"]
        return {
            "gateway": gateway.name,
            "connections": opened + first["ok"],
            "measured_connections": opened,
            "failed": first["failed"] + rest["failed"],
            "errors": {**first["errors"], **rest["errors"]},
            "rss_before_mib": round(before / 2**20, 1),
            "rss_after_mib": round(after / 2**20, 1),
            "kb_per_connection": round((after - before) / opened / 1024, 2) if opened else None,
            "connect_seconds": round(rest["finished"] - rest["started"], 2),
        }

    # --- connect storm --------------------------------------------------------------------------

    async def storm(
        self, *, registry_url: str, users: list[BenchUser], query: str, client_timeout: float
    ) -> dict[str, Any]:
        """Every client at once: registry look-up, handshake with the token, welcome frame. A
        client that is refused (1013, the registry failing, 1012) tries again with the jittered
        back-off of docs/websocket.md (bench/backoff.py), within `client_timeout`: a failure is
        a client that never got in. Each client's seconds run from its first try."""
        specs = [(u.id, u.token, None) for u in users]
        per_worker = -(-len(specs) // self.pool.count)
        start_at = time.time() + 1.0 + len(specs) / 20000
        result = await self.pool.connect(
            group="storm",
            clients=specs,
            registry=registry_url,
            query=query,
            concurrency=per_worker,
            start_at=start_at,
            client_timeout=client_timeout,
            retries=STORM_RETRIES,
        )
        durations = sorted(result["durations"])
        # The last welcome: each worker's start plus its clients' durations.
        seconds = result["last_welcome"] - start_at if result["ok"] else None
        return {
            "clients": len(specs),
            "connected": result["ok"],
            "failed": result["failed"],
            "errors": result["errors"],
            "seconds": round(seconds, 2) if seconds is not None else None,
            "connect_p50_s": round(percentile(durations, 50), 3),
            "connect_p99_s": round(percentile(durations, 99), 3),
            "by_gateway": result["labels"],
        }

    # --- profile --------------------------------------------------------------------------------
