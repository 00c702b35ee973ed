"""The reconnect storm (issue 15): the clients of a SIGKILLed gateway all come back at once on
the other, in rooms that keep talking, and must miss nothing.

On a cluster of its own (a send process and two gateways), `--reconnect-clients` clients
(5,000; members of rooms of 50) connect through the registry, which spreads them over both
gateways. A steady stream of messages goes into every room (round robin), so every client has
messages sent while it is away. The gateway holding more clients is SIGKILLed; each of its
clients asks the registry again and reconnects with the browser client's back-off
(bench/roaming.py). Measured: the seconds from the kill to the welcome of the last of them on
the survivor, each one's delay (p50, p99), the moved clients never back (failed), and, once the
messages stop, whether every client holds every message of its room (the rooms' last `seq`
read from the database), in order, with no gap: what a client missed while away must come in
the resync after its welcome. Duplicates are allowed (at least once) and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import statistics
import time
from typing import TYPE_CHECKING, Any

from bench import fixtures
from bench.httpclient import HttpPool
from bench.procs import ServerProcess
from bench.profiling import profiled
from bench.stats import percentile

if TYPE_CHECKING:
    from bench.driver import Driver

TARGET_SECONDS = 10.0
SEND_RATE = 20.0  # messages per second over all the rooms (10 with --quick)
CONNECT_CONCURRENCY = 50  # first connections in flight per worker; reconnections are not held back
CONNECT_SECONDS = 120.0  # every client welcomed once within this
BACK_WITHIN_SECONDS = 60.0  # a moved client not welcomed elsewhere by then failed
TRAFFIC_SECONDS = 2.0  # messages flowing before the kill, and after the last moved client is back (1 s: --quick)
CATCH_UP_SECONDS = 150.0  # for every client to hold its room's last message once the sending stops (waits less if so)
GROUP = "roam"


class Traffic:
    """Messages into the rooms, round robin, at a steady rate; each sent by the room's first member."""

    def __init__(self, *, http: HttpPool, senders: dict[int, str], rate: float) -> None:
        self.http = http
        self.senders = senders
        self.rate = rate
        self.ok = 0
        self.failed = 0
        self._stop = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._gate = asyncio.Semaphore(32)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        await asyncio.gather(*self._inflight, return_exceptions=True)

    async def _run(self) -> None:
        rooms = list(self.senders)
        began = time.time()
        n = 0
        while not self._stop.is_set():
            delay = began + n / self.rate - time.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                continue
            task = asyncio.ensure_future(self._one(rooms[n % len(rooms)], n))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            n += 1

    async def _one(self, room: int, n: int) -> None:
        body = {"room_id": room, "content": {"type": "text", "text": f"reconnect storm {n}"}}
        async with self._gate:
            try:
                reply = await self.http.post(
                    "/api/chat/send_message", body, headers={"Authorization": f"Bearer {self.senders[room]}"}
                )
                ok = reply.status == 200
            except Exception:
                ok = False
        if ok:
            self.ok += 1
        else:
            self.failed += 1


async def reconnect_round(driver: Driver, server: str) -> None:
    """The reconnect storm on a cluster of its own; its row is `results["reconnect"]`."""
    tag = f"reconnect-{server}"
    send_id, gateway_ids = f"{tag}-send", [f"{tag}-gw1", f"{tag}-gw2"]
    rooms = driver.population.reconnect
    clients = sum(len(members) for members in rooms.values())
    driver.say(f"reconnect storm on {server}: {clients:,} clients in {len(rooms)} rooms, one gateway SIGKILLed")
    started: list[ServerProcess] = []
    http: HttpPool | None = None
    try:
        send, gateways = await driver.start_cluster(server, send_id, gateway_ids, started)
        http = HttpPool(send.base_url, size=64, timeout=30)
        await driver.wait_registered(http, gateway_ids)
        row = await storm(driver=driver, http=http, registry_url=send.base_url, gateways=gateways)
        driver.results["reconnect"] = row
        driver.say(
            f"  {row['reconnected']:,}/{row['on_killed_gateway']:,} back, the last after {row['seconds']} s "
            f"(p50 {row['reconnect_p50_s']} s, p99 {row['reconnect_p99_s']} s); {row['lost']} messages lost, "
            f"{row['out_of_order']} out of order"
        )
        for fault in faults(row):
            driver.problem(f"reconnect storm: {fault}")
        if row["send_errors"]:
            driver.note(f"reconnect storm: {row['send_errors']} send_message requests failed during the storm")
    finally:
        with contextlib.suppress(Exception):
            await driver.pool.call_all("roam_stop", group=GROUP, limit=60)
        await driver.stop_cluster(http, started, send_id=send_id, gateway_ids=gateway_ids)


