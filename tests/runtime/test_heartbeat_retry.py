"""A failed heartbeat is tried again after REGISTRY_HEARTBEAT_RETRY_SECONDS, not a whole period
later, so a database or registry blip never leaves a live instance to expire."""

from __future__ import annotations

import asyncio
import itertools
import time

from asgiref.sync import async_to_sync
from django.db import OperationalError

from gateway.hub import Hub
from runtime.identity import InstanceIdentity
from runtime.lifecycle import RegistryAgent

GATEWAY = InstanceIdentity(
    kind="gateway", instance_id="gw-me", address="10.1.1.1", port=8084, url="ws://10.1.1.1:8084/api/ws", capacity=4
)


class BlipClient:
    """A registry whose database is away for the first `failures` heartbeats."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.beats: list[tuple[float, bool]] = []

    def register(self, identity, *, sockets=()):
        return None

    def heartbeat(self, identity, *, load=0.0, connections=0):
        failed = self.failures > 0
        self.beats.append((time.monotonic(), not failed))
        if failed:
            self.failures -= 1
            raise OperationalError("the database is unreachable")

    def unregister(self, identity):
        return None

    def purge(self):
        return None


def _run_for(agent: RegistryAgent, seconds: float) -> None:
    async def run() -> None:
        with_timeout = asyncio.wait_for(agent.run(), timeout=seconds)
        try:
            await with_timeout
        except TimeoutError:
            pass

    async_to_sync(run)()


def _run_until_beats(agent: RegistryAgent, client: BlipClient, count: int, *, limit: float) -> None:
    """Run the agent until the client has seen `count` heartbeats, or `limit` seconds: a busy
    machine delays a beat, so the test waits for the beats rather than for a fixed window."""

    async def run() -> None:
        task = asyncio.ensure_future(agent.run())
        deadline = time.monotonic() + limit
        try:
            while len(client.beats) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async_to_sync(run)()


def test_a_failed_heartbeat_is_retried_soon_then_the_period_resumes(settings):
    settings.REGISTRY_HEARTBEAT_SECONDS = 0.5
    settings.REGISTRY_HEARTBEAT_RETRY_SECONDS = 0.05
    client = BlipClient(failures=3)
    agent = RegistryAgent(client=client, records=[GATEWAY], hub=Hub())
    async_to_sync(agent.register)()
    started = time.monotonic()
    _run_for(agent, 1.3)
    times = [at - started for at, _ok in client.beats]
    outcomes = [ok for _at, ok in client.beats]
    # One period, three failures each retried after ~0.05 s, then the period again.
    assert outcomes[:5] == [False, False, False, True, True], client.beats
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap < 0.25 for gap in gaps[:3]), gaps
    assert gaps[3] >= 0.45, gaps
    assert times[3] < 0.8, times  # alive again well before a second period would have passed


def test_the_retry_is_never_longer_than_the_period(settings):
    settings.REGISTRY_HEARTBEAT_SECONDS = 0.1
    settings.REGISTRY_HEARTBEAT_RETRY_SECONDS = 60
    client = BlipClient(failures=2)
    agent = RegistryAgent(client=client, records=[GATEWAY], hub=Hub())
    async_to_sync(agent.register)()
    _run_until_beats(agent, client, 3, limit=10.0)
    assert [ok for _at, ok in client.beats][:3] == [False, False, True], client.beats
    gaps = [b - a for a, b in itertools.pairwise(at for at, _ok in client.beats[:3])]
    # Each retry came after the period (0.1 s), not the 60 s retry; 2 s allows a loaded machine.
    assert all(gap < 2.0 for gap in gaps), gaps
