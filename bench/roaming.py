"""The reconnect storm's clients (mixed into `bench.clients.Worker`): each asks the registry for
its gateway, opens its socket with its token, and keeps the `seq` of every frame of its room;
when the socket drops it asks the registry again and comes back with the browser client's
back-off (bench/backoff.py, as docs/websocket.md and the browser client say: full jitter from
0.5 s, doubling, capped at 30 s, reset by a welcome; within 0-1 s after a 1012 or 1001), naming
the gateway it lost to the registry (`?avoid=`) as the browser client does. What
it received is judged against the rooms' last `seq` at the end: every message, in order, no
gap (duplicates are allowed: at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bench.backoff import retry_delay
from bench.httpclient import HttpError, HttpPool
from bench.socket_options import SOCKET_OPTIONS

ATTEMPT_TIMEOUT_SECONDS = 30.0  # one registry look-up, handshake and welcome
ACK_EVERY_SECONDS = 1.0  # ack mode: a cumulative ack per room at most this often, as the browser
# Where a reconnecting client's time goes: waiting out its back-off, asking the registry, opening
# the socket (TCP connect and the WebSocket handshake), and waiting for the welcome (the gateway
# records the route and reads the positions first), failed attempts included.
PHASES = ("backing_off", "registry", "connecting", "welcome")


async def _until(done: Callable[[], bool], seconds: float, step: float = 0.1) -> None:
    """Return once `done()` holds, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 - a condition of many clients, polled
        await asyncio.sleep(step)


class Roamer:
    """One client of the reconnect storm: a member of `room`."""

    __slots__ = (
        "acked",
        "acked_at",
        "ahead",
        "attempts",
        "duplicates",
        "errors",
        "high",
        "out_of_order",
        "phases",
        "room",
        "stopping",
        "task",
        "token",
        "user_id",
        "welcomes",
        "ws",
    )

    def __init__(self, user_id: int, token: str, room: int) -> None:
        self.user_id = user_id
        self.token = token
        self.room = room
        self.high = 0  # every seq up to this one received
        self.ahead: set[int] = set()  # seqs received past a missing one (an order violation)
        self.duplicates = 0
        self.out_of_order = 0
        self.welcomes: list[tuple[str, float]] = []  # (gateway id, time.time()) of each welcome
        self.attempts = 0
        self.errors: Counter[str] = Counter()
        self.phases: list[tuple[str, float, float]] = []  # (PHASES name, start, end), time.time()
        self.acked = 0
        self.acked_at = 0.0
        self.stopping = False
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    def take(self, seq: int) -> None:
        """A frame of the room numbered `seq` arrived."""
        if seq <= self.high or seq in self.ahead:
            self.duplicates += 1
        elif seq == self.high + 1:
            self.high = seq
            while self.high + 1 in self.ahead:
                self.high += 1
                self.ahead.discard(self.high)
        else:
            self.out_of_order += 1
            self.ahead.add(seq)

    def missing(self, last: int) -> int:
        """Messages up to `last` never received."""
        return max(0, last - self.high - sum(1 for s in self.ahead if s <= last))

    def spent(self, since: float, until: float) -> dict[str, float]:
        """Seconds of [since, until] spent in each phase; what none covers is `detecting` when it
        comes before the first phase (noticing the socket is gone), else in the client itself."""
        out = dict.fromkeys(PHASES, 0.0)
        first = until
        for name, start, end in self.phases:
            start, end = max(start, since), min(end, until)
            if end > start:
                out[name] += end - start
                first = min(first, start)
        out["detecting"] = first - since
        return out

    def back_after(self, victim: str, since: float) -> float | None:
        """Seconds from `since` to the first welcome on a gateway other than `victim`."""
        for gateway, at in self.welcomes:
            if at >= since and gateway != victim:
                return at - since
        return None


