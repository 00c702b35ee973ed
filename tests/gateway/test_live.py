"""Read state, typing and presence (API.md §7.3, §7.4) on the real ASGI application: what each
socket receives, what is stored, and the caps."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from gateway import presence
from gateway import services as gateway_services
from gateway.live import LiveState
from meta.models import Membership, User
from registry import services as registry_services
from tests.gateway.test_consumer import make_group, make_user, post, send_text, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def read_seq(user: User, room_id: int) -> int:
    return Membership.objects.get(user=user, room_id=room_id).read_seq


@database_sync_to_async
def get(user: User, path: str) -> Any:
    from rest_framework.test import APIClient

    from meta.tokens import access_token_for_user

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for_user(user=user)}")
    return client.get(path)


def read(room_id: int, user_id: int, seq: int) -> dict[str, Any]:
    return {
        "id": -1,
        "type": "read",
        "room_id": room_id,
        "sender_id": user_id,
        "payload": {"user_id": user_id, "read_seq": seq},
    }


# --- reading ------------------------------------------------------------------------------


async def test_a_socket_read_is_stored_and_told_to_the_readers_other_sockets_and_the_room(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    await send_text(alice, room_id, "one")
    b1, b2, a = await connect(bob), await connect(bob), await connect(alice)
    for client in (b1, b2, a):
        assert (await client.frame())["type"] == "batch"
    await b1.send({"type": "read", "room_id": room_id, "seq": 1})
    assert await b2.frame() == read(room_id, bob.pk, 1)  # the reader's other socket
    assert await a.frame() == read(room_id, bob.pk, 1)  # a member of a small room
    await b1.nothing()  # never back to the socket that read
    await wait_for(lambda: _is(read_seq(bob, room_id), 1))


async def test_reading_over_http_answers_the_unread_count_and_never_lowers(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    for text in ("one", "two", "three"):
        await send_text(alice, room_id, text)
    await send_text(bob, room_id, "mine")  # sending reads the room up to it...
    assert await read_seq(bob, room_id) == 4
    reply = await post(bob, "/api/chat/read", {"room_id": room_id, "seq": 2})  # ...so this changes nothing
    assert reply.json() == {"code": 0, "msg": "ok", "data": {"room_id": room_id, "read_seq": 4, "unread": 0}}
    reply = await post(alice, "/api/chat/read", {"room_id": room_id, "seq": 2})
    assert reply.json()["data"] == {"room_id": room_id, "read_seq": 3, "unread": 1}  # her own don't count


@pytest.mark.parametrize(
    ("body", "status", "msg_part"),
    [
        ({"room_id": "R", "seq": 1}, 400, "room_id"),
        ({"room_id": 1, "seq": 99}, 400, "above the room's last seq (0)"),
        ({"room_id": 999, "seq": 0}, 404, "room 999 does not exist"),
    ],
)
async def test_bad_reads_over_http(connect, body, status, msg_part):
    alice = await make_user("alice")
    room_id = await make_group(alice)
    body = {**body, "room_id": room_id} if body["room_id"] == 1 else body
    reply = await post(alice, "/api/chat/read", body)
    assert reply.status_code == status and msg_part in reply.json()["msg"]


async def test_a_non_member_cannot_read_a_room(connect):
    alice, eve = await make_user("alice"), await make_user("eve")
    room_id = await make_group(alice)
    reply = await post(eve, "/api/chat/read", {"room_id": room_id, "seq": 0})
    assert reply.status_code == 403
    e = await connect(eve)
    await e.send({"type": "read", "room_id": room_id, "seq": 0})
    error = await e.frame()
    assert (error["type"], error["payload"]["code"]) == ("error", 403)


async def test_a_socket_read_above_the_room_is_refused(connect):
    alice = await make_user("alice")
    room_id = await make_group(alice)
    a = await connect(alice)
    await a.send({"type": "read", "room_id": room_id, "seq": 5})
    error = await a.frame()
    assert error["payload"] == {"code": 400, "msg": "read: seq 5 is above the room's last seq (0)"}


async def test_receipts_stay_private_for_a_user_who_does_not_share_them(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    await send_text(alice, room_id, "one")
    reply = await post(bob, "/api/me/settings", {"share_read_receipts": False})
    assert reply.json()["data"] == {"share_read_receipts": False}
    a, b1, b2 = await connect(alice), await connect(bob), await connect(bob)
    await a.frame(), await b1.frame(), await b2.frame()
    await b1.send({"type": "read", "room_id": room_id, "seq": 1})
    assert await b2.frame() == read(room_id, bob.pk, 1)  # his own devices still sync
    await a.nothing()
    members = (await get(alice, f"/api/chat/group/members?room_id={room_id}")).json()["data"]["members"]
    assert {m["user_id"]: m["read_seq"] for m in members} == {alice.pk: 1, bob.pk: None}
    members = (await get(bob, f"/api/chat/group/members?room_id={room_id}")).json()["data"]["members"]
    assert {m["user_id"]: m["read_seq"] for m in members}[bob.pk] == 1  # he sees his own


async def test_receipts_are_not_broadcast_above_the_cap(connect, settings):
    settings.READ_RECEIPTS_MAX_MEMBERS = 2
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    room_id = await make_group(alice, bob, carol)
    await send_text(alice, room_id, "one")
    a, b = await connect(alice), await connect(bob)
    await a.frame(), await b.frame()
    await b.send({"type": "read", "room_id": room_id, "seq": 1})
    await wait_for(lambda: _is(read_seq(bob, room_id), 1))
    await a.nothing()


async def test_settings_are_json_booleans(connect):
    alice = await make_user("alice")
    assert (await get(alice, "/api/me/settings")).json()["data"] == {"share_read_receipts": True}
    reply = await post(alice, "/api/me/settings", {"share_read_receipts": "no"})
    assert reply.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_many_reads_are_written_in_one_update_per_room_and_seq(django_assert_num_queries, make_user):
    from meta.services import room_create
    from send.reading import reads_record

    owner = make_user("owner")
    readers = [make_user(f"r{i}") for i in range(30)]
    room = room_create(actor=owner, name="big", is_group=True, member_ids=[u.pk for u in readers])
    room.last_seq = 7
    room.save(update_fields=["last_seq"])
    # one SELECT of the current positions, one UPDATE for the (room, 7) group in a savepoint;
    # the frames: room sizes, sharing flags, members of the small rooms, the routes
    with django_assert_num_queries(8):
        assert reads_record(reads={(u.pk, room.pk): (7, "c") for u in readers}) == 30
    assert set(Membership.objects.filter(user__in=readers).values_list("read_seq", flat=True)) == {7}
    assert reads_record(reads={(readers[0].pk, room.pk): (3, "c")}) == 0  # never lowered


# --- typing ---------------------------------------------------------------------------------


async def test_typing_reaches_the_others_once_a_second_and_not_the_typist(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    a1, a2, b = await connect(alice), await connect(alice), await connect(bob)
    for _ in range(3):
        await a1.send({"type": "typing", "room_id": room_id})
    assert await b.frame() == {
        "id": -1,
        "type": "typing",
        "room_id": room_id,
        "sender_id": alice.pk,
        "payload": {"expires_in_ms": 6000},
    }
    await b.nothing(timeout=0.5)  # the two others came within the second: dropped
    await a1.nothing(timeout=0.1)
    await a2.nothing(timeout=0.1)
    await asyncio.sleep(1.0)
    await a2.send({"type": "typing", "room_id": room_id})
    assert (await b.frame())["type"] == "typing"


async def test_a_repeated_refusal_costs_no_query_and_still_gets_its_error(connect, monkeypatch):
    alice, bob, eve = await make_user("alice"), await make_user("bob"), await make_user("eve")
    room_id = await make_group(alice, bob)
    asked: list[int] = []
    room_last_seq = gateway_services.room_last_seq

    def counting(*, user_id: int, room_id: int) -> int:
        asked.append(room_id)
        return room_last_seq(user_id=user_id, room_id=room_id)

    monkeypatch.setattr(gateway_services, "room_last_seq", counting)
    e = await connect(eve)
    for frame in ({"type": "typing", "room_id": room_id}, {"type": "read", "room_id": room_id, "seq": 1}) * 3:
        await e.send(frame)
        assert (await e.frame())["payload"]["code"] == 403
    assert asked == [room_id]
    await e.send({"type": "typing", "room_id": room_id + 1000})
    assert (await e.frame())["payload"]["code"] == 404
    assert asked == [room_id, room_id + 1000]


async def test_typing_in_a_room_one_is_not_in_is_refused_and_big_rooms_get_none(connect, settings):
    alice, bob, eve = await make_user("alice"), await make_user("bob"), await make_user("eve")
    room_id = await make_group(alice, bob)
    e = await connect(eve)
    await e.send({"type": "typing", "room_id": room_id})
    assert (await e.frame())["payload"]["code"] == 403
    settings.TYPING_MAX_MEMBERS = 1
    a, b = await connect(alice), await connect(bob)
    await a.send({"type": "typing", "room_id": room_id})
    await b.nothing()


# --- presence -----------------------------------------------------------------------------


async def test_presence_once_per_user_to_the_online_members_of_small_rooms(connect, settings):
    settings.PRESENCE_MAX_MEMBERS = 10
    settings.PRESENCE_OFFLINE_GRACE_SECONDS = 0.3
    alice, bob = await make_user("alice"), await make_user("bob")
    await make_group(alice, bob)
    await make_group(bob, alice)  # two rooms in common: still one frame
    a = await connect(alice)
    b = await connect(bob)
    frame = await a.frame()
    assert frame == {
        "id": -1,
        "type": "presence",
        "room_id": 0,
        "sender_id": 0,
        "payload": {"user_id": bob.pk, "online": True, "last_seen": None},
    }
    await a.nothing()
    await b.close()
    frame = await a.frame(timeout=3)
    assert frame["payload"]["user_id"] == bob.pk and frame["payload"]["online"] is False
    assert frame["payload"]["last_seen"].endswith("Z")


async def test_a_reconnect_within_the_grace_period_does_not_flap(connect, settings):
    settings.PRESENCE_MAX_MEMBERS = 10
    settings.PRESENCE_OFFLINE_GRACE_SECONDS = 1.0
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    a = await connect(alice)
    b = await connect(bob)
    assert (await a.frame())["payload"]["online"] is True
    await b.close()
    b = await connect(bob)  # back before the grace period ends
    await a.nothing(timeout=1.5)
    members = (await get(alice, f"/api/chat/group/members?room_id={room_id}")).json()["data"]["members"]
    assert {m["user_id"]: (m["online"], m["last_seen"]) for m in members}[bob.pk] == (True, None)


async def test_a_user_on_two_gateways_is_online_until_both_sockets_are_gone(connect, settings):
    settings.PRESENCE_MAX_MEMBERS = 10
    settings.PRESENCE_OFFLINE_GRACE_SECONDS = 0.2
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    await database_sync_to_async(registry_services.gateway_register)(gateway_id="gw-far", address="10.0.0.9", port=1)
    await database_sync_to_async(registry_services.user_connect)(user_id=bob.pk, gateway_id="gw-far", connection_id="x")
    a = await connect(alice)
    b = await connect(bob)  # bob was online already (on gw-far): no frame
    await a.nothing(timeout=0.5)
    await b.close()
    await a.nothing(timeout=0.8)  # still online on gw-far
    members = (await get(alice, f"/api/chat/group/members?room_id={room_id}")).json()["data"]["members"]
    assert {m["user_id"]: m["online"] for m in members}[bob.pk] is True


async def test_the_members_list_shows_when_an_offline_user_was_last_seen(connect, settings):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    seen = timezone.now() - timedelta(hours=2)
    await database_sync_to_async(User.objects.filter(pk=bob.pk).update)(last_seen=seen)
    members = (await get(alice, f"/api/chat/group/members?room_id={room_id}")).json()["data"]["members"]
    entry = {m["user_id"]: m for m in members}[bob.pk]
    assert entry["online"] is False and entry["last_seen"].startswith(seen.strftime("%Y-%m-%dT%H:%M"))


async def _is(awaitable, value) -> bool:
    return await awaitable == value


async def test_the_ends_of_grace_periods_close_together_are_checked_in_one_query(settings, monkeypatch):
    settings.PRESENCE_OFFLINE_GRACE_SECONDS = 0.1
    checked: list[list[int]] = []

    def users_offline(*, user_ids: list[int]) -> set[int]:
        checked.append(sorted(user_ids))
        return {u for u in user_ids if u != 7}  # 7 opened a socket again meanwhile

    monkeypatch.setattr(presence, "users_offline", users_offline)
    tasks: list[asyncio.Task[None]] = []
    live = LiveState(spawn=lambda coro: tasks.append(asyncio.ensure_future(coro)))
    for user_id in range(1, 501):
        live.went_away(user_id)
    await asyncio.sleep(0.05)
    live.went_away(1000)  # a little later: still within the same check
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=3)
    assert checked == [[*range(1, 501), 1000]]
    assert len(tasks) == 1
    assert live._presence == {u: False for u in [*range(1, 501), 1000] if u != 7}
