"""The WebSocket protocol of API.md §5, on the real ASGI application with real tokens."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from chatproject.asgi import application
from gateway.delivery import delivery_engine
from meta import services as meta_services
from meta.models import Membership, User
from meta.tokens import access_token_for_user
from send.models import Message
from tests.conftest import INTERNAL_TOKEN
from tests.send.conftest import FRESH_FIELDS

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def make_user(name: str, **fields: Any) -> User:
    return User.objects.create_user(username=name, password="secret123", **fields)


@database_sync_to_async
def make_group(owner: User, *members: User) -> int:
    room = meta_services.room_create(actor=owner, name="g", member_ids=[m.pk for m in members], is_group=True)
    return room.pk


@database_sync_to_async
def post(user: User | None, path: str, body: dict[str, Any], internal: bool = False) -> Any:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for_user(user=user)}")
    if internal:
        client.credentials(HTTP_X_INTERNAL_TOKEN=INTERNAL_TOKEN)
    return client.post(path, body, format="json")


async def send_text(user: User, room_id: int, text: str, **extra: Any) -> dict[str, Any]:
    response = await post(
        user, "/api/chat/send_message", {"room_id": room_id, "content": {"type": "text", "text": text}, **extra}
    )
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def chat(frame: dict[str, Any]) -> bool:
    return frame["type"] == "chat"


# --- opening the socket -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "subprotocol", "query"])
async def test_each_way_of_passing_the_token_gets_the_welcome(connect, how):
    alice = await make_user("alice")
    client = await connect(alice, how=how)
    assert client.subprotocol == ("bearer" if how == "subprotocol" else None)


async def test_a_socket_to_another_path_is_refused_not_a_server_error():
    communicator = WebsocketCommunicator(application, "/api/wss")
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 1008)
    await communicator.disconnect()


async def test_missing_token_closes_4401(connect):
    await connect(token="", how="query", expect_close=4401)


async def test_forged_token_closes_4401(connect):
    alice = await make_user("alice")
    good = access_token_for_user(user=alice)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    await connect(token=forged, expect_close=4401)


async def test_banned_user_closes_4403(connect):
    mallory = await make_user("mallory", is_banned=True)
    await connect(mallory, expect_close=4403)


async def test_foreign_origin_closes_1008_and_own_origin_is_accepted(connect):
    alice = await make_user("alice")
    await connect(alice, headers=[(b"origin", b"https://evil.example")], expect_close=1008)
    await connect(alice, headers=[(b"origin", b"http://localhost:8000")])


async def test_too_many_sockets_for_one_user_closes_4409(connect, settings):
    settings.WS_MAX_CONNECTIONS_PER_USER = 2
    alice = await make_user("alice")
    await connect(alice)
    await connect(alice)
    await connect(alice, expect_close=4409)


# --- client frames ----------------------------------------------------------------------


async def test_ping_frame_gets_pong(connect):
    client = await connect(await make_user("alice"))
    await client.send({"type": "ping"})
    assert await client.frame() == {"id": -1, "type": "pong", "room_id": 0, "sender_id": 0, "payload": None}


@pytest.mark.parametrize(
    ("frame", "msg_part"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ({"type": "dance"}, "unknown frame type 'dance'"),
        ({"no": "type"}, "needs a string `type`"),
        ({"type": "ack", "room_id": "1", "seq": 2}, "ack:"),
        ({"type": "ack", "id": True}, "ack: `id`"),
    ],
)
async def test_bad_client_frames_get_an_error_frame_and_the_socket_stays_open(connect, frame, msg_part):
    client = await connect(await make_user("alice"))
    await client.send(frame)
    error = await client.frame()
    assert error["type"] == "error" and error["id"] == -1 and error["room_id"] == 0 and error["sender_id"] == 0
    assert error["payload"]["code"] == 400
    assert msg_part in error["payload"]["msg"]
    await client.send({"type": "ping"})
    assert (await client.frame())["type"] == "pong"


async def test_binary_frame_gets_an_error_frame(connect):
    client = await connect(await make_user("alice"))
    await client.ws.send_to(bytes_data=b"\x00\x01")
    assert (await client.frame())["payload"]["msg"].startswith("binary frames are not supported")


async def test_frame_over_64_kib_closes_1009(connect):
    client = await connect(await make_user("alice"))
    await client.send('{"type": "ping", "pad": "' + "x" * (64 * 1024) + '"}')
    assert await client.ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 1009}


# --- messages ---------------------------------------------------------------------------


async def test_message_reaches_members_and_the_sender_gets_chat_and_ack(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    a, b = await connect(alice), await connect(bob)
    sent = await send_text(alice, room_id, "hello", client_msg_id="c-1")
    expected_chat = {
        "id": sent["msgID"],
        "type": "chat",
        "room_id": room_id,
        "sender_id": alice.pk,
        "seq": 1,
        "created_at": sent["created_at"],
        "client_msg_id": "c-1",
        **FRESH_FIELDS,
        "payload": {"type": "text", "text": "hello"},
    }
    assert await b.frame() == expected_chat
    a_frames = [await a.frame(), await a.frame()]
    assert a_frames[0] == expected_chat
    assert a_frames[1] == {
        "id": sent["msgID"],
        "type": "ack",
        "room_id": room_id,
        "sender_id": 0,
        "seq": 1,
        "client_msg_id": "c-1",
        "payload": None,
    }


async def test_every_socket_of_a_user_receives_everything(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    phone, laptop = await connect(bob), await connect(bob)
    await send_text(alice, room_id, "to both")
    assert (await phone.frame())["payload"]["text"] == "to both"
    assert (await laptop.frame())["payload"]["text"] == "to both"


async def test_messages_arrive_in_seq_order(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    for i in range(20):
        await send_text(alice, room_id, f"m{i}")
    frames = [await b.frame() for _ in range(20)]
    assert [f["seq"] for f in frames] == list(range(1, 21))


async def test_owed_messages_come_in_batches_of_50_before_live_ones(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    for i in range(60):
        await send_text(alice, room_id, f"m{i}")
    b = await connect(bob)
    first, second = await b.frame(), await b.frame()
    assert first["type"] == second["type"] == "batch"
    assert (first["id"], first["room_id"], first["sender_id"]) == (-1, 0, 0)
    assert [f["seq"] for f in first["payload"]] == list(range(1, 51))
    assert [f["seq"] for f in second["payload"]] == list(range(51, 61))
    assert all(f["type"] == "chat" and f["room_id"] == room_id for f in first["payload"] + second["payload"])
    await send_text(alice, room_id, "live")
    live = await b.frame()
    assert (live["type"], live["seq"]) == ("chat", 61)


async def test_a_gap_in_pushes_is_filled_from_the_database_in_order(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    await send_text(alice, room_id, "one")
    assert (await b.frame())["seq"] == 1
    # Store seq 2 and 3 but lose the push of 2 (as if Redis dropped it): only 3 is pushed.
    from send import push

    original = push.message_publish
    push_calls: list[Any] = []

    def lossy(*, message, user_ids=None, resend=False, **kwargs):
        push_calls.append(message["seq"])
        if message["seq"] != 2:
            original(message=message, user_ids=user_ids, resend=resend, **kwargs)

    import send.services

    send.services.message_publish = lossy
    try:
        await send_text(alice, room_id, "two")
        await send_text(alice, room_id, "three")
    finally:
        send.services.message_publish = original
    assert push_calls == [2, 3]
    frames = await b.frames_until(lambda f: f["type"] == "batch" or f.get("seq") == 3)
    seqs = [f["seq"] for frame in frames for f in (frame["payload"] if frame["type"] == "batch" else [frame])]
    assert seqs == [2, 3]


async def test_a_lost_last_push_is_delivered_by_the_sweep(connect, settings):
    settings.DELIVERY_SWEEP_SECONDS = 0.2
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    import send.services

    original = send.services.message_publish
    send.services.message_publish = lambda **kwargs: None
    try:
        await send_text(alice, room_id, "lost push")
    finally:
        send.services.message_publish = original
    frame = await b.frame(timeout=3)
    assert frame["type"] == "batch" and frame["payload"][0]["payload"]["text"] == "lost push"


async def test_removed_member_stops_receiving_and_new_member_gets_only_later_messages(connect):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    room_id = await make_group(alice, bob)
    await send_text(alice, room_id, "before carol")
    await database_sync_to_async(meta_services.member_remove)(actor=alice, room_id=room_id, target_user_id=bob.pk)
    await database_sync_to_async(meta_services.member_add)(actor=alice, room_id=room_id, user_id=carol.pk)
    b, c = await connect(bob), await connect(carol)
    await send_text(alice, room_id, "after")
    frame = await c.frame()
    assert frame.get("type") == "chat", frame
    assert (frame["type"], frame["seq"], frame["payload"]["text"]) == ("chat", 2, "after")
    await b.nothing()


# --- confirmation -----------------------------------------------------------------------


@database_sync_to_async
def acked_seq(user: User, room_id: int) -> int:
    return Membership.objects.get(user=user, room_id=room_id).acked_seq


async def wait_for(predicate, timeout: float = 3) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_ack_mode_socket_gets_unconfirmed_messages_again_after_the_timeout(connect, settings):
    settings.DELIVERY_REDELIVERY_SECONDS = 0.3
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    await send_text(alice, room_id, "one")
    await send_text(alice, room_id, "two")
    one, two = await b.frame(), await b.frame()
    await b.send({"type": "ack", "id": one["id"]})
    again = await b.frame(timeout=2)
    assert again == two  # the same frame, same id: the client drops duplicates by id
    await b.send({"type": "ack", "room_id": room_id, "seq": 2})
    await b.nothing(0.6)
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 2))


async def _eq(awaitable, value) -> bool:
    return await awaitable == value


async def test_confirmed_messages_are_not_owed_on_reconnect_but_unconfirmed_ones_are(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    for text in ("one", "two", "three"):
        await send_text(alice, room_id, text)
    frames = [await b.frame() for _ in range(3)]
    await b.send({"type": "ack", "room_id": room_id, "seq": frames[1]["seq"]})
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 2))
    await b.close()
    again = await connect(bob, ack=True)
    batch = await again.frame()
    assert batch["type"] == "batch" and [f["seq"] for f in batch["payload"]] == [3]


async def test_socket_without_acks_confirms_by_being_written_to(connect, settings):
    settings.DELIVERY_REDELIVERY_SECONDS = 0.2
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=False)
    await send_text(alice, room_id, "one")
    assert (await b.frame())["seq"] == 1
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 1))
    await b.nothing(0.5)  # never re-sent


async def test_existing_client_that_never_sends_a_frame_settles_as_without_acks(connect, settings):
    settings.DELIVERY_REDELIVERY_SECONDS = 0.2
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    await send_text(alice, room_id, "one")
    assert (await b.frame())["seq"] == 1
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 1))
    await b.nothing(0.5)


# --- internal endpoints that reach sockets ---------------------------------------------


async def test_center_forward_writes_to_local_sockets(connect):
    alice = await make_user("alice")
    a = await connect(alice)
    frame = {"id": 2**53 - 1, "type": "notice", "room_id": 5, "sender_id": 0, "payload": {"event": "x"}}
    response = await post(None, "/center/forward", {"target_ids": [alice.pk, 999999], "frame": frame}, internal=True)
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "ok", "data": {"delivered": [alice.pk], "not_here": [999999]}}
    assert await a.frame() == frame


async def test_center_forward_accepts_the_original_flat_form(connect):
    alice = await make_user("alice")
    a = await connect(alice)
    body = {"id": 7, "type": "chat", "room_id": 3, "sender_id": 9, "target_ids": [alice.pk], "payload": {"t": 1}}
    response = await post(None, "/center/forward", body, internal=True)
    assert response.json()["data"] == {"delivered": [alice.pk], "not_here": []}
    assert await a.frame() == {"id": 7, "type": "chat", "room_id": 3, "sender_id": 9, "payload": {"t": 1}}


async def test_notify_online_delivers_what_is_owed(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    import send.services

    original = send.services.message_publish
    send.services.message_publish = lambda **kwargs: None
    try:
        await send_text(alice, room_id, "quiet")
    finally:
        send.services.message_publish = original
    response = await post(None, "/internal/push/notify_online", {"target_id": bob.pk}, internal=True)
    assert (response.status_code, response.json()) == (202, {"code": 0, "msg": "delivery scheduled"})
    frame = await b.frame()
    assert frame["type"] == "batch" and frame["payload"][0]["payload"]["text"] == "quiet"


async def test_resend_delivers_the_same_message_again_to_unconfirmed_members(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    sent = await send_text(alice, room_id, "again")
    first = await b.frame()
    response = await post(alice, "/api/chat/resend_message", {"message_id": sent["msgID"]})
    assert response.json() == {"code": 0, "msg": "message resent", "data": {"msgID": sent["msgID"]}}
    assert await b.frame() == first


async def test_engine_counts_nothing_lost_under_a_burst(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    await asyncio.gather(*(send_text(alice, room_id, f"m{i}") for i in range(30)))
    frames = await b.frames_until(lambda f: False if f.get("seq") != 30 else True, timeout=5)
    seqs = [f["seq"] for frame in frames for f in (frame["payload"] if frame["type"] == "batch" else [frame])]
    assert seqs == list(range(1, 31))
    assert await database_sync_to_async(Message.objects.filter(room_id=room_id).count)() == 30
    assert delivery_engine().events_received >= 1


async def test_a_process_that_is_not_a_gateway_refuses_sockets_with_1013(connect, not_a_gateway):
    await connect(await make_user("alice"), expect_close=1013)


async def test_what_a_socket_confirmed_is_not_owed_after_an_immediate_reconnect(connect, settings):
    settings.DELIVERY_CONFIRM_FLUSH_SECONDS = 3600  # only the disconnect writes confirmations
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    await send_text(alice, room_id, "one")
    await send_text(alice, room_id, "two")
    await b.frame()
    await b.frame()
    await b.send({"type": "ack", "room_id": room_id, "seq": 1})
    await b.send({"type": "ping"})
    assert (await b.frame())["type"] == "pong"  # the ack was handled before the ping
    await b.close()
    again = await connect(bob, ack=True)
    batch = await again.frame()
    assert [f["seq"] for f in batch["payload"]] == [2]


@pytest.mark.parametrize("device_id", ["", "has%20space", "x" * 65])
async def test_a_malformed_device_id_closes_4400(connect, device_id):
    await connect(await make_user("alice"), device_id=device_id, expect_close=4400)


async def test_a_device_socket_is_owed_what_another_device_confirmed(connect, settings):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    phone = await connect(bob, device_id="phone")  # seen once: its positions start now
    await phone.close()
    laptop = await connect(bob, device_id="laptop", ack=False)
    await send_text(alice, room_id, "one")
    assert (await laptop.frame())["seq"] == 1
    await wait_for(lambda: _acked_is(bob, room_id, 1))
    await laptop.close()
    plain = await connect(bob)  # the user's position: nothing owed
    await plain.nothing()
    phone = await connect(bob, device_id="phone")
    batch = await phone.frame()
    assert batch["type"] == "batch" and [f["seq"] for f in batch["payload"]] == [1]


async def _acked_is(user, room_id, seq):
    return await acked_seq(user, room_id) == seq
