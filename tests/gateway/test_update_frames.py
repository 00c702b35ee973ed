"""Update frames on real sockets (API.md §7.1): live to every member in seq order with the
messages, without the message for members who may not see it, owed and synced in `batch`
frames after a reconnect showing every message as it is now, confirmed by the same acks, and
harmless to the original clients, which may ignore them."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from meta import services as meta_services
from send import push
from tests.gateway.test_consumer import _eq, acked_seq, make_group, make_user, post, send_text, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


async def update(user: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await post(user, path, body)
    assert response.status_code == 200, response.json()
    return response.json()["data"]


async def react(user: Any, message_id: int, key: str, on: bool = True) -> dict[str, Any]:
    return await update(user, "/api/chat/react", {"message_id": message_id, "key": key, "on": on})


async def edit(user: Any, message_id: int, text: str) -> dict[str, Any]:
    return await update(
        user, "/api/chat/edit_message", {"message_id": message_id, "content": {"type": "text", "text": text}}
    )


def unpacked(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for frame in frames:
        out.extend(frame["payload"] if frame["type"] == "batch" else [frame])
    return out


async def test_a_live_update_reaches_every_member_in_seq_order_with_messages(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    a, b = await connect(alice), await connect(bob)
    first = await send_text(alice, room_id, "hello")
    reacted = await react(bob, first["msgID"], "👋")
    await send_text(bob, room_id, "hi")
    edited = await edit(alice, first["msgID"], "hello there")
    for client in (a, b):
        frames = await client.frames_until(lambda f: f.get("seq") == 4)
        timeline = [f for f in frames if f["type"] in {"chat", "update"}]
        assert [(f["seq"], f["type"]) for f in timeline] == [(1, "chat"), (2, "update"), (3, "chat"), (4, "update")]
        live_reaction, live_edit = timeline[1], timeline[3]
        assert live_reaction["id"] == first["msgID"] and live_reaction["sender_id"] == bob.pk
        assert live_reaction["payload"] == {
            "event": "reaction",
            "key": "👋",
            "user_id": bob.pk,
            "on": True,
            "message": reacted["message"],
        }
        # A live frame shows the message right after its update: the reaction frame has the
        # old text, the edit frame the new one.
        assert live_reaction["payload"]["message"]["content"]["text"] == "hello"
        assert live_edit["payload"] == {"event": "edit", "message": edited["message"]}
    # Updates have no ack frame: the actor has the HTTP reply.
    await a.nothing()


async def test_a_member_who_joined_after_the_message_gets_the_update_without_it(connect):
    alice, bob, carol = await make_user("alice"), await make_user("bob"), await make_user("carol")
    room_id = await make_group(alice, bob)
    first = await send_text(alice, room_id, "before carol")
    await database_sync_to_async(meta_services.member_add)(actor=alice, room_id=room_id, user_id=carol.pk)
    b, c = await connect(bob), await connect(carol)
    await react(bob, first["msgID"], "👍")
    seen_by_carol = await c.frame()
    seen_by_bob = (await b.frames_until(lambda f: f.get("seq") == 2))[-1]  # after a batch of what he was owed
    assert seen_by_carol["seq"] == seen_by_bob["seq"] == 2
    assert seen_by_carol["payload"] == {
        "event": "reaction",
        "key": "👍",
        "user_id": bob.pk,
        "on": True,
        "message": None,
    }
    assert seen_by_bob["payload"]["message"]["id"] == first["msgID"]
    # Carol keeps her seq without a gap: the next message follows at once.
    await send_text(alice, room_id, "for carol too")
    assert (await c.frame())["seq"] == 3


async def test_after_a_reconnect_messages_and_updates_come_in_order_as_they_are_now(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    first = await send_text(alice, room_id, "draft")
    assert (await b.frame())["seq"] == 1
    await b.send({"type": "ack", "room_id": room_id, "seq": 1})
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 1))
    await b.close()
    # While bob is away: an edit, a message, a reaction, a delete, a pin.
    await edit(alice, first["msgID"], "final")
    second = await send_text(alice, room_id, "second")
    await react(alice, second["msgID"], "✅")
    await update(alice, "/api/chat/delete_message", {"message_id": first["msgID"]})
    await update(alice, "/api/chat/pin", {"message_id": second["msgID"]})
    again = await connect(bob, ack=True)
    batch = await again.frame()
    assert batch["type"] == "batch"
    owed = batch["payload"]
    assert [(f["seq"], f["type"], f["id"]) for f in owed] == [
        (2, "update", first["msgID"]),
        (3, "chat", second["msgID"]),
        (4, "update", second["msgID"]),
        (5, "update", first["msgID"]),
        (6, "update", second["msgID"]),
    ]
    # Served later: every message as it is now. The deleted one's content never comes back.
    assert owed[0]["payload"]["event"] == "edit" and owed[0]["payload"]["message"]["content"] is None
    assert owed[0]["payload"]["message"]["deleted"] is True
    assert owed[1]["pinned"] is True and owed[1]["reactions"][0]["key"] == "✅"
    assert owed[3]["payload"] == {"event": "delete", "by": alice.pk, "message": owed[0]["payload"]["message"]}
    assert "draft" not in repr(owed) and "final" not in repr(owed)
    # One cumulative ack confirms messages and updates alike.
    await again.send({"type": "ack", "room_id": room_id, "seq": 6})
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 6))


async def test_an_update_frame_is_confirmed_by_its_id_and_seq_and_redelivered_until_then(connect, settings):
    settings.DELIVERY_REDELIVERY_SECONDS = 0.3
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=True)
    first = await send_text(alice, room_id, "one")
    chat = await b.frame()
    await b.send({"type": "ack", "id": chat["id"]})
    await react(alice, first["msgID"], "👍")
    frame = await b.frame()
    assert (frame["type"], frame["seq"]) == ("update", 2)
    # An ack of the message id alone confirms its chat frame only: the update comes again.
    await b.send({"type": "ack", "id": first["msgID"]})
    assert await b.frame(timeout=2) == frame
    await b.send({"type": "ack", "id": first["msgID"], "seq": 2})
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 2))
    await b.nothing(0.6)


async def test_an_original_client_gets_chat_frames_as_before_and_update_frames_it_may_ignore(connect):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob, ack=False)
    first = await send_text(alice, room_id, "plain")
    chat = await b.frame()
    old_fields = {"id", "type", "room_id", "sender_id", "seq", "created_at", "client_msg_id", "payload"}
    assert old_fields <= set(chat)
    assert {k: chat[k] for k in old_fields} == {
        "id": first["msgID"],
        "type": "chat",
        "room_id": room_id,
        "sender_id": alice.pk,
        "seq": 1,
        "created_at": first["created_at"],
        "client_msg_id": None,
        "payload": {"type": "text", "text": "plain"},
    }
    await react(alice, first["msgID"], "👍")
    ignored = await b.frame()
    assert ignored["type"] == "update" and {"id", "type", "room_id", "sender_id", "payload"} <= set(ignored)
    await send_text(alice, room_id, "after")
    assert (await b.frame())["payload"] == {"type": "text", "text": "after"}
    # Confirmed by being written to, updates included.
    await wait_for(lambda: _eq(acked_seq(bob, room_id), 3))


async def test_a_lost_update_push_is_filled_in_order_before_the_next_message(connect, monkeypatch):
    alice, bob = await make_user("alice"), await make_user("bob")
    room_id = await make_group(alice, bob)
    b = await connect(bob)
    first = await send_text(alice, room_id, "one")
    assert (await b.frame())["seq"] == 1
    monkeypatch.setattr("send.updates.update_publish", lambda **kwargs: None)  # the push is lost
    await react(alice, first["msgID"], "👍")
    monkeypatch.setattr("send.updates.update_publish", push.update_publish)
    await send_text(alice, room_id, "two")
    frames = unpacked(await b.frames_until(lambda f: f["type"] == "batch" or f.get("seq") == 3))
    assert [(f["seq"], f["type"]) for f in frames][-2:] == [(2, "update"), (3, "chat")]
