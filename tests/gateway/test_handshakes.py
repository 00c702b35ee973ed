"""Handshakes and closes gathered into batches (gateway/handshakes.py): a constant number of
queries per batch, each socket's own answer, 1013 when a batch fails or the queue is full, and
no message lost or doubled by a batch that runs while it is stored."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from chatproject.coalescer import Coalescer
from gateway import services
from gateway.services import ClosedSocket, OpenedSocket, SocketRequest
from meta import services as meta_services
from meta.models import User
from meta.services.moderation import user_ban
from meta.tokens import UserBanned, access_token_for_user
from registry import services as registry_services
from registry.models import UserConnection, UserLease
from send.models import Device
from tests.gateway.conftest import GATEWAY_ID
from tests.gateway.test_consumer import make_group, make_user, send_text

pytestmark = pytest.mark.django_db(transaction=True)


def _users_in_a_room(n: int) -> list[User]:
    users = [User.objects.create_user(username=f"u{i}", password="secret123") for i in range(n)]
    meta_services.room_create(actor=users[0], name="g", member_ids=[u.pk for u in users[1:]], is_group=True)
    return users


def _requests(users: list[User], tag: str) -> list[SocketRequest]:
    # Every other socket names a device: the device path is in the batch too.
    return [
        SocketRequest(user_id=u.pk, connection_id=f"{tag}-{u.pk}", device_id="phone" if i % 2 else None)
        for i, u in enumerate(users)
    ]


def _queries_to_open_and_close(users: list[User], tag: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as opened:
        results = services.sockets_open(gateway_id=GATEWAY_ID, requests=_requests(users, tag))
    assert all(isinstance(r, OpenedSocket) for r in results)
    closed = [
        ClosedSocket(user_id=user.pk, connection_id=f"{tag}-{user.pk}", device=result.device)
        for user, result in zip(users, results, strict=True)
    ]
    with CaptureQueriesContext(connection) as gone:
        assert services.sockets_close(gateway_id=GATEWAY_ID, closed=closed) == {u.pk for u in users}
    return len(opened), len(gone)


def test_a_batch_costs_the_same_queries_whatever_its_size(db: None) -> None:
    registry_services.gateway_register(gateway_id=GATEWAY_ID, address="127.0.0.1", port=1)
    users = _users_in_a_room(40)
    # 4 sockets and 36, their devices seen for the first time (made); then 40, all known.
    small = _queries_to_open_and_close(users[:4], "a")
    large = _queries_to_open_and_close(users[4:], "b")
    known = _queries_to_open_and_close(users, "c")
    assert large == small
    assert known[0] < small[0] and known[1] == small[1]
    assert small[0] <= 16 and small[1] <= 12  # statements and savepoints, whatever the size
    assert not UserConnection.objects.exists()
    assert set(UserLease.objects.values_list("user_id", flat=True)) == {u.pk for u in users}
    assert Device.objects.count() == 20


def test_each_socket_gets_its_own_answer_in_a_batch(db: None) -> None:
    registry_services.gateway_register(gateway_id=GATEWAY_ID, address="127.0.0.1", port=1)
    ok, banned, inactive = _users_in_a_room(3)
    User.objects.filter(pk=banned.pk).update(is_banned=True)
    User.objects.filter(pk=inactive.pk).update(is_active=False)
    requests = [
        SocketRequest(user_id=banned.pk, connection_id="1"),
        SocketRequest(user_id=ok.pk, connection_id="2"),
        SocketRequest(user_id=inactive.pk, connection_id="3"),
        SocketRequest(user_id=10**9, connection_id="4"),
        SocketRequest(user_id=ok.pk, connection_id="5"),
    ]
    results = services.sockets_open(gateway_id=GATEWAY_ID, requests=requests)
    assert isinstance(results[0], UserBanned)
    assert isinstance(results[2], Exception) and not isinstance(results[2], UserBanned)
    assert isinstance(results[3], Exception) and not isinstance(results[3], UserBanned)
    assert isinstance(results[1], OpenedSocket) and isinstance(results[4], OpenedSocket)
    assert (results[1].came_online, results[4].came_online) == (True, False)  # once per user
    assert sorted(UserConnection.objects.values_list("user_id", "connection_id")) == [(ok.pk, "2"), (ok.pk, "5")]


def test_a_lease_for_a_connection_opened_later_is_kept(db: None, clock: Any) -> None:
    registry_services.gateway_register(gateway_id=GATEWAY_ID, address="127.0.0.1", port=1)
    registry_services.gateway_register(gateway_id="gw-other", address="127.0.0.1", port=2)
    registry_services.user_connect(user_id=1, gateway_id=GATEWAY_ID, connection_id="old")
    registry_services.user_connect(user_id=2, gateway_id=GATEWAY_ID, connection_id="old")
    clock.advance(1)
    registry_services.user_connect(user_id=1, gateway_id="gw-other", connection_id="new")
    registry_services.user_disconnect(user_id=1, gateway_id="gw-other", connection_id="new")
    registry_services.user_disconnect(user_id=2, gateway_id=GATEWAY_ID, connection_id="old")
    clock.advance(1)
    registry_services.user_connect(user_id=2, gateway_id=GATEWAY_ID, connection_id="newer")
    registry_services.users_disconnect(gateway_id=GATEWAY_ID, connections=[(1, "old"), (2, "newer"), (3, "none")])
    leases = dict(UserLease.objects.values_list("user_id", "connection_id"))
    assert leases == {1: "new", 2: "newer"}  # 1's newer lease kept, 2's older one moved
    assert not UserConnection.objects.filter(gateway_id=GATEWAY_ID).exists()


# --- through the socket ------------------------------------------------------------------


async def test_a_ban_refuses_the_very_next_handshake(connect):
    alice = await make_user("alice")
    token = access_token_for_user(user=alice)
    await connect(token=token)
    await database_sync_to_async(user_ban)(user_id=alice.pk)
    await connect(token=token, expect_close=4403)


async def test_a_banned_and_a_welcome_socket_in_one_batch(connect, settings):
    settings.WS_HANDSHAKE_BATCH_WAIT_MS = 50
    alice, mallory = await make_user("alice"), await make_user("mallory", is_banned=True)
    await asyncio.gather(connect(mallory, expect_close=4403), connect(alice), connect(alice))


async def test_a_failed_batch_refuses_each_of_its_sockets_with_1013_and_the_next_works(connect, settings, monkeypatch):
    settings.WS_HANDSHAKE_BATCH_WAIT_MS = 50
    alice, bob = await make_user("alice"), await make_user("bob")
    real = registry_services.users_connect
    calls: list[int] = []

    def database_down(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database is unreachable")
        real(**kwargs)

    monkeypatch.setattr(registry_services, "users_connect", database_down)
    await asyncio.gather(connect(alice, expect_close=1013), connect(bob, expect_close=1013))
    assert calls == [1]  # one batch for both
    await asyncio.gather(connect(alice), connect(bob))


async def test_beyond_the_queue_cap_a_socket_is_refused_with_1013_at_once(connect, settings):
    settings.WS_HANDSHAKE_BATCH_WAIT_MS = 300
    settings.WS_HANDSHAKE_QUEUE_MAX = 1
    alice, bob = await make_user("alice"), await make_user("bob")
    waiting = asyncio.ensure_future(connect(alice))
    await asyncio.sleep(0.1)
    started = asyncio.get_running_loop().time()
    await connect(bob, expect_close=1013)
    assert asyncio.get_running_loop().time() - started < 0.15  # not after the batch
    await waiting  # alice's batch ran: welcomed


async def test_a_message_stored_while_the_batch_runs_comes_once_and_in_order(connect, monkeypatch):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    await send_text(alice, room_id, "before")
    real = registry_services.users_connect

    def and_a_message_meanwhile(**kwargs: Any) -> None:
        real(**kwargs)  # the route is recorded: the push comes here, the read sees it too
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for_user(user=alice)}")
        body = {"room_id": room_id, "content": {"type": "text", "text": "meanwhile"}}
        assert client.post("/api/chat/send_message", body, format="json").status_code == 200

    monkeypatch.setattr(registry_services, "users_connect", and_a_message_meanwhile)
    b = await connect(bob)
    monkeypatch.setattr(registry_services, "users_connect", real)
    await send_text(alice, room_id, "after")
    seqs: list[int] = []
    while 3 not in seqs:
        try:
            frame = await b.frame(timeout=10)  # a loaded machine
        except TimeoutError:
            pytest.fail(f"seq 3 never came; got seqs {seqs}")
        seqs += [p["seq"] for p in frame["payload"]] if frame["type"] == "batch" else [frame["seq"]]
    await b.nothing()
    assert seqs == [1, 2, 3]


# --- the coalescer alone ------------------------------------------------------------------


async def test_a_full_batch_runs_at_once_and_each_item_gets_its_own_answer():
    batches: list[list[int]] = []

    def run(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        return [ValueError(f"bad {i}") if i < 0 else i * 10 for i in items]

    coalescer = Coalescer(run, wait=lambda: 30.0, cap=lambda: 3, queue_max=lambda: 100)
    answers = await asyncio.wait_for(
        asyncio.gather(*(coalescer.submit(i) for i in (1, -2, 3)), return_exceptions=True), timeout=5
    )
    assert answers[0] == 10 and answers[2] == 30 and str(answers[1]) == "bad -2"
    assert batches == [[1, -2, 3]] and coalescer.outstanding == 0
