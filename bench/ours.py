"""What `make bench` measures on our cluster once it runs (a send process and two gateways on
one ASGI server): memory and the connect storm, fan-out (and the largest room's again with
every member sending read frames), and on the primary server latency, sending, the life of a
message, the chat list and the optional profiles. The driver (`bench/driver.py`) starts and
stops the cluster around it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bench import chatlist_phase, fixtures, report, timeline_phase
from bench.baselines import BARE_SEND_PATH
from bench.confirming import READ_EVERY_SECONDS
from bench.httpclient import HttpPool
from bench.phases import OURS_STALL_SECONDS, SETTLE_SECONDS, Target
from bench.population import WARM_SOCKETS
from bench.procs import PYTHON, ServerProcess, cpu_of, cpu_of_pids, machine_busy_seconds, start_server, stop_many
from bench.profiling import profiled
from bench.triggers import sender_for_ours

if TYPE_CHECKING:
    from bench.driver import Driver

SENDERS_PER_ROOM = 8

SendOne = Callable[[int], Awaitable[tuple[bool, float]]]


class OurCluster:
    """The phases of one round on our cluster: `server` names the ASGI server the processes
    run on, `http` reaches the send process (and its registry)."""

    def __init__(
        self,
        driver: Driver,
        *,
        server: str,
        send: ServerProcess,
        gateways: list[ServerProcess],
        gateway_ids: list[str],
        http: HttpPool,
    ) -> None:
        self.driver = driver
        self.options = driver.options
        self.population = driver.population
        self.phases = driver.phases
        self.results = driver.results
        self.server = server
        self.send = send
        self.gateways = gateways
        self.gateway_ids = gateway_ids
        self.http = http
        # client_msg_id must never repeat across rounds: a repeat is (rightly) not delivered again.
        self.run_id = f"{driver.env.prefix[-8:]}-{server}"

    async def memory_and_storm(self) -> None:
        driver, options = self.driver, self.options
        if options.wants("memory"):
            await self._memory()
        if not options.wants("storm"):
            return
        driver.say(f"connect storm: {options.storm:,} clients at once through the registry")
        processes = [self.send, *self.gateways]
        cpu0, load0, busy0 = cpu_of(processes), cpu_of_pids(self.phases.loadgen_pids), machine_busy_seconds()
        work = self.phases.storm(
            registry_url=self.send.base_url,
            users=self.population.storm,
            query=driver.query,
            client_timeout=driver.client_timeout,
        )
        if options.profile and options.wants("profile"):
            # The storm's first seconds under py-spy: where a gateway's handshake CPU goes.
            gateway = self.gateways[0]
            driver.say(f"  profiling {gateway.name} with py-spy for the storm's first {options.profile_seconds:g} s")
            profile, storm = await profiled(
                process=gateway,
                label=f"{gateway.name}-storm",
                seconds=options.profile_seconds,
                work=work,
                out_dir=driver.out_dir,
            )
            storm["profiled"] = True
            self.results.setdefault("profile", []).append(profile)
        else:
            storm = await work
        # Where the machine's CPU went during the storm: what sets its pace on 2 shared cores.
        cpu1 = cpu_of(processes)
        storm["cpu_s"] = {
            **{name: round(cpu1[name] - cpu0.get(name, 0.0), 1) for name in cpu1},
            "load generators and driver": round(cpu_of_pids(self.phases.loadgen_pids) - load0, 1),
            "machine": round(machine_busy_seconds() - busy0, 1),
        }
        self.results["storm"] = storm
        driver.say(f"  {storm['connected']:,} connected in {storm['seconds']} s, {storm['failed']} failed")
        if storm["failed"]:
            driver.note(f"connect storm: {storm['failed']} clients failed: {storm['errors']}")
        if not storm["connected"]:
            driver.problem("connect storm: no client connected")
        await driver.pool.close_group("storm")
        await driver.drained(self.http, self.gateway_ids)

    async def _memory(self) -> None:
        driver, options, gateways = self.driver, self.options, self.gateways
        driver.say(f"memory: {options.connections:,} idle sockets on {gateways[0].name}")
        memory = await self.phases.memory(
            gateway=gateways[0], users=self.population.mem, warm=WARM_SOCKETS, query=driver.query
        )
        self.results["memory"] = memory
        driver.say(f"  {memory['kb_per_connection']} KB per connection, {memory['failed']} failed")
        if memory["failed"]:
            driver.note(f"memory phase: {memory['failed']} sockets failed to open: {memory['errors']}")
        if not memory["measured_connections"]:
            driver.problem("memory phase: no socket opened")
        await driver.pool.close_group("mem")
        await driver.drained(self.http, self.gateway_ids)

    async def fan_connect(self, *, fresh: bool) -> None:
        fan = self.population.fan
        self.driver.say(f"connecting {len(fan):,} room members through the registry")
        labels = await self.driver.connect_measured(
            group="fan",
            clients=[(u.id, u.token, None) for u in fan],
            processes=self.gateways if fresh else [],
            kind="ours",
            server=self.server,
            registry=self.send.base_url,
            query=self.driver.query,
        )
        self.driver.say(f"  spread: {labels}")

    async def fanout(self, *, full: bool) -> None:
        """Fan-out into every room size; on the primary server (`full`) then latency, sending,
        the life of a message and the profiles, with the same clients."""
        driver, options, population = self.driver, self.options, self.population
        server, send, gateways = self.server, self.send, self.gateways
        senders = {size: population.fan[: min(size, SENDERS_PER_ROOM)] for size in population.rooms}
        send_one = sender_for_ours(pool=self.http, room_ids=population.rooms, senders=senders, run_id=self.run_id)

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
        for size in options.rooms if options.wants("fanout") else []:
            await asyncio.sleep(SETTLE_SECONDS)
            driver.say(f"fan-out, ours on {server}, room of {size:,}")
            row = await self.phases.fanout(target, size, seconds=options.fanout_seconds)
            row["send_calls_per_cpu_s"] = (
                round(row["triggers"] / row["feeder_cpu_s"], 1) if row["feeder_cpu_s"] else 0.0
            )
            driver.fanout_done(row, [send, *gateways])
        if options.reads and options.wants("reads"):
            await self._fanout_with_reads(target, every=READ_EVERY_SECONDS)
            await self._fanout_with_reads(target, every=0.0)
        if not full:
            return
        if options.wants("latency"):
            await self._latency(send_one)
        if options.wants("sending"):
            await self._sending(send_one)
        if options.wants("timeline"):
            await self._timeline(self._send_rate())
        if options.wants("chatlist"):
            await self._chat_list()
        if options.profile and options.wants("profile"):
            await self._profiles(target)

    async def _latency(self, send_one: SendOne) -> None:
        driver, options, population, gateways = self.driver, self.options, self.population, self.gateways
        await asyncio.sleep(SETTLE_SECONDS)
        size = options.latency_room
        driver.say(
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
        driver.latency_values = values
        driver.say(f"  p50 {latency['p50_ms']} ms, p95 {latency['p95_ms']} ms, p99 {latency['p99_ms']} ms")
        if latency["send_errors"]:
            driver.note(f"latency phase: {latency['send_errors']} send_message requests failed")
        if not latency["samples"] or latency["samples"] < latency["expected_samples"]:
            driver.problem(f"latency phase: {latency['samples']} of {latency['expected_samples']} deliveries arrived")

    async def _sending(self, send_one: SendOne) -> None:
        driver, options, population, send = self.driver, self.options, self.population, self.send
        rate = self._send_rate()
        for size in options.send_rooms:
            await asyncio.sleep(SETTLE_SECONDS)
            driver.say(f"sending: room of {size:,} at {rate:g} messages/s for {options.send_seconds:g} s")
            row = await self.phases.sending(
                send=send_one,
                send_process=send,
                room_id=population.rooms[size],
                size=size,
                rate=rate,
                seconds=options.send_seconds,
            )
            self.results["sending"].append(row)
            driver.say(f"  {row['calls_per_cpu_s']:,} send_message per send CPU-second")
            if row["errors"]:
                driver.note(f"sending, room of {size}: {row['errors']} send_message requests failed")
            if row["lost"] or not row["calls"]:
                driver.problem(f"sending, room of {size}: {row['calls']} calls stored, {row['lost']} frames lost")
        await self._sending_bare(rate)

    async def _sending_bare(self, rate: float) -> None:
        """The bare Django send (`bench.baselines.bare_django`) the same way, in a process of its
        own started like the send process (same server, roles, settings but its URLconf, database),
        into the smallest sending room: its cost does not depend on the room's size."""
        driver, options, population = self.driver, self.options, self.population
        size = min(options.send_rooms)
        bare_id = f"{self.send.name}-bare-django"
        env = driver.env.server_env(
            CHAT_ROLES="send,meta,registry",
            SEND_INSTANCE_ID=bare_id,
            DJANGO_SETTINGS_MODULE="bench.baselines.bare_django_settings",
        )
        argv = [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", "0", "--server", self.server]
        await asyncio.sleep(SETTLE_SECONDS)
        driver.say(f"sending, the bare Django send: room of {size:,} at {rate:g} messages/s")
        bare = await asyncio.to_thread(start_server, name=bare_id, argv=argv, env=env, log_dir=driver.log_dir)
        http = HttpPool(bare.base_url, size=16, timeout=30)
        try:
            send_one = sender_for_ours(
                pool=http,
                room_ids=population.rooms,
                senders={size: population.fan[: min(size, SENDERS_PER_ROOM)]},
                run_id=f"{self.run_id}-bare",
                path="/" + BARE_SEND_PATH,
            )
            await asyncio.sleep(SETTLE_SECONDS)
            row = await self.phases.sending(
                send=send_one,
                send_process=bare,
                room_id=population.rooms[size],
                size=size,
                rate=rate,
                seconds=options.send_seconds,
                delivers=False,
            )
        finally:
            await http.close()
            await asyncio.to_thread(stop_many, [bare])
            await asyncio.to_thread(fixtures.instances_forget, gateway_ids=[], send_ids=[bare_id])
        self.results["sending_bare"] = row
        driver.say(f"  {row['calls_per_cpu_s']:,} bare Django sends per CPU-second")
        if row["errors"] or not row["calls"]:
            driver.problem(f"sending, bare Django: {row['calls']} calls stored, {row['errors']} failed")

    async def _profiles(self, target: Target) -> None:
        driver, options, gateways, send = self.driver, self.options, self.gateways, self.send
        profiles = self.results.setdefault("profile", [])
        largest, smallest = max(options.rooms), min(options.rooms)
        for process, size in ((gateways[0], largest), (send, smallest)):
            await asyncio.sleep(SETTLE_SECONDS)
            driver.say(f"profiling {process.name} with py-spy during fan-out to a room of {size:,}")
            profile, _row = await profiled(
                process=process,
                label=f"{process.name}-room{size}",
                seconds=options.profile_seconds,
                work=self.phases.fanout(target, size, seconds=options.profile_seconds),
                out_dir=driver.out_dir,
            )
            profiles.append(profile)

    async def _fanout_with_reads(self, target: Target, *, every: float) -> None:
        """The largest room's fan-out again, every member reading every message (the worker's
        read mode): paced as the browser client does, at most one `read` frame a second per room
        with the latest seq (row `ours-reads`), or one per chat frame, the worst case
        (`ours-reads-each`); next to `ours`."""
        driver, size = self.driver, max(self.options.rooms)
        broadcast = size <= fixtures.read_receipts_max_members()
        kind = "ours-reads" if every > 0 else "ours-reads-each"
        pacing = f"at most one read frame per {every:g} s" if every > 0 else "a read frame per message"
        await asyncio.sleep(SETTLE_SECONDS)
        driver.say(
            f"fan-out with reads, ours on {self.server}, room of {size:,}: every member reads every message, "
            f"{pacing} (receipts {'broadcast' if broadcast else 'not broadcast'} in a room this size)"
        )
        await driver.pool.call_all("read_mode", on=True, every=every)
        try:
            row = await self.phases.fanout(
                dataclasses.replace(target, kind=kind), size, seconds=self.options.fanout_seconds
            )
        finally:
            reads = sum(await driver.pool.call_all("read_mode", on=False))
        row["reads_sent"] = reads
        row["read_every_s"] = every
        row["receipts_broadcast"] = broadcast
        row["send_calls_per_cpu_s"] = round(row["triggers"] / row["feeder_cpu_s"], 1) if row["feeder_cpu_s"] else 0.0
        driver.fanout_done(row, [self.send, *self.gateways])
        driver.say(f"  {reads:,} read frames sent")
        if not reads or (every == 0 and row["frames"] and reads < row["frames"]):
            driver.problem(f"fan-out with reads, room of {size}: {reads:,} read frames for {row['frames']:,} frames")

    async def _chat_list(self) -> None:
        """GET /api/joined_rooms for the user in many rooms (bench/chatlist_phase.py)."""
        chat_list = self.population.chat_list
        if chat_list is None:
            return
        await asyncio.sleep(SETTLE_SECONDS)
        self.driver.say(f"chat list: GET /api/joined_rooms for a user in {chat_list.rooms:,} rooms")
        row = await chatlist_phase.run(pool=self.http, chat_list=chat_list)
        self.results["chat_list"] = row
        self.driver.say(
            f"  p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms; {row['returned']:,} rooms, {row['reply_kb']} KB"
        )
        for fault in chatlist_phase.faults(row):
            self.driver.problem(f"chat list: {fault}")

    async def _timeline(self, rate: float) -> None:
        """The life of a message next to plain messages, in the sending phase's rooms and rate
        (bench/timeline_phase.py)."""
        driver = self.driver
        sizes = self.options.send_rooms
        driver.say(f"the life of a message: plain, mix, reactions, edits in rooms of {sizes} at {rate:g} calls/s")
        rows = await timeline_phase.run(
            phases=self.phases,
            pool=self.http,
            send_process=self.send,
            rooms=self.population.rooms,
            users=self.population.fan,
            sizes=sizes,
            rate=rate,
            seconds=self.options.send_seconds,
            run_id=self.run_id,
            settle=lambda: asyncio.sleep(SETTLE_SECONDS),
        )
        self.results["timeline"] = rows
        for row in rows:
            driver.say(
                f"  room of {row['room_size']:,}, {row['kind']}: {row['calls_per_cpu_s']:,} calls per send CPU-second"
            )
            if row["errors"]:
                driver.note(f"timeline, {row['kind']} in a room of {row['room_size']}: {row['errors']} calls failed")
            if row["lost"] or not row["calls"]:
                driver.problem(
                    f"timeline, {row['kind']} in a room of {row['room_size']}: {row['calls']} calls, "
                    f"{row['lost']} frames lost"
                )

    def _send_rate(self) -> float:
        """The sending phase's steady rate, the same for every room: at most --send-rate, and at
        most half of what the gateways fanned out for the largest sending room, so the phase
        measures the send process, not a backlog."""
        rate = self.options.send_rate
        largest = max(self.options.send_rooms)
        row = report.fanout_row(self.results, "ours", self.server, largest)
        if row and row["frames_per_s"]:
            rate = min(rate, max(2.0, 0.5 * row["frames_per_s"] / largest))
        return round(rate, 1)
