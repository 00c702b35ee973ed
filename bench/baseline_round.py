"""The baselines of the fan-out figures, on each ASGI server: the bare ASGI app (the ceiling:
`bench/baselines/bare_asgi.py`) and the stock Channels pattern (`bench/baselines/
stock_channels.py`), driven with the same clients and rooms as our cluster."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from bench.httpclient import HttpPool
from bench.phases import SETTLE_SECONDS, Target
from bench.procs import PYTHON, REPO, BenchError, RunEnv, ServerProcess, free_port, start_server, stop_many
from bench.stats import window_messages
from bench.triggers import publisher_for_baseline

if TYPE_CHECKING:
    from bench.driver import Driver

BASELINE_CONCURRENCY = 2


def _baseline_argv(server: str, app: str, port: int) -> list[str]:
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


def _baseline_env(run: RunEnv, kind: str, server: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "REDIS_URL": run.redis_url,
            "CHANNEL_LAYER_PREFIX": f"{run.prefix}{kind}{server}",
            "DJANGO_SECRET_KEY": run.secret_key,
            "DJANGO_SETTINGS_MODULE": "bench.baselines.stock_settings",
        }
    )
    return env


async def baseline_round(driver: Driver, kind: str, server: str) -> None:
    """The bare ASGI app (`kind` "bare", the ceiling) or the stock Channels pattern ("stock",
    with a feeder process that publishes) on `server`: fan-out into every room size, with the
    same clients as ours."""
    name = f"{kind}-{server}"
    app = "bench.baselines.bare_asgi:app" if kind == "bare" else "bench.baselines.stock_channels:application"
    driver.say(f"starting the {'bare ASGI' if kind == 'bare' else 'stock Channels'} baseline on {server}")
    started: list[ServerProcess] = []
    http: HttpPool | None = None
    try:
        port = free_port()
        measured = await asyncio.to_thread(
            start_server,
            name=name,
            argv=_baseline_argv(server, app, port),
            env=_baseline_env(driver.env, kind, server),
            log_dir=driver.log_dir,
            port=port,
        )
        started.append(measured)
        feeder = None
        if kind == "stock":
            feeder_port = free_port()
            feeder = await asyncio.to_thread(
                start_server,
                name=f"{name}-feeder",
                argv=_baseline_argv(server, app, feeder_port),
                env=_baseline_env(driver.env, kind, server),
                log_dir=driver.log_dir,
                port=feeder_port,
            )
            started.append(feeder)
        users = max(driver.options.rooms)
        sizes = ",".join(str(s) for s in driver.options.rooms)
        clients = [(None, None, f"ws://127.0.0.1:{port}/ws?user={i}&sizes={sizes}") for i in range(users)]
        await driver.connect_measured(
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
            room_ids={size: size for size in driver.options.rooms},
            trigger=publisher_for_baseline(pool=http, messages=messages),
            frames_per_trigger=lambda size: messages(size) * size,
            concurrency=BASELINE_CONCURRENCY,
        )
        for size in driver.options.rooms:
            await asyncio.sleep(SETTLE_SECONDS)
            driver.say(f"fan-out, {name}, room of {size:,}")
            row = await driver.phases.fanout(target, size, seconds=driver.options.fanout_seconds)
            driver.fanout_done(row, started)
    finally:
        with contextlib.suppress(Exception):
            await driver.pool.close_group("baseline")
        if http is not None:
            await http.close()
        await asyncio.to_thread(stop_many, started)
