"""A gateway that dies, or freezes, on real processes with the Redis liveness signal: its clients
are back on a live gateway within seconds, nothing is lost, and a frozen gateway that wakes up
neither delivers out of order nor brings its old routes back (API.md §4, §5.4).

These tests need Redis (the fast signal lives there): CI runs them with REDIS_URL set."""

from __future__ import annotations

import signal
import statistics
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from registry.models import GatewayInstance, UserConnection
from tests.gateway.test_cluster_delivery import authed, register_and_login
from tests.support.servers import ServerProcess, running_server, wait_until
from tests.support.wsclient import ChatClient

pytestmark = [
    pytest.mark.crossprocess,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: the liveness signal lives in Redis"),
]

CLIENTS = 8


@pytest.fixture
def cluster() -> Iterator[dict[str, ServerProcess]]:
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        # The database heartbeat's own expiry stays far away: only the fast signal can act.
        "REGISTRY_HEARTBEAT_SECONDS": "10",
        "REGISTRY_DEAD_AFTER_SECONDS": "30",
        "DELIVERY_SWEEP_SECONDS": "1",
        "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
        "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
    with (
        running_server(name="send", roles="send,meta,registry", env=env) as send,
        running_server(name="gw-a", gateway_id="gw-a", env=env) as gw_a,
        running_server(name="gw-b", gateway_id="gw-b", env=env) as gw_b,
    ):
        yield {"send": send, "gw-a": gw_a, "gw-b": gw_b}


def _room(send: ServerProcess) -> tuple[list[tuple[int, str]], int]:
    users = [register_and_login(send, f"user{i}") for i in range(CLIENTS)]
    member_ids = [uid for uid, _ in users[1:]]
    room_id = authed(
        send, users[0][1], "/api/chat/group/create", {"name": "r", "is_group": True, "member_ids": member_ids}
    )
    return users, room_id["data"]["room_id"]


def _say(send: ServerProcess, token: str, room_id: int, text: str) -> None:
    assert (
        authed(send, token, "/api/chat/send_message", {"room_id": room_id, "content": {"type": "text", "text": text}})[
            "code"
        ]
        == 0
    )


def _client(i: int, user_id: int, token: str, send: ServerProcess) -> ChatClient:
    return ChatClient(name=f"c{i}", token=token, user_id=user_id, registry=send, acks=False).start()


def test_the_clients_of_a_killed_gateway_are_back_on_another_within_seconds(cluster):
    send, gw_a = cluster["send"], cluster["gw-a"]
    users, room_id = _room(send)
    clients = [
        ChatClient(name=f"c{i}", token=t, user_id=u, registry=send, acks=False).start()
        for i, (u, t) in enumerate(users)
    ]
    try:
        on_a = [c for c in clients if c.gateways[0] == "gw-a"]
        assert on_a, "the registry spreads users over both gateways"
        _say(send, users[0][1], room_id, "before")
        killed_at = time.monotonic()
        gw_a.signal(signal.SIGKILL)
        gw_a.wait_exit(timeout=5)
        for n in range(10):  # the room keeps talking through the failover
            _say(send, users[n % CLIENTS][1], room_id, f"during {n}")
            time.sleep(0.2)
        wait_until(lambda: all(len(c.gateways) >= 2 for c in on_a), timeout=20, what="every client reconnected")
        delays = [c.connected_at[1] - killed_at for c in on_a]
        assert all(c.gateways[1] == "gw-b" for c in on_a)
        print(f"reconnected after {sorted(round(d, 2) for d in delays)} s")
        assert statistics.median(delays) <= 10, delays
        assert max(delays) <= 15, delays
        wait_until(lambda: all(len(c.unique_chats(room_id)) == 11 for c in clients), timeout=15, what="every message")
        for client in clients:
            assert [f["seq"] for f in client.unique_chats(room_id)] == list(range(1, 12)), client.name
    finally:
        for client in clients:
            client.stop()


def test_a_frozen_gateway_fences_itself_when_it_wakes_up(cluster):
    send, gw_a = cluster["send"], cluster["gw-a"]
    users, room_id = _room(send)
    clients = [
        ChatClient(name=f"c{i}", token=t, user_id=u, registry=send, acks=False).start()
        for i, (u, t) in enumerate(users)
    ]
    try:
        on_a = [c for c in clients if c.gateways[0] == "gw-a"]
        assert on_a
        registered = GatewayInstance.objects.get(pk="gw-a").registered_at
        gw_a.signal(signal.SIGSTOP)
        try:
            time.sleep(5)  # past the 3 s liveness TTL: gw-a counts as dead
            status, body = send.get(f"/registry/gateway/available?user_id={on_a[0].user_id}")
            assert status == 200 and body["data"]["gateway_id"] == "gw-b"
            _say(send, users[0][1], room_id, "while frozen")
        finally:
            gw_a.signal(signal.SIGCONT)
        # On waking it closes its sockets (1012) and registers again without its old routes.
        wait_until(lambda: all(len(c.gateways) >= 2 for c in on_a), timeout=15, what="the clients moved")
        wait_until(
            lambda: GatewayInstance.objects.get(pk="gw-a").registered_at > registered, timeout=10, what="re-registered"
        )
        stale = UserConnection.objects.filter(gateway_id="gw-a", connected_at__lte=registered)
        assert not stale.exists()
        _say(send, users[1][1], room_id, "after")
        wait_until(lambda: all(len(c.unique_chats(room_id)) == 2 for c in clients), timeout=15, what="both messages")
        for client in clients:
            assert [f["payload"]["text"] for f in client.unique_chats(room_id)] == ["while frozen", "after"]
            seqs = [f["seq"] for f in client.chats() if f["room_id"] == room_id]
            assert seqs == sorted(seqs), client.name  # per connection in order, duplicates only after reconnects
    finally:
        for client in clients:
            client.stop()
