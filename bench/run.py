"""`make bench` / `python -m bench.run [--quick] [options]`: the delivery benchmark.

One run, on this machine:

1. a fresh PostgreSQL database (`chat_bench`, migrated) and a Redis prefix of its own;
   users, rooms and tokens written with the ORM;
2. for each ASGI server `manage.py serve --server` offers (uvicorn first): the cluster, a
   send process (`CHAT_ROLES=send,meta,registry`) and two gateways (`CHAT_ROLES=gateway`),
   then, on the first server, every phase: memory (idle sockets on one gateway), the connect
   storm, fan-out (rooms of 10, 100, 1000 online members, and the room of 1000 again with
   every member sending `read` frames), latency at a steady 2,000 deliveries/s, sending
   (send_message per send-process CPU-second), the life of a message (a mix of messages,
   replies, reactions and edits next to plain messages, `bench/timeline_phase.py`), the chat
   list (`GET /api/joined_rooms` for a user in 1,000 rooms, `bench/chatlist_phase.py`); on the
   other servers, fan-out only (with and without reads); then, each on a cluster of its own,
   the fault phases (`bench/faults.py`) and the reconnect storm (`bench/reconnect.py`);
3. for the same servers: the bare ASGI app (the ceiling) and the stock Channels pattern,
   fan-out with the same clients and rooms;
4. the table (targets met or missed, every fan-out figure with its ratio to both baselines,
   the fan-out with reads next to the same without),
   JSON in `bench/results/<timestamp>.json` and `latest.json`, the latency plot
   `bench/results/latency.png` (`--quick` writes under `bench/results/quick/` instead).

The driver and its rounds are `bench/driver.py`, the phases on our cluster `bench/ours.py`, the
baselines' rounds `bench/baseline_round.py`; this module is the command line and the output.

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
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import fixtures, plot, report
from bench.clients import raise_nofile_limit
from bench.driver import Driver
from bench.options import Options, parse
from bench.population import population_create
from bench.procs import (
    REPO,
    BenchError,
    RunEnv,
    code_version,
    database_drop,
    database_migrate,
    database_recreate,
    install_cleanup,
    machine_description,
    postgres_version,
    redis_check,
    redis_forget,
    serve_servers,
    stop_all,
)


def _servers(options: Options) -> tuple[list[str], bool]:
    offered, flag = serve_servers()
    if options.servers:
        unknown = [s for s in options.servers if s not in offered]
        if unknown:
            raise BenchError(f"manage.py serve does not offer {unknown}; it offers {offered}")
        return list(options.servers), flag
    ordered = sorted(offered, key=lambda s: (s != "uvicorn", s))
    return (ordered[:1] if options.quick else ordered), flag


def _write(results: dict[str, Any], out_dir: Path, latency_values: list[float], *, quick: bool, partial: bool) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_name = "latency.png"
    if results.get("latency") and latency_values:
        try:
            plot.plot_latency(latency_values, results["latency"], out_dir / plot_name)
        except Exception as error:  # matplotlib missing or broken: the figures still count
            results["problems"].append(f"latency plot: {type(error).__name__}: {error}")
            plot_name = ""
    else:
        plot_name = ""
    results["targets"] = report.evaluate(results)
    link = None
    if plot_name:
        link = f"bench/results/{out_dir.name + '/' if quick or partial else ''}{plot_name}"
    table = report.markdown(results, plot_link=link)
    text = json.dumps(results, indent=1, default=str)
    if not quick and not partial:
        stamp = results["started_at"].replace(":", "").replace("-", "")[:15]
        (out_dir / f"{stamp}.json").write_text(text)
    (out_dir / "latest.json").write_text(text)
    (out_dir / "latest.md").write_text(table)
    return table


def _json_option(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    os.chdir(REPO)
    raise_nofile_limit()
    install_cleanup()
    # A quick run, or one of a few phases (--only), never replaces the full run's results.
    out_dir = options.results_dir
    if options.quick or options.only:
        out_dir = out_dir / ("quick" if options.quick else "partial")
    out_dir.mkdir(parents=True, exist_ok=True)  # the profiles are written there while the run goes
    log_dir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    began = time.time()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "quick": options.quick,
        "options": {k: _json_option(v) for k, v in asdict(options).items()},
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
    table = _write(results, out_dir, latency_values, quick=options.quick, partial=bool(options.only))
    print("\n" + table, flush=True)
    if options.update_readme and not options.quick and not options.only:
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
