"""`make bench` / `python -m bench.run [--quick] [options]`: the delivery benchmark.

One run, on this machine:

1. a fresh PostgreSQL database (`chat_bench`, migrated) and a Redis prefix of its own;
   users, rooms and tokens written with the ORM;
2. for each ASGI server `manage.py serve --server` offers (uvicorn first): the cluster, a
   send process (`CHAT_ROLES=send,meta,registry`) and two gateways (`CHAT_ROLES=gateway`),
   then, on the first server, every phase: memory (idle sockets on one gateway), the connect
   storm, fan-out (rooms of 10, 100, 1000 online members), latency at a steady 2,000
   deliveries/s, sending (send_message per send-process CPU-second), the life of a message
   (a mix of messages, replies, reactions and edits next to plain messages,
   `bench/timeline_phase.py`); on the other servers, fan-out only;
3. for the same servers: the bare ASGI app (the ceiling) and the stock Channels pattern,
   fan-out with the same clients and rooms;
4. the table (targets met or missed, every fan-out figure with its ratio to both baselines),
   JSON in `bench/results/<timestamp>.json` and `latest.json`, the latency plot
   `bench/results/latency.png` (`--quick` writes under `bench/results/quick/` instead).

Clients are real WebSocket clients in separate worker processes (`bench.clients`); every
server is a separate process whose own CPU time is read before and after each phase. Every
process started is stopped when the run ends, however it ends. The exit status is 1 when the
benchmark could not measure something (a server did not start, frames were lost, clients
could not connect), never because a target was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import faults, fixtures, report, timeline_phase
from bench.clients import raise_nofile_limit
from bench.fixtures import BenchUser
from bench.httpclient import HttpPool
from bench.options import Options, parse
from bench.phases import OURS_STALL_SECONDS, Phases, Target, publisher_for_baseline, sender_for_ours
from bench.pool import WorkerPool
from bench.procs import (
    PYTHON,
    REPO,
    BenchError,
    RunEnv,
    ServerProcess,
    code_version,
    database_drop,
    database_migrate,
    database_recreate,
    free_port,
    install_cleanup,
    machine_description,
    postgres_version,
    redis_check,
    redis_forget,
    serve_servers,
    start_server,
    stop_all,
    stop_many,
)
from bench.stats import window_messages

WARM_SOCKETS = 20
SENDERS_PER_ROOM = 8
SETTLE_SECONDS = 1.0
ROUTES_DRAIN_SECONDS = 90.0
CLIENT_TIMEOUT_SECONDS = 60.0
BASELINE_CONCURRENCY = 2


@dataclass
class Population:
    fan: list[BenchUser]  # members of every measured room, online during fan-out
    mem: list[BenchUser]  # idle sockets of the memory phase
    storm: list[BenchUser]  # the connect storm
    rooms: dict[int, int]  # size → room id (members: the first `size` fan users)
    stalled: list[BenchUser]  # the fault phases: sockets that stop reading (the first sends)
    stalled_room: int
    failover: list[BenchUser]  # clients of the failover phase (the first sends)
    failover_room: int


def population_create(options: Options) -> Population:
    fan = fixtures.users_create(prefix="fan", count=options.fan_users)
    mem = fixtures.users_create(prefix="mem", count=options.connections + WARM_SOCKETS)
    storm = fixtures.users_create(prefix="storm", count=options.storm)
    sizes = sorted({*options.rooms, *options.send_rooms, options.latency_room})
    rooms = {size: fixtures.room_create(name=f"bench-{size}", member_ids=[u.id for u in fan[:size]]) for size in sizes}
    fixtures.rooms_idle_create(name="idle-mem", member_ids=[u.id for u in mem])
    fixtures.rooms_idle_create(name="idle-storm", member_ids=[u.id for u in storm])
    stalled = fixtures.users_create(prefix="stall", count=options.stalled + 1)
    failover = fixtures.users_create(prefix="failover", count=options.failover_clients + 1)
    return Population(
        fan=fan,
        mem=mem,
        storm=storm,
        rooms=rooms,
        stalled=stalled,
        stalled_room=fixtures.room_create(name="bench-stalled", member_ids=[u.id for u in stalled]),
        failover=failover,
        failover_room=fixtures.room_create(name="bench-failover", member_ids=[u.id for u in failover]),
    )


class Driver:
    def __init__(
        self,
        *,
        options: Options,
        env: RunEnv,
        log_dir: Path,
        out_dir: Path,
        results: dict[str, Any],
        population: Population,
        servers: list[str],
        server_flag: bool,
    ) -> None:
        self.options = options
        self.env = env
        self.log_dir = log_dir
        self.out_dir = out_dir
        self.results = results
        self.population = population
        self.servers = servers
        self.server_flag = server_flag
        self.pool = WorkerPool(options.workers)
        self.phases = Phases(pool=self.pool, drain_timeout=options.drain_timeout)
        self.latency_values: list[float] = []
        self.query = "?ack=1" if options.acks else "?ack=0"

    def problem(self, text: str) -> None:
        """The benchmark could not measure something (exit status 1)."""
        self.results["problems"].append(text)
        print(f"  PROBLEM: {text}", flush=True)

    def note(self, text: str) -> None:
        """The servers failed some requests under load: part of the result, not a broken run."""
        self.results["notes"].append(text)
        print(f"  note: {text}", flush=True)

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    async def run(self) -> None:
        await self.pool.start()
        try:
            for index, server in enumerate(self.servers):
                await self._guarded(f"our cluster on {server}", self.cluster_round(server, full=index == 0))
            await self._guarded("the fault phases", self.fault_round(self.servers[0]))
            if self.options.baselines:
                for server in self.servers:
                    for kind in ("bare", "stock"):
                        await self._guarded(f"{kind} baseline on {server}", self.baseline_round(kind, server))
        finally:
            await self.pool.stop()

    async def _guarded(self, what: str, work: Any) -> None:
        try:
            await work
        except Exception as error:
            detail = "".join(traceback.format_exception(error))
            (self.log_dir / "driver-errors.log").open("a").write(f"--- {what}\n{detail}\n")
            self.problem(f"{what}: {type(error).__name__}: {str(error)[:300]}")

    # --- our cluster ----------------------------------------------------------------------------

    def _cluster_env(self, **extra: str) -> dict[str, str]:
        if self.options.quick:
            # The registry spreads clients by the counts heartbeats report; a quick run waits
            # for fresh ones between phases, so it beats faster than the 10 s default.
            extra = {"REGISTRY_HEARTBEAT_SECONDS": "2", **extra}
        return self.env.server_env(**extra)

    def _serve_argv(self, server: str) -> list[str]:
        argv = [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", "0"]
        return [*argv, "--server", server] if self.server_flag else argv

    async def cluster_round(self, server: str, *, full: bool) -> None:
        tag = f"bench-{server}"
        send_id, gateway_ids = f"{tag}-send", [f"{tag}-gw1", f"{tag}-gw2"]
        self.say(f"starting our cluster on {server}: {send_id}, {', '.join(gateway_ids)}")
        started: list[ServerProcess] = []
        http: HttpPool | None = None
        try:
            send = await asyncio.to_thread(
                start_server,
                name=send_id,
                argv=self._serve_argv(server),
                env=self._cluster_env(CHAT_ROLES="send,meta,registry", SEND_INSTANCE_ID=send_id),
                log_dir=self.log_dir,
            )
            started.append(send)
            gateways = list(
                await asyncio.gather(
                    *(
                        asyncio.to_thread(
                            start_server,
                            name=gateway_id,
                            argv=self._serve_argv(server),
                            env=self._cluster_env(CHAT_ROLES="gateway", GATEWAY_ID=gateway_id),
                            log_dir=self.log_dir,
                        )
                        for gateway_id in gateway_ids
                    )
                )
            )
            started.extend(gateways)
            http = HttpPool(send.base_url, size=64, timeout=30)
            await self._wait_registered(http, gateway_ids)
            if full:
                await self._memory_and_storm(send, gateways, gateway_ids, http)
            await self._fan_connect(send, gateways, fresh=not full, server=server)
            await self._fanout_ours(server, send, gateways, http, full=full)
        finally:
            with contextlib.suppress(Exception):
                for group in ("fan", "mem", "storm"):
                    await self.pool.close_group(group)
            if http is not None:
                await http.close()
            await asyncio.to_thread(stop_many, started)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(fixtures.instances_forget, gateway_ids=gateway_ids, send_ids=[send_id])

    async def fault_round(self, server: str) -> None:
        """A cluster of its own for the fault phases (bench/faults.py): a gateway gets stalled
        readers, then the other is killed."""
        options, population = self.options, self.population
        tag = f"faults-{server}"
        send_id, gateway_ids = f"{tag}-send", [f"{tag}-gw1", f"{tag}-gw2"]
        slow = 3.0 if options.quick else 15.0
        budget = 1024 * 1024
        env = {"DELIVERY_SLOW_SECONDS": str(slow), "DELIVERY_MAX_UNPROVEN_BYTES": str(budget)}
        self.say(f"fault phases on {server}: {send_id}, {', '.join(gateway_ids)}")
        started: list[ServerProcess] = []
        http: HttpPool | None = None
        try:
            send = await asyncio.to_thread(
                start_server,
                name=send_id,
                argv=self._serve_argv(server),
                env=self._cluster_env(CHAT_ROLES="send,meta,registry", SEND_INSTANCE_ID=send_id, **env),
                log_dir=self.log_dir,
            )
            started.append(send)
            gateways = {}
            for gateway_id in gateway_ids:
                gateways[gateway_id] = await asyncio.to_thread(
                    start_server,
                    name=gateway_id,
                    argv=self._serve_argv(server),
                    env=self._cluster_env(CHAT_ROLES="gateway", GATEWAY_ID=gateway_id, **env),
                    log_dir=self.log_dir,
                )
                started.append(gateways[gateway_id])
            http = HttpPool(send.base_url, size=64, timeout=30)
            await self._wait_registered(http, gateway_ids)
            sender, stalled = population.stalled[0], population.stalled[1:]
            self.say(f"stalled readers: {len(stalled)} sockets that stop reading, {options.stalled_messages} x 4 KB")
            row = await faults.stalled_readers(
                gateway=gateways[gateway_ids[0]],
                sender=sender,
                stalled=stalled,
                room_id=population.stalled_room,
                http=http,
                messages=options.stalled_messages,
                rate=100.0,
                slow_seconds=slow,
                budget_bytes=budget,
            )
            self.results["stalled"] = row
            self.say(f"  {row['kb_per_stalled_socket']} KB per stalled socket, {row['cut_off']} cut off")
            if row["cut_off"] < len(stalled):
                self.note(f"stalled readers: only {row['cut_off']} of {len(stalled)} sockets were cut off")
            sender, clients = population.failover[0], population.failover[1:]
            self.say(f"failover: {len(clients)} clients, one gateway SIGKILLed")
            row = await faults.failover(
                registry=http,
                registry_url=send.base_url,
                gateways=gateways,
                clients=clients,
                sender=sender,
                room_id=population.failover_room,
                messages=20,
            )
            self.results["failover"] = row
            self.say(
                f"  {row['reconnected']}/{row['on_killed_gateway']} back, median {row['reconnect_p50_s']} s, "
                f"max {row['reconnect_max_s']} s; {row['clients_missing_messages']} clients missing messages"
            )
            if row["clients_missing_messages"] or row["reconnected"] < row["on_killed_gateway"]:
                self.problem(f"failover: {row}")
        finally:
            if http is not None:
                await http.close()
            await asyncio.to_thread(stop_many, started)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(fixtures.instances_forget, gateway_ids=gateway_ids, send_ids=[send_id])

    async def _wait_registered(self, http: HttpPool, gateway_ids: list[str]) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            reply = await http.get("/registry/gateway/instances", headers={"X-Internal-Token": self.env.internal_token})
            if reply.status == 200:
                live = {g["gateway_id"] for g in reply.json()["data"]["gateways"]}
                if set(gateway_ids) <= live:
                    return
            await asyncio.sleep(0.2)
        raise BenchError(f"the gateways {gateway_ids} did not register within 30 s")

    async def _drained(self, http: HttpPool, gateway_ids: list[str]) -> None:
        """Wait until the closed sockets are gone from the registry: their routes deleted, and
        the gateways' heartbeats reporting no connection (the registry spreads new clients by
        those figures; stale ones would send a whole phase to one gateway)."""
        deadline = time.time() + ROUTES_DRAIN_SECONDS
        left = -1
        while time.time() < deadline:
            left = await asyncio.to_thread(fixtures.routes_count, gateway_ids=gateway_ids)
            if left == 0:
                break
            await asyncio.sleep(0.5)
        else:
            self.note(f"{left} routes still recorded on {gateway_ids} {ROUTES_DRAIN_SECONDS:.0f} s after closing")
            return
        reported: dict[str, int] = {}
        while time.time() < deadline:
            reply = await http.get("/registry/gateway/instances", headers={"X-Internal-Token": self.env.internal_token})
            if reply.status == 200:
                reported = {
                    g["gateway_id"]: g["connected_users"]
                    for g in reply.json()["data"]["gateways"]
                    if g["gateway_id"] in gateway_ids
                }
                if not any(reported.values()):
                    return
            await asyncio.sleep(0.5)
        self.note(f"the gateways still report sockets {ROUTES_DRAIN_SECONDS:.0f} s after closing: {reported}")

    async def _memory_and_storm(
        self, send: ServerProcess, gateways: list[ServerProcess], gateway_ids: list[str], http: HttpPool
    ) -> None:
        options = self.options
        self.say(f"memory: {options.connections:,} idle sockets on {gateways[0].name}")
        memory = await self.phases.memory(
            gateway=gateways[0], users=self.population.mem, warm=WARM_SOCKETS, query=self.query
        )
        self.results["memory"] = memory
        self.say(f"  {memory['kb_per_connection']} KB per connection, {memory['failed']} failed")
        if memory["failed"]:
            self.note(f"memory phase: {memory['failed']} sockets failed to open: {memory['errors']}")
        if not memory["measured_connections"]:
            self.problem("memory phase: no socket opened")
        await self.pool.close_group("mem")
        await self._drained(http, gateway_ids)
        self.say(f"connect storm: {options.storm:,} clients at once through the registry")
        storm = await self.phases.storm(
            registry_url=send.base_url,
            users=self.population.storm,
            query=self.query,
            client_timeout=CLIENT_TIMEOUT_SECONDS,
        )
        self.results["storm"] = storm
        self.say(f"  {storm['connected']:,} connected in {storm['seconds']} s, {storm['failed']} failed")
        if storm["failed"]:
            self.note(f"connect storm: {storm['failed']} clients failed: {storm['errors']}")
        if not storm["connected"]:
            self.problem("connect storm: no client connected")
        await self.pool.close_group("storm")
        await self._drained(http, gateway_ids)

    async def _fan_connect(
        self, send: ServerProcess, gateways: list[ServerProcess], *, fresh: bool, server: str
    ) -> None:
        fan = self.population.fan
        self.say(f"connecting {len(fan):,} room members through the registry")
        labels = await self._connect_measured(
            group="fan",
            clients=[(u.id, u.token, None) for u in fan],
            processes=gateways if fresh else [],
            kind="ours",
            server=server,
            registry=send.base_url,
            query=self.query,
        )
        self.say(f"  spread: {labels}")

    async def _connect_measured(
        self,
        *,
        group: str,
        clients: list[tuple[int | None, str | None, str | None]],
        processes: list[ServerProcess],
        kind: str,
        server: str,
        **connect: Any,
    ) -> dict[str, int]:
        """Open every client or fail; with `processes`, record their RSS growth per socket (the
        first few sockets open first, so one-time allocations are not counted)."""
        warm = min(WARM_SOCKETS, len(clients) // 10) if processes else 0
        first = (
            await self.pool.connect(group=group, clients=clients[:warm], concurrency=10, retries=3, **connect)
            if warm
            else None
        )
        await asyncio.sleep(1.0 if warm else 0)
        before = sum(p.rss_bytes() for p in processes)
        result = await self.pool.connect(
            group=group,
            clients=clients[warm:],
            concurrency=50,
            client_timeout=CLIENT_TIMEOUT_SECONDS,
            retries=3,
            **connect,
        )
        failed = result["failed"] + (first["failed"] if first else 0)
        if failed:
            errors = {**(first["errors"] if first else {}), **result["errors"]}
            raise BenchError(f"{failed} of {len(clients)} clients could not connect: {errors}")
        if processes:
            await asyncio.sleep(2.0)
            grown = sum(p.rss_bytes() for p in processes) - before
            self.results["connection_memory"].append(
                {
                    "target": kind,
                    "server": server,
                    "connections": len(clients),
                    "kb_per_connection": round(grown / result["ok"] / 1024, 2),
                }
            )
        labels = dict(result["labels"])
        for label, n in (first["labels"] if first else {}).items():
            labels[label] = labels.get(label, 0) + n
        return labels

    async def _fanout_ours(
        self, server: str, send: ServerProcess, gateways: list[ServerProcess], http: HttpPool, *, full: bool
    ) -> None:
        options, population = self.options, self.population
        senders = {size: population.fan[: min(size, SENDERS_PER_ROOM)] for size in population.rooms}
        # client_msg_id must never repeat across rounds: a repeat is (rightly) not delivered again.
        send_one = sender_for_ours(
            pool=http, room_ids=population.rooms, senders=senders, run_id=f"{self.env.prefix[-8:]}-{server}"
        )

        async def trigger(size: int) -> bool:
            ok, _seconds = await send_one(size)
            return ok

        target = Target(
            kind="ours",
            server=server,
            measured=gateways,
            feeder=send,
            labels={g.name: g.name for g in gateways},
            room_ids=population.rooms,
            trigger=trigger,
            frames_per_trigger=lambda size: size,
            concurrency=options.concurrency,
            stall_seconds=OURS_STALL_SECONDS,
        )
        for size in options.rooms:
            await asyncio.sleep(SETTLE_SECONDS)
            self.say(f"fan-out, ours on {server}, room of {size:,}")
            row = await self.phases.fanout(target, size, seconds=options.fanout_seconds)
            row["send_calls_per_cpu_s"] = (
                round(row["triggers"] / row["feeder_cpu_s"], 1) if row["feeder_cpu_s"] else 0.0
            )
            self._fanout_done(row, [send, *gateways])
        if not full:
            return
        await asyncio.sleep(SETTLE_SECONDS)
        size = options.latency_room
        self.say(
            f"latency: {options.latency_rate:,} deliveries/s into a room of {size:,} for {options.latency_seconds:g} s"
        )
        latency, values = await self.phases.latency(
            send=send_one,
            room_id=population.rooms[size],
            size=size,
            deliveries_per_s=options.latency_rate,
            seconds=options.latency_seconds,
            gateways=gateways,
        )
        self.results["latency"] = latency
        self.latency_values = values
        self.say(f"  p50 {latency['p50_ms']} ms, p95 {latency['p95_ms']} ms, p99 {latency['p99_ms']} ms")
        if latency["send_errors"]:
            self.note(f"latency phase: {latency['send_errors']} send_message requests failed")
        if not latency["samples"] or latency["samples"] < latency["expected_samples"]:
            self.problem(f"latency phase: {latency['samples']} of {latency['expected_samples']} deliveries arrived")
        rate = self._send_rate(server)
        for size in options.send_rooms:
            await asyncio.sleep(SETTLE_SECONDS)
            self.say(f"sending: room of {size:,} at {rate:g} messages/s for {options.send_seconds:g} s")
            row = await self.phases.sending(
                send=send_one,
                send_process=send,
                room_id=population.rooms[size],
                size=size,
                rate=rate,
                seconds=options.send_seconds,
            )
            self.results["sending"].append(row)
            self.say(f"  {row['calls_per_cpu_s']:,} send_message per send CPU-second")
            if row["errors"]:
                self.note(f"sending, room of {size}: {row['errors']} send_message requests failed")
            if row["lost"] or not row["calls"]:
                self.problem(f"sending, room of {size}: {row['calls']} calls stored, {row['lost']} frames lost")
        await self._timeline(server, send, http, rate)
        if options.profile:
            profiles = self.results["profile"] = []
            largest, smallest = max(options.rooms), min(options.rooms)
            for process, size in ((gateways[0], largest), (send, smallest)):
                await asyncio.sleep(SETTLE_SECONDS)
                self.say(f"profiling {process.name} with py-spy during fan-out to a room of {size:,}")
                profiles.append(
                    await self.phases.profiled(
                        process=process,
                        label=f"{process.name}-room{size}",
                        seconds=options.profile_seconds,
                        work=self.phases.fanout(target, size, seconds=options.profile_seconds),
                        out_dir=self.out_dir,
                    )
                )

    async def _timeline(self, server: str, send: ServerProcess, http: HttpPool, rate: float) -> None:
        """The life of a message next to plain messages, in the sending phase's rooms and rate
        (bench/timeline_phase.py)."""
        sizes = self.options.send_rooms
        self.say(f"the life of a message: plain, mix, reactions, edits in rooms of {sizes} at {rate:g} calls/s")
        rows = await timeline_phase.run(
            phases=self.phases,
            pool=http,
            send_process=send,
            rooms=self.population.rooms,
            users=self.population.fan,
            sizes=sizes,
            rate=rate,
            seconds=self.options.send_seconds,
            run_id=f"{self.env.prefix[-8:]}-{server}",
            settle=lambda: asyncio.sleep(SETTLE_SECONDS),
        )
        self.results["timeline"] = rows
        for row in rows:
            self.say(
                f"  room of {row['room_size']:,}, {row['kind']}: {row['calls_per_cpu_s']:,} calls per send CPU-second"
            )
            if row["errors"]:
                self.note(f"timeline, {row['kind']} in a room of {row['room_size']}: {row['errors']} calls failed")
            if row["lost"] or not row["calls"]:
                self.problem(
                    f"timeline, {row['kind']} in a room of {row['room_size']}: {row['calls']} calls, "
                    f"{row['lost']} frames lost"
                )

    def _send_rate(self, server: str) -> float:
        """The sending phase's steady rate, the same for every room: at most --send-rate, and at
        most half of what the gateways fanned out for the largest sending room, so the phase
        measures the send process, not a backlog."""
        rate = self.options.send_rate
        largest = max(self.options.send_rooms)
        row = report.fanout_row(self.results, "ours", server, largest)
        if row and row["frames_per_s"]:
            rate = min(rate, max(2.0, 0.5 * row["frames_per_s"] / largest))
        return round(rate, 1)

    def _dump_stacks(self, where: str, processes: list[ServerProcess]) -> None:
        """What the processes are doing when frames went missing (py-spy dump, into the logs)."""
        py_spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
        with (self.log_dir / "stacks.log").open("a") as out:
            for process in processes:
                out.write(f"--- {where}: {process.name} (pid {process.pid})\n")
                out.flush()
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    subprocess.run(
                        [py_spy, "dump", "--pid", str(process.pid), "--locals"],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        timeout=30,
                        check=False,
                    )

    def _fanout_done(self, row: dict[str, Any], processes: list[ServerProcess]) -> None:
        self.results["fanout"].append(row)
        self.say(
            f"  {row['frames']:,} frames in {row['seconds']:.1f} s: {row['frames_per_s']:,.0f}/s, "
            f"{row['frames_per_cpu_s']:,.0f} per CPU-second"
        )
        where = f"fan-out {row['target']} on {row['server']}, room of {row['room_size']}"
        # Ours promises every frame (API.md §5.4): a loss is a broken run. A baseline promises
        # nothing (the stock layer drops on full channels): its losses are part of its result.
        report_loss = self.problem if row["target"] == "ours" else self.note
        if row["lost"]:
            report_loss(f"{where}: {row['lost']:,} of {row['expected']:,} frames never arrived")
            self._dump_stacks(where, processes)
        if not row["frames"]:
            self.problem(f"{where}: no frame delivered")
        if row["trigger_errors"]:
            self.note(f"{where}: {row['trigger_errors']} publish requests failed")
        if row["sockets_dropped"]:
            report_loss(f"{where}: sockets closed by the server: {row['sockets_dropped']}")

    # --- baselines ------------------------------------------------------------------------------

    def _baseline_argv(self, server: str, app: str, port: int) -> list[str]:
        if server == "uvicorn":
            return [
                PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
                "--ws-per-message-deflate", "false", "--ws-ping-interval", "30", "--ws-ping-timeout", "30",
                "--log-level", "warning", "--no-access-log",
            ]  # fmt: skip
        if server == "daphne":
            return [
                PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "30",
                "--ping-timeout", "30", "-v", "0", app,
            ]  # fmt: skip
        raise BenchError(f"no baseline launcher for server {server!r}")

    def _baseline_env(self, kind: str, server: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        env.update(
            {
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
                "REDIS_URL": self.env.redis_url,
                "CHANNEL_LAYER_PREFIX": f"{self.env.prefix}{kind}{server}",
                "DJANGO_SECRET_KEY": self.env.secret_key,
                "DJANGO_SETTINGS_MODULE": "bench.baselines.stock_settings",
            }
        )
        return env

    async def baseline_round(self, kind: str, server: str) -> None:
        name = f"{kind}-{server}"
        app = "bench.baselines.bare_asgi:app" if kind == "bare" else "bench.baselines.stock_channels:application"
        self.say(f"starting the {'bare ASGI' if kind == 'bare' else 'stock Channels'} baseline on {server}")
        started: list[ServerProcess] = []
        http: HttpPool | None = None
        try:
            port = free_port()
            measured = await asyncio.to_thread(
                start_server,
                name=name,
                argv=self._baseline_argv(server, app, port),
                env=self._baseline_env(kind, server),
                log_dir=self.log_dir,
                port=port,
            )
            started.append(measured)
            feeder = None
            if kind == "stock":
                feeder_port = free_port()
                feeder = await asyncio.to_thread(
                    start_server,
                    name=f"{name}-feeder",
                    argv=self._baseline_argv(server, app, feeder_port),
                    env=self._baseline_env(kind, server),
                    log_dir=self.log_dir,
                    port=feeder_port,
                )
                started.append(feeder)
            users = max(self.options.rooms)
            sizes = ",".join(str(s) for s in self.options.rooms)
            clients = [(None, None, f"ws://127.0.0.1:{port}/ws?user={i}&sizes={sizes}") for i in range(users)]
            await self._connect_measured(
                group="baseline", clients=clients, processes=[measured], kind=kind, server=server, label=name
            )
            http = HttpPool((feeder or measured).base_url, size=BASELINE_CONCURRENCY + 1, timeout=60)

            def messages(size: int) -> int:
                # A few messages per request (one for big rooms), so the trigger itself costs
                # the bare server at most a few percent of the frames it writes.
                return max(1, min(window_messages(size) // 4, 200 // size))

            target = Target(
                kind=kind,
                server=server,
                measured=[measured],
                feeder=feeder,
                labels={name: name},
                room_ids={size: size for size in self.options.rooms},
                trigger=publisher_for_baseline(pool=http, messages=messages),
                frames_per_trigger=lambda size: messages(size) * size,
                concurrency=BASELINE_CONCURRENCY,
            )
            for size in self.options.rooms:
                await asyncio.sleep(SETTLE_SECONDS)
                self.say(f"fan-out, {name}, room of {size:,}")
                row = await self.phases.fanout(target, size, seconds=self.options.fanout_seconds)
                self._fanout_done(row, started)
        finally:
            with contextlib.suppress(Exception):
                await self.pool.close_group("baseline")
            if http is not None:
                await http.close()
            await asyncio.to_thread(stop_many, started)


# --- the whole run ------------------------------------------------------------------------------


def _servers(options: Options) -> tuple[list[str], bool]:
    offered, flag = serve_servers()
    if options.servers:
        unknown = [s for s in options.servers if s not in offered]
        if unknown:
            raise BenchError(f"manage.py serve does not offer {unknown}; it offers {offered}")
        return list(options.servers), flag
    ordered = sorted(offered, key=lambda s: (s != "uvicorn", s))
    return (ordered[:1] if options.quick else ordered), flag


def _write(results: dict[str, Any], out_dir: Path, latency_values: list[float], *, quick: bool) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_name = "latency.png"
    if results.get("latency") and latency_values:
        try:
            report.plot_latency(latency_values, results["latency"], out_dir / plot_name)
        except Exception as error:  # matplotlib missing or broken: the figures still count
            results["problems"].append(f"latency plot: {type(error).__name__}: {error}")
            plot_name = ""
    else:
        plot_name = ""
    results["targets"] = report.evaluate(results)
    link = None
    if plot_name:
        link = f"bench/results/{'quick/' if quick else ''}{plot_name}"
    table = report.markdown(results, plot_link=link)
    text = json.dumps(results, indent=1, default=str)
    if not quick:
        stamp = results["started_at"].replace(":", "").replace("-", "")[:15]
        (out_dir / f"{stamp}.json").write_text(text)
    (out_dir / "latest.json").write_text(text)
    (out_dir / "latest.md").write_text(table)
    return table


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    os.chdir(REPO)
    raise_nofile_limit()
    install_cleanup()
    out_dir = options.results_dir / "quick" if options.quick else options.results_dir
    log_dir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    began = time.time()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "quick": options.quick,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "fanout": [],
        "sending": [],
        "connection_memory": [],
        "problems": [],
        "notes": [],
    }
    env = RunEnv.create(database_name=options.database_name)
    latency_values: list[float] = []
    print(f"chat backend benchmark ({'quick' if options.quick else 'full'}); server logs in {log_dir}", flush=True)
    try:
        servers, flag = _servers(options)
        results["servers"] = servers
        results["primary_server"] = servers[0]
        redis_version = redis_check(env.redis_url)
        database_recreate(env.database_url)
        database_migrate(env, log_dir)
        results["code"] = code_version()
        results["machine"] = machine_description(
            redis_version=redis_version, postgres=postgres_version(env.database_url)
        )
        results["load_average_start"] = list(os.getloadavg())
        fixtures.django_setup(env.server_env())
        population = population_create(options)
        fixtures.close_db()
        driver = Driver(
            options=options,
            env=env,
            log_dir=log_dir,
            out_dir=out_dir,
            results=results,
            population=population,
            servers=servers,
            server_flag=flag,
        )
        asyncio.run(driver.run())
        latency_values = driver.latency_values
    except BenchError as error:
        results["problems"].append(str(error))
    except KeyboardInterrupt:
        results["problems"].append("interrupted")
    finally:
        stop_all()
        with contextlib.suppress(Exception):
            fixtures.close_db()
        redis_forget(env.redis_url, env.prefix)
        if not options.keep_logs:
            database_drop(env.database_url)
    results["load_average_end"] = list(os.getloadavg())
    code_end = code_version()
    if "code" in results and code_end != results["code"]:
        results["code_end"] = code_end
        results["notes"].append(
            f"the code changed during the run (commit {results['code']['commit']} → {code_end['commit']}, "
            f"modified {code_end['modified']}): servers started later may have run the newer code"
        )
    results["duration_s"] = round(time.time() - began, 1)
    table = _write(results, out_dir, latency_values, quick=options.quick)
    print("\n" + table, flush=True)
    if options.update_readme and not options.quick:
        if report.readme_update(REPO / "README.md", table):
            print("README.md: Performance section updated", flush=True)
        else:
            print(f"README.md has no {report.README_BEGIN} marker; not updated", flush=True)
    if results["problems"]:
        print(f"{len(results['problems'])} problem(s); server logs kept in {log_dir}", file=sys.stderr, flush=True)
        return 1
    if not options.keep_logs:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
