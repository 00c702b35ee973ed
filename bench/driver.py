"""The benchmark's driver: the load-generator workers, the rounds it runs (our cluster on each
server, the fault phases, the baselines) and what every round shares: starting and stopping a
cluster, waiting for the registry, opening clients, judging a fan-out row, logging problems.

What is measured on our cluster once it runs is in `bench/ours.py`; the baselines' rounds in
`bench/baseline_round.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

from bench import faults, fixtures, reconnect
from bench.baseline_round import baseline_round
from bench.httpclient import HttpPool
from bench.options import FAN_PHASES, Options
from bench.ours import OurCluster
from bench.phases import Phases
from bench.pool import WorkerPool
from bench.population import WARM_SOCKETS, Population
from bench.procs import PYTHON, BenchError, RunEnv, ServerProcess, start_server, stop_many

ROUTES_DRAIN_SECONDS = 90.0
CLIENT_TIMEOUT_SECONDS = 60.0


class Driver:
    """One run's rounds, in order, with what they share (the workers, the results)."""

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
        self.client_timeout = CLIENT_TIMEOUT_SECONDS

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
            options = self.options
            on_main = options.only is None or bool(options.only & (FAN_PHASES | {"memory", "storm"}))
            for index, server in enumerate(self.servers):
                if (index == 0 and on_main) or options.wants("fanout") or options.wants("reads"):
                    await self._guarded(f"our cluster on {server}", self.cluster_round(server, full=index == 0))
            if options.wants("faults"):
                await self._guarded("the fault phases", self.fault_round(self.servers[0]))
            if options.wants("reconnect") and self.population.reconnect:
                await self._guarded("the reconnect storm", reconnect.reconnect_round(self, self.servers[0]))
            if options.baselines and options.wants("baselines"):
                for server in self.servers:
                    for kind in ("bare", "stock"):
                        await self._guarded(f"{kind} baseline on {server}", baseline_round(self, kind, server))
        finally:
            await self.pool.stop()

    async def _guarded(self, what: str, work: Any) -> None:
        try:
            await work
        except Exception as error:
            detail = "".join(traceback.format_exception(error))
            (self.log_dir / "driver-errors.log").open("a").write(f"--- {what}\n{detail}\n")
            self.problem(f"{what}: {type(error).__name__}: {str(error)[:300]}")

    # --- the rounds -----------------------------------------------------------------------------

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
            send, by_id = await self.start_cluster(server, send_id, gateway_ids, started)
            gateways = list(by_id.values())
            http = HttpPool(send.base_url, size=64, timeout=30)
            await self.wait_registered(http, gateway_ids)
            ours = OurCluster(self, server=server, send=send, gateways=gateways, gateway_ids=gateway_ids, http=http)
            options = self.options
            if full and (options.wants("memory") or options.wants("storm")):
                await ours.memory_and_storm()
            if options.only is None or options.only & FAN_PHASES:
                await ours.fan_connect(fresh=not full)
                await ours.fanout(full=full)
        finally:
            with contextlib.suppress(Exception):
                for group in ("fan", "mem", "storm"):
                    await self.pool.close_group(group)
            await self.stop_cluster(http, started, send_id=send_id, gateway_ids=gateway_ids)

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
            send, gateways = await self.start_cluster(server, send_id, gateway_ids, started, **env)
            http = HttpPool(send.base_url, size=64, timeout=30)
            await self.wait_registered(http, gateway_ids)
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
            await self.stop_cluster(http, started, send_id=send_id, gateway_ids=gateway_ids)

    async def stop_cluster(
        self, http: HttpPool | None, started: list[ServerProcess], *, send_id: str, gateway_ids: list[str]
    ) -> None:
        """Undo `start_cluster`: close the HTTP pool, stop the processes, forget their records."""
        if http is not None:
            await http.close()
        await asyncio.to_thread(stop_many, started)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(fixtures.instances_forget, gateway_ids=gateway_ids, send_ids=[send_id])

    async def start_cluster(
        self, server: str, send_id: str, gateway_ids: list[str], started: list[ServerProcess], **env: str
    ) -> tuple[ServerProcess, dict[str, ServerProcess]]:
        """A send process (with the registry) and gateways on `server`, each appended to
        `started` once running (the caller stops them); `env` goes to every one of them."""

        async def start(name: str, **roles: str) -> ServerProcess:
            process = await asyncio.to_thread(
                start_server,
                name=name,
                argv=self._serve_argv(server),
                env=self._cluster_env(**roles, **env),
                log_dir=self.log_dir,
            )
            started.append(process)
            return process

        send = await start(send_id, CHAT_ROLES="send,meta,registry", SEND_INSTANCE_ID=send_id)
        processes = await asyncio.gather(
            *(start(gateway_id, CHAT_ROLES="gateway", GATEWAY_ID=gateway_id) for gateway_id in gateway_ids)
        )
        return send, dict(zip(gateway_ids, processes, strict=True))

    async def wait_registered(self, http: HttpPool, gateway_ids: list[str]) -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            reply = await http.get("/registry/gateway/instances", headers={"X-Internal-Token": self.env.internal_token})
            if reply.status == 200:
                live = {g["gateway_id"] for g in reply.json()["data"]["gateways"]}
                if set(gateway_ids) <= live:
                    return
            await asyncio.sleep(0.2)
        raise BenchError(f"the gateways {gateway_ids} did not register within 30 s")

    async def drained(self, http: HttpPool, gateway_ids: list[str]) -> None:
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

    async def connect_measured(
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

    def fanout_done(self, row: dict[str, Any], processes: list[ServerProcess]) -> None:
        self.results["fanout"].append(row)
        self.say(
            f"  {row['frames']:,} frames in {row['seconds']:.1f} s: {row['frames_per_s']:,.0f}/s, "
            f"{row['frames_per_cpu_s']:,.0f} per CPU-second"
        )
        where = f"fan-out {row['target']} on {row['server']}, room of {row['room_size']}"
        # Ours promises every frame (API.md §5.4): a loss is a broken run. A baseline promises
        # nothing (the stock layer drops on full channels): its losses are part of its result.
        report_loss = self.problem if row["target"].startswith("ours") else self.note
        if row["lost"]:
            report_loss(f"{where}: {row['lost']:,} of {row['expected']:,} frames never arrived")
            self._dump_stacks(where, processes)
        if not row["frames"]:
            self.problem(f"{where}: no frame delivered")
        if row["trigger_errors"]:
            self.note(f"{where}: {row['trigger_errors']} publish requests failed")
        if row["sockets_dropped"]:
            report_loss(f"{where}: sockets closed by the server: {row['sockets_dropped']}")