async def storm(
    *, driver: Driver, http: HttpPool, registry_url: str, gateways: dict[str, ServerProcess]
) -> dict[str, Any]:
    """Connect, send, kill the busier gateway, wait for its clients, check every client's messages."""
    pool, rooms = driver.pool, driver.population.reconnect
    quick = driver.options.quick
    rate, settle = (SEND_RATE / 2, TRAFFIC_SECONDS / 2) if quick else (SEND_RATE, TRAFFIC_SECONDS)
    clients = [(u.id, u.token, room) for room, members in rooms.items() for u in members]
    began = time.time()
    connected = await asyncio.gather(
        *(
            worker.call(
                "roam",
                limit=CONNECT_SECONDS + 30,
                group=GROUP,
                clients=share,
                registry=registry_url,
                query=driver.query,
                concurrency=CONNECT_CONCURRENCY,
                within=CONNECT_SECONDS,
            )
            for worker, share in zip(pool.workers, pool.split(clients), strict=True)
        )
    )
    connect_s = time.time() - began
    spread: dict[str, int] = {}
    for result in connected:
        for gateway, n in result["labels"].items():
            spread[gateway] = spread.get(gateway, 0) + n
    not_connected = sum(r["failed"] for r in connected)
    if not_connected:
        errors = {k: v for r in connected for k, v in r["errors"].items()}
        driver.problem(f"reconnect storm: {not_connected} clients never connected in the first place: {errors}")
    victim = max(spread, key=spread.__getitem__)
    driver.say(f"  {len(clients) - not_connected:,} connected in {connect_s:.1f} s, {spread}; killing {victim}")
    traffic = Traffic(http=http, senders={room: members[0].token for room, members in rooms.items()}, rate=rate)
    traffic.start()
    try:
        await asyncio.sleep(settle)
        killed_at = time.time()
        gateways[victim].popen.send_signal(signal.SIGKILL)

        async def all_back() -> None:
            while time.time() < killed_at + BACK_WITHIN_SECONDS:
                await asyncio.sleep(0.25)
                status = await pool.call_all("roam_status", group=GROUP, victim=victim, since=killed_at, limit=30)
                if sum(s["back"] for s in status) >= sum(s["moved"] for s in status):
                    break

        if driver.options.profile:  # where the survivor's CPU goes while the clients come back
            survivor = next(process for name, process in gateways.items() if name != victim)
            profile, _ = await profiled(
                process=survivor,
                label=f"{survivor.name}-reconnect",
                seconds=driver.options.profile_seconds,
                work=all_back(),
                out_dir=driver.out_dir,
            )
            driver.results.setdefault("profile", []).append(profile)
        else:
            await all_back()
        await asyncio.sleep(settle)
    finally:
        await traffic.stop()
    last_seqs = await asyncio.to_thread(fixtures.rooms_last_seq, room_ids=list(rooms))
    finished = await pool.call_all(
        "roam_finish",
        group=GROUP,
        victim=victim,
        since=killed_at,
        last_seqs=last_seqs,
        within=CATCH_UP_SECONDS,
        limit=CATCH_UP_SECONDS + 60,
    )
    return summary(
        finished,
        clients=len(clients),
        rooms=len(rooms),
        room_size=max((len(m) for m in rooms.values()), default=0),
        victim=victim,
        spread=spread,
        connect_s=connect_s,
        messages=sum(last_seqs.values()),
        rate=rate,
        send_errors=traffic.failed,
    )


def summary(finished: list[dict[str, Any]], **about: Any) -> dict[str, Any]:
    """The workers' `roam_finish` answers merged into the phase's row."""
    delays = sorted(d for part in finished for d in part["delays"])
    spent = [(sum(one.values()), one) for part in finished for one in part.get("spent", [])]
    slowest = max(spent, key=lambda pair: pair[0], default=(0.0, {}))[1]
    phases = sorted({name for _total, one in spent for name in one})
    moved = sum(part["moved"] for part in finished)
    errors: dict[str, int] = {}
    for part in finished:
        for error, n in part["errors"].items():
            errors[error] = errors.get(error, 0) + n

    def total(key: str) -> int:
        return sum(part[key] for part in finished)

    return {
        "clients": about["clients"],
        "rooms": about["rooms"],
        "room_size": about["room_size"],
        "by_gateway": about["spread"],
        "connect_s": round(about["connect_s"], 1),
        "killed": about["victim"],
        "on_killed_gateway": moved,
        "reconnected": len(delays),
        "failed": moved - len(delays),
        "seconds": round(delays[-1], 2) if delays else None,
        "reconnect_p50_s": round(statistics.median(delays), 2) if delays else None,
        "reconnect_p99_s": round(percentile(delays, 99), 2) if delays else None,
        "attempts": total("attempts"),
        # Where the moved clients' time went between the kill and their welcome: the mean seconds
        # per phase (bench/roaming.py PHASES, and `detecting` the socket's loss), and the slowest's.
        "spent_mean_s": {name: round(statistics.fmean(one[name] for _total, one in spent), 2) for name in phases},
        "spent_slowest_s": {name: round(value, 2) for name, value in slowest.items()},
        "send_rate": about["rate"],
        "messages": about["messages"],
        "send_errors": about["send_errors"],
        "lost": total("lost"),
        "lost_by_moved": total("lost_by_moved"),
        "catch_up_s": round(max((part["catch_up_s"] for part in finished), default=0.0), 1),
        "catch_up_limit_s": CATCH_UP_SECONDS,
        "open_at_end": total("open_at_end"),
        "clients_missing": total("clients_missing"),
        "out_of_order": total("out_of_order"),
        "duplicates": total("duplicates"),
        "others_dropped": total("others_dropped"),
        "errors": dict(sorted(errors.items(), key=lambda item: -item[1])[:10]),
    }


