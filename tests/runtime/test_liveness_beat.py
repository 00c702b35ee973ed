"""The gateway's liveness beat (runtime/liveness.py): beaten from a thread, so a busy event loop
is not counted dead; a hung loop stops the beats; an entry that really expired makes the gateway
fence itself before it beats again."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings

from registry import liveness
from runtime.liveness import BEAT, LAPSED, STALLED, LivenessBeat

pytestmark = pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL: the signal lives in Redis")

GATEWAY = "gw-beat"


@pytest.fixture
def fast(settings: Any) -> None:
    settings.REDIS_KEY_PREFIX = f"t{uuid.uuid4().hex[:8]}"
    settings.REGISTRY_LIVENESS_BEAT_SECONDS = 0.1
    settings.REGISTRY_LIVENESS_TTL_SECONDS = 0.6
    settings.REGISTRY_LIVENESS_STALL_SECONDS = 1.5
    liveness.forget_cache()
    yield
    liveness.forget(GATEWAY)


def _dead() -> bool:
    liveness.forget_cache()
    return GATEWAY in liveness.dead_gateway_ids()


def _expire_entry() -> None:
    liveness._redis().zadd(liveness.key(), {GATEWAY: int(time.time() * 1000) - 1})


class Fences:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        liveness.forget(GATEWAY)  # what registering again does


def test_a_busy_loop_keeps_its_entry_and_its_sockets(fast):
    fences = Fences()
    beat = LivenessBeat(gateway_id=GATEWAY, fence=fences)

    async def scenario() -> list[bool]:
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(0.3)
        seen = []
        for _ in range(4):  # the loop blocked for 1.2 s in all, twice the TTL
            time.sleep(0.3)
            seen.append(_dead())
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return seen

    assert asyncio.run(scenario()) == [False] * 4
    assert fences.calls == 0
    assert beat.max_lag > 1.0


def test_a_hung_loop_stops_beating_and_fences_when_it_comes_back(fast):
    fences = Fences()
    beat = LivenessBeat(gateway_id=GATEWAY, fence=fences)

    async def scenario() -> tuple[bool, bool]:
        task = asyncio.create_task(beat.run())
        await asyncio.sleep(0.3)
        time.sleep(2.8)  # past STALL (1.5 s) + TTL (0.6 s): the beats stopped, the entry expired
        dead_while_hung = _dead()
        await asyncio.sleep(0.5)  # the thread finds the entry expired; the loop fences
        alive_after = not _dead()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return dead_while_hung, alive_after

    assert asyncio.run(scenario()) == (True, True)
    assert fences.calls == 1


def test_an_entry_found_expired_is_not_refreshed_before_fencing(fast):
    beat = LivenessBeat(gateway_id=GATEWAY, fence=Fences())
    assert beat.beat_once() == BEAT
    assert not _dead()
    _expire_entry()  # the process was stopped past the TTL: readers count it dead
    assert beat.beat_once() == LAPSED
    assert beat.beat_once() == LAPSED  # still: until it has fenced and registered again
    assert _dead()
    asyncio.run(beat._fence())
    assert beat.beat_once() == BEAT
    assert not _dead()


def test_after_fencing_it_beats_even_if_the_entry_was_not_removed(fast):
    async def fence_without_removal() -> None:
        pass  # e.g. a registry process without Redis: registering does not remove the entry

    beat = LivenessBeat(gateway_id=GATEWAY, fence=fence_without_removal)
    _expire_entry()
    assert beat.beat_once() == LAPSED
    asyncio.run(beat._fence())
    assert beat.beat_once() == BEAT
    assert not _dead()
    _expire_entry()  # a later lapse is found again
    assert beat.beat_once() == LAPSED


def test_no_beat_when_the_loop_has_not_ticked(fast, settings):
    beat = LivenessBeat(gateway_id=GATEWAY, fence=Fences())
    beat._tick = time.monotonic() - settings.REGISTRY_LIVENESS_STALL_SECONDS - 0.1
    assert beat.beat_once() == STALLED
    liveness.forget_cache()
    assert GATEWAY not in liveness.dead_gateway_ids()  # never written: no entry at all
    assert liveness._redis().zscore(liveness.key(), GATEWAY) is None
