"""The choice of a gateway from the process's snapshot (registry/snapshot.py): a burst spreads
evenly, the sticky choice still wins, a dead gateway is never chosen however fresh the
snapshot, and a choice costs at most one query."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

import pytest
from django.conf import settings as django_settings

from registry import liveness, services
from registry.models import GatewayInstance
from registry.snapshot import GatewaySnapshot, gateway_snapshot

pytestmark = pytest.mark.django_db


def _burst(n: int, **kwargs: Any) -> Counter[str]:
    return Counter(services.gateway_choose(**kwargs).gateway_id for _ in range(n))


def test_a_burst_spreads_evenly(register_gateway, clock):
    for name in ("gw-1", "gw-2", "gw-3"):
        register_gateway(name, capacity=1000)
    assert _burst(300, user_id=None) == {"gw-1": 100, "gw-2": 100, "gw-3": 100}


def test_a_burst_fills_the_emptiest_gateway_first(register_gateway, clock):
    register_gateway("gw-1", capacity=1000)
    register_gateway("gw-2", capacity=1000)
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=50)
    assert _burst(70, user_id=None) == {"gw-2": 60, "gw-1": 10}


def test_the_sticky_choice_still_wins_during_a_burst(register_gateway, clock):
    register_gateway("gw-1", capacity=1000)
    register_gateway("gw-2", capacity=1000)
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=1)
    for _ in range(20):
        assert services.gateway_choose(user_id=5).gateway_id == "gw-1"
    # The twenty went to gw-1 (21 sockets counted there): strangers go to gw-2 until it catches up.
    assert _burst(21, user_id=None) == {"gw-2": 21}


def test_a_choice_costs_one_query_and_none_without_a_user(register_gateway, clock, django_assert_num_queries):
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.gateway_choose(user_id=None)  # the snapshot is taken
    with django_assert_num_queries(1):
        assert services.gateway_choose(user_id=7).gateway_id in {"gw-1", "gw-2"}
    with django_assert_num_queries(0):
        assert services.gateway_choose(user_id=None).gateway_id in {"gw-1", "gw-2"}


def test_a_heartbeat_in_another_process_is_seen_at_the_next_refresh(register_gateway, clock, settings):
    settings.REGISTRY_SNAPSHOT_SECONDS = 1.0
    now = [100.0]
    snapshot = GatewaySnapshot(monotonic=lambda: now[0])
    register_gateway("gw-1")
    register_gateway("gw-2")
    assert set(snapshot.live(now=clock.now())) == {"gw-1", "gw-2"}
    clock.advance(1)
    GatewayInstance.objects.filter(pk="gw-1").update(load=0.7, last_heartbeat=clock.now())
    now[0] += 0.5
    assert snapshot.live(now=clock.now())["gw-1"].load == 0.0  # not yet
    now[0] += 0.6
    assert snapshot.live(now=clock.now())["gw-1"].load == 0.7
    assert snapshot.refreshes == 2


def test_a_gateway_dead_by_its_database_heartbeat_is_dropped_without_a_refresh(register_gateway, clock, settings):
    settings.REGISTRY_SNAPSHOT_SECONDS = 3600
    register_gateway("gw-1")
    clock.advance(20)
    register_gateway("gw-2")
    assert _burst(10, user_id=None).keys() == {"gw-1", "gw-2"}
    refreshes = gateway_snapshot().refreshes
    clock.advance(10)  # gw-1's heartbeat is 30 s old
    assert _burst(10, user_id=None) == {"gw-2": 10}
    assert gateway_snapshot().refreshes == refreshes


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="needs REDIS_URL: the fast liveness signal")
def test_a_gateway_that_stops_beating_is_not_chosen_once_its_ttl_is_up(register_gateway, clock, settings):
    settings.REDIS_KEY_PREFIX = f"t{uuid.uuid4().hex[:8]}"
    settings.REGISTRY_LIVENESS_TTL_SECONDS = 0.5
    settings.REGISTRY_SNAPSHOT_SECONDS = 3600  # the snapshot is never taken again: the signal alone acts
    register_gateway("gw-1", capacity=1000)
    register_gateway("gw-2", capacity=1000)
    redis = liveness._redis()
    try:
        for name in ("gw-1", "gw-2"):
            redis.zadd(*liveness.beat_entry(name))
        liveness.forget_cache()
        services.gateway_heartbeat(gateway_id="gw-2", connected_users=100)
        assert _burst(5, user_id=None) == {"gw-1": 5}
        services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
        deadline = time.monotonic() + 0.5 + 0.25 + 0.1  # the TTL, the reader's cache, a margin
        while time.monotonic() < deadline:
            redis.zadd(*liveness.beat_entry("gw-2"))  # gw-2 keeps beating, gw-1 has stopped
            time.sleep(0.05)
        assert _burst(10, user_id=None) == {"gw-2": 10}
        assert services.gateway_choose(user_id=5).gateway_id == "gw-2"  # not sticky to the dead one
    finally:
        redis.zrem(liveness.key(), "gw-1", "gw-2")
        liveness.forget_cache()