def faults(row: dict[str, Any]) -> list[str]:
    """What breaks the delivery guarantee (API.md §5.4), or the measurement, in a row."""
    out = []
    if not row["on_killed_gateway"]:
        out.append("no client was on the killed gateway")
    if row["failed"]:
        out.append(f"{row['failed']} of {row['on_killed_gateway']} clients of the killed gateway never came back")
    if row["lost"]:
        out.append(
            f"{row['lost']:,} messages had not reached {row['clients_missing']:,} clients "
            f"{row['catch_up_limit_s']:g} s after the last was sent ({row['lost_by_moved']:,} of them on clients of "
            f"the killed gateway; {row['clients'] - row['open_at_end']:,} clients not connected then)"
        )
    if row["out_of_order"]:
        out.append(f"{row['out_of_order']} frames arrived past a missing seq (out of order)")
    if not row["messages"]:
        out.append("no message was stored during the storm")
    return out


def target(results: dict[str, Any]) -> dict[str, Any]:
    """The table's row: the last moved client's welcome, within TARGET_SECONDS, nothing lost."""
    goal = f"≤ {TARGET_SECONDS:g} s, 0 lost"
    row = results.get("reconnect")
    if not row:
        return {"figure": "reconnect storm", "value": None, "shown": "n/a", "target": goal, "met": None}
    seconds, p50 = row["seconds"], row["reconnect_p50_s"]
    shown = "n/a" if seconds is None else f"{seconds:,.1f} s (p50 {p50:,.1f} s)"
    return {
        "figure": f"reconnect storm: the {row['on_killed_gateway']:,} clients of a SIGKILLed gateway (of "
        f"{row['clients']:,}) welcomed on the other, the last one",
        "value": seconds,
        "shown": f"{shown}, {row['failed']} failed, {row['lost']} lost",
        "target": goal,
        "met": seconds is not None and seconds <= TARGET_SECONDS and not faults(row),
    }


def details(results: dict[str, Any]) -> list[str]:
    row = results.get("reconnect")
    if not row:
        return []
    spread = ", ".join(f"{k}: {v:,}" for k, v in row["by_gateway"].items())
    errors = "; ".join(f"{k} ×{v}" for k, v in row["errors"].items())
    return [
        f"- reconnect storm: {row['clients']:,} clients in {row['rooms']} rooms of {row['room_size']} "
        f"(connected in {row['connect_s']} s: {spread}); {row['killed']} SIGKILLed with "
        f"{row['on_killed_gateway']:,}, {row['messages']:,} messages sent at {row['send_rate']:g}/s "
        f"({row['send_errors']} failed); back p50 {row['reconnect_p50_s']} s, p99 {row['reconnect_p99_s']} s, "
        f"last {row['seconds']} s, {row['failed']} never; where a moved client's time went (mean s: "
        f"{_shares(row.get('spent_mean_s'))}; the slowest: {_shares(row.get('spent_slowest_s'))}); "
        f"{row['attempts']:,} connection attempts by the moved "
        f"clients (their first included); once the sending stopped, {row['catch_up_s']} s of at most "
        f"{row['catch_up_limit_s']:g} s to catch up: {row['lost']:,} messages missing on "
        f"{row['clients_missing']:,} clients ({row['lost_by_moved']:,} on the moved ones), "
        f"{row['clients'] - row['open_at_end']:,} clients not connected then, "
        f"{row['out_of_order']} out of order, {row['duplicates']:,} duplicates (allowed); "
        f"{row['others_dropped']} clients of the survivor dropped" + (f"; errors met: {errors}" if errors else "") + "."
    ]


def _shares(spent: dict[str, float] | None) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {value:g}" for name, value in (spent or {}).items()) or "n/a"