class Roaming:
    """The worker commands of the reconnect storm (`roam`, `roam_status`, `roam_finish`)."""

    roamers: dict[str, tuple[list[Roamer], HttpPool]]

    async def op_roam(
        self,
        *,
        group: str,
        clients: list[tuple[int, str, int]],
        registry: str,
        query: str,
        concurrency: int = 50,
        within: float = 60.0,
    ) -> dict[str, Any]:
        """Start a roaming client per `(user_id, token, room_id)`; returns once each has been
        welcomed (or `within` seconds passed): how many, on which gateway, the errors met. First
        connections go at most `concurrency` at a time; reconnections are not held back."""
        if not hasattr(self, "roamers"):
            self.roamers = {}
        pool = HttpPool(registry, size=64, timeout=ATTEMPT_TIMEOUT_SECONDS)
        roamers = [Roamer(user_id, token, room) for user_id, token, room in clients]
        self.roamers[group] = (roamers, pool)
        gate = asyncio.Semaphore(max(1, concurrency))
        for roamer in roamers:
            roamer.task = asyncio.ensure_future(self._roam(roamer, pool, query, gate))
        await _until(lambda: all(r.welcomes for r in roamers), within)
        errors: Counter[str] = Counter()
        for roamer in roamers:
            errors.update(roamer.errors)
        return {
            "ok": sum(1 for r in roamers if r.welcomes),
            "failed": sum(1 for r in roamers if not r.welcomes),
            "labels": dict(Counter(r.welcomes[0][0] for r in roamers if r.welcomes)),
            "errors": dict(errors.most_common(10)),
        }

    async def op_roam_status(self, *, group: str, victim: str, since: float) -> dict[str, int]:
        """Of the clients first welcomed on `victim`: how many were welcomed elsewhere since."""
        roamers, _pool = self.roamers[group]
        moved = [r for r in roamers if r.welcomes and r.welcomes[0][0] == victim]
        return {"moved": len(moved), "back": sum(1 for r in moved if r.back_after(victim, since) is not None)}

    async def op_roam_finish(
        self, *, group: str, victim: str, since: float, last_seqs: dict[int, int], within: float
    ) -> dict[str, Any]:
        """Wait up to `within` seconds for every client to hold its room's messages up to `last_seqs`,
        stop them all, and report: the moved clients' delays, what is missing or out of order."""
        roamers, _pool = self.roamers[group]
        began = time.monotonic()
        await _until(lambda: not any(r.missing(last_seqs.get(r.room, 0)) for r in roamers), within)
        caught_up = time.monotonic() - began
        open_at_end = sum(1 for r in roamers if r.ws is not None)
        await self.op_roam_stop(group=group)
        moved = [r for r in roamers if r.welcomes and r.welcomes[0][0] == victim]
        stayed = [r for r in roamers if r.welcomes and r.welcomes[0][0] != victim]
        delays = [d for d in (r.back_after(victim, since) for r in moved) if d is not None]
        spent = [r.spent(since, since + d) for r in moved if (d := r.back_after(victim, since)) is not None]
        lost = [r.missing(last_seqs.get(r.room, 0)) for r in roamers]
        lost_moved = sum(r.missing(last_seqs.get(r.room, 0)) for r in moved)
        errors: Counter[str] = Counter()
        for roamer in roamers:
            errors.update(roamer.errors)
        return {
            "clients": len(roamers),
            "moved": len(moved),
            "delays": delays,
            "spent": spent,
            "attempts": sum(r.attempts for r in moved),
            "lost": sum(lost),
            "lost_by_moved": lost_moved,
            "catch_up_s": caught_up,
            "open_at_end": open_at_end,
            "clients_missing": sum(1 for n in lost if n),
            "out_of_order": sum(r.out_of_order for r in roamers),
            "duplicates": sum(r.duplicates for r in roamers),
            "others_dropped": sum(1 for r in stayed if len(r.welcomes) > 1),
            "errors": dict(errors.most_common(10)),
        }

    async def op_roam_stop(self, *, group: str) -> int:
        """Close the group's sockets and stop its clients coming back (none left: nothing)."""
        roamers, pool = getattr(self, "roamers", {}).pop(group, ([], None))
        for roamer in roamers:
            roamer.stopping = True
        await asyncio.gather(*(self._roam_close(r) for r in roamers))
        if pool is not None:
            await pool.close()
        return len(roamers)

    @staticmethod
    async def _roam_close(roamer: Roamer) -> None:
        if roamer.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(roamer.ws.close(), timeout=2)
        if roamer.task is not None:
            roamer.task.cancel()
            with contextlib.suppress(BaseException):
                await roamer.task

    async def _roam(self, roamer: Roamer, pool: HttpPool, query: str, gate: asyncio.Semaphore) -> None:
        failures = 0
        headers = {"Authorization": f"Bearer {roamer.token}"}
        # As the browser client: the gateway it lost or could not reach is named to the registry
        # as one to avoid (`?avoid=`), until a welcome.
        avoid: str | None = None
        while not roamer.stopping:
            roamer.attempts += 1
            code: int | None = None
            phase: str | None = None
            began = 0.0
            gateway_id: str | None = None
            try:
                async with contextlib.AsyncExitStack() as stack:
                    if not roamer.welcomes:
                        await stack.enter_async_context(gate)
                    async with asyncio.timeout(ATTEMPT_TIMEOUT_SECONDS):
                        phase, began = "registry", time.time()
                        path = "/registry/gateway/available" + (f"?avoid={avoid}" if avoid else "")
                        reply = await pool.get(path, headers=headers)
                        if reply.status != 200:
                            raise ConnectionError(f"registry answered {reply.status}")
                        data = reply.json()["data"]
                        gateway_id = data["gateway_id"]
                        roamer.phases.append((phase, began, time.time()))
                        phase, began = "connecting", time.time()
                        ws = await connect(data["ws_url"] + query, additional_headers=headers, **SOCKET_OPTIONS)
                        roamer.ws = ws
                        roamer.phases.append((phase, began, time.time()))
                        phase, began = "welcome", time.time()
                        welcome = orjson.loads(await ws.recv())
                        if not isinstance(welcome, dict) or welcome.get("type") != "system":
                            raise ConnectionError("the first frame is not the welcome")
                        phase = None
                        roamer.phases.append(("welcome", began, time.time()))
                roamer.welcomes.append((data["gateway_id"], time.time()))
                failures, avoid = 0, None
                await self._roam_read(roamer, ws, ack="ack=1" in query)
                code = ws.close_code
                if not roamer.stopping:
                    roamer.errors[f"closed after the welcome (code {ws.close_code})"] += 1
            except TimeoutError:
                roamer.errors["timed out"] += 1
            except InvalidStatus as error:
                roamer.errors[f"handshake refused: HTTP {error.response.status_code}"] += 1
            except (OSError, WebSocketException, ConnectionError, HttpError, ValueError, KeyError) as error:
                roamer.errors[f"{type(error).__name__}: {str(error)[:60]}"] += 1
            finally:
                if phase is not None:  # the attempt failed in this phase
                    roamer.phases.append((phase, began, time.time()))
                if roamer.ws is not None and not roamer.stopping:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(roamer.ws.close(), timeout=2)
                roamer.ws = None
            if roamer.stopping:
                return
            avoid = gateway_id or avoid
            delay = retry_delay(code, failures)
            if delay is None:
                roamer.errors[f"gave up: close code {code} is final"] += 1
                return
            began = time.time()
            await asyncio.sleep(delay)
            roamer.phases.append(("backing_off", began, time.time()))
            failures += 1

    @staticmethod
    async def _roam_read(roamer: Roamer, ws: ClientConnection, *, ack: bool) -> None:
        room = roamer.room
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                frame = orjson.loads(raw)
                kind = frame.get("type")
                frames = frame["payload"] if kind == "batch" else [frame] if kind in ("chat", "update") else []
                for inner in frames:
                    if inner.get("room_id") == room and isinstance(inner.get("seq"), int):
                        roamer.take(inner["seq"])
                if ack and roamer.high > roamer.acked and time.monotonic() - roamer.acked_at >= ACK_EVERY_SECONDS:
                    roamer.acked, roamer.acked_at = roamer.high, time.monotonic()
                    await ws.send(orjson.dumps({"type": "ack", "room_id": room, "seq": roamer.high}).decode())
