"""Publishing of `send_message` after commit: once per stored message, to its room's members (found
with their gateways after commit), never on an idempotent repeat or an error; and the events
that reach the gateways' channels."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from chatproject.bus import gateway_channel
from meta.models import Membership
from registry.services import gateway_register, user_connect
from send.models import Message
from tests.send.conftest import FRESH_FIELDS, Group, assert_ok, send, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call of `message_publish` made by the send service, in order."""
    calls: list[dict[str, Any]] = []

    def record(*, message: Any, user_ids: Any = None, resend: bool = False, **_: Any) -> None:
        calls.append({"message": message, "user_ids": None if user_ids is None else sorted(user_ids), "resend": resend})

    monkeypatch.setattr("send.services.message_publish", record)
    return calls


def test_a_stored_message_is_published_once_to_all_members_after_commit(
    group: Group, published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        data = assert_ok(send(group.client(group.alice), group.room.pk, text("hi"), client_msg_id="m1"))["data"]
    assert published == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()
    message = Message.objects.get()
    assert published == [
        {
            "message": {
                "id": data["msgID"],
                "room_id": group.room.pk,
                "sender_id": group.alice.pk,
                "seq": 1,
                "client_msg_id": "m1",
                "created_at": data["created_at"],
                "content": {"type": "text", "text": "hi"},
                **FRESH_FIELDS,
            },
            "user_ids": None,  # the room's members, with their gateways, after commit
            "resend": False,
        }
    ]
    assert message.pk == data["msgID"]


def test_the_push_goes_to_the_members_online_and_no_one_else(
    group: Group, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    Membership.objects.filter(room=group.room, user=group.bob).delete()
    gateway_register(gateway_id="gw-a", address="127.0.0.1", port=8084)
    for n, user in enumerate([group.owner, group.alice, group.bob, group.outsider]):
        user_connect(user_id=user.pk, gateway_id="gw-a", connection_id=f"c{n}")
    with django_capture_on_commit_callbacks(execute=True):
        assert_ok(send(group.client(group.owner), group.room.pk))
    event = async_to_sync(layer.receive)(gateway_channel("gw-a"))
    assert event["users"] == sorted([group.owner.pk, group.alice.pk])
    async_to_sync(layer.flush)()


def test_an_idempotent_repeat_publishes_nothing(
    group: Group, published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id="once"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id="once"))
    assert callbacks == []
    assert len(published) == 1


@pytest.mark.parametrize(
    ("who", "room", "content", "status"),
    [
        pytest.param("outsider", "room", text(), 403, id="not-a-member"),
        pytest.param("alice", "missing", text(), 404, id="unknown-room"),
        pytest.param("alice", "room", {"type": "text", "text": ""}, 400, id="bad-content"),
    ],
)
def test_an_error_publishes_nothing(
    group: Group,
    published: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Callable[..., Any],
    who: str,
    room: str,
    content: dict[str, Any],
    status: int,
) -> None:
    room_id = group.room.pk if room == "room" else group.room.pk + 100
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = send(group.client(getattr(group, who)), room_id, content)
    assert response.status_code == status
    assert callbacks == []
    assert published == []


def test_muted_sender_publishes_nothing(
    group: Group, published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    until = timezone.now() + timedelta(hours=1)
    Membership.objects.filter(room=group.room, user=group.alice).update(muted_until=until)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = send(group.client(group.alice), group.room.pk)
    assert response.status_code == 403
    assert (callbacks, published) == ([], [])


def test_events_reach_the_channel_of_each_gateway_holding_a_member(
    group: Group, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """The real push path: routes from the registry, one `deliver` event per gateway."""
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    gateway_register(gateway_id="gw-a", address="127.0.0.1", port=8084)
    gateway_register(gateway_id="gw-b", address="127.0.0.1", port=8085)
    user_connect(user_id=group.alice.pk, gateway_id="gw-a", connection_id="c1")
    user_connect(user_id=group.bob.pk, gateway_id="gw-a", connection_id="c2")
    user_connect(user_id=group.bob.pk, gateway_id="gw-b", connection_id="c3")
    user_connect(user_id=group.outsider.pk, gateway_id="gw-b", connection_id="c4")
    # The owner is offline: the message stays owed to them in the database.
    with django_capture_on_commit_callbacks(execute=True):
        data = assert_ok(send(group.client(group.alice), group.room.pk, text("big"), client_msg_id="k"))["data"]
    chat = {
        "id": data["msgID"],
        "type": "chat",
        "room_id": group.room.pk,
        "sender_id": group.alice.pk,
        "seq": 1,
        "created_at": data["created_at"],
        "client_msg_id": "k",
        **FRESH_FIELDS,
        "payload": {"type": "text", "text": "big"},
    }
    ack = {
        "id": data["msgID"],
        "type": "ack",
        "room_id": group.room.pk,
        "sender_id": 0,
        "seq": 1,
        "client_msg_id": "k",
        "payload": None,
    }

    def expected(users: list[int]) -> dict[str, Any]:
        return {
            "type": "deliver",
            "users": users,
            "room_id": group.room.pk,
            "seq": 1,
            "msg_id": data["msgID"],
            "sender_id": group.alice.pk,
            "frame": chat,
            "ack": ack,
            "resend": False,
            # The gateways measure delivery latency from the moment the message was stored.
            "sent_at_ms": int(datetime.fromisoformat(data["created_at"]).timestamp() * 1000),
        }

    received = {}
    for gateway_id in ("gw-a", "gw-b"):
        event = dict(async_to_sync(layer.receive)(gateway_channel(gateway_id)))
        event["frame"] = json.loads(event["frame"])
        event["ack"] = json.loads(event["ack"])
        received[gateway_id] = event
    assert received == {
        "gw-a": expected(sorted([group.alice.pk, group.bob.pk])),
        "gw-b": expected([group.bob.pk]),
    }
    async_to_sync(layer.flush)()


def test_an_unroutable_push_does_not_fail_the_send(
    group: Group, django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lost push is logged, never raised: the message is stored and the sweep delivers it."""

    class BrokenLayer:
        async def send(self, channel: str, message: dict[str, Any]) -> None:
            raise ConnectionError("redis is down")

    monkeypatch.setattr("chatproject.bus.get_channel_layer", lambda: BrokenLayer())
    gateway_register(gateway_id="gw-a", address="127.0.0.1", port=8084)
    user_connect(user_id=group.bob.pk, gateway_id="gw-a", connection_id="c1")
    with django_capture_on_commit_callbacks(execute=True):
        response = send(group.client(group.alice), group.room.pk)
    assert_ok(response)
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_confirmations_of_a_fan_out_are_one_update_per_room_and_seq(django_assert_num_queries):
    from django.db import connection

    from meta.models import Membership, Room
    from meta.models import User as UserModel
    from send.positions import confirmations_record

    owner = UserModel.objects.create_user(username="owner9", password="x" * 8)
    members = [UserModel.objects.create_user(username=f"reader{i}", password="x" * 8) for i in range(20)]
    room = Room.objects.create(name="r", is_group=True, creator=owner, last_seq=7)
    Membership.objects.bulk_create([Membership(room=room, user=u) for u in [owner, *members]])
    confirmed = {(u.pk, room.pk): 7 for u in members} | {(owner.pk, room.pk): 5}
    # a transaction (savepoint in tests) and one UPDATE per distinct (room, seq); one for all on PostgreSQL
    with django_assert_num_queries(3 if connection.vendor == "postgresql" else 4):
        assert confirmations_record(confirmed=confirmed) == 21
    assert set(Membership.objects.filter(user__in=members).values_list("acked_seq", flat=True)) == {7}
    assert Membership.objects.get(user=owner).acked_seq == 5
    assert confirmations_record(confirmed={(owner.pk, room.pk): 3}) == 0  # never lowered
    assert Membership.objects.get(user=owner).acked_seq == 5


@pytest.mark.django_db
def test_confirmations_in_many_rooms_at_many_seqs_raise_each_position_and_lower_none(django_assert_max_num_queries):
    from meta.models import Membership, Room
    from meta.models import User as UserModel
    from send.positions import confirmations_record

    owner = UserModel.objects.create_user(username="owner10", password="x" * 8)
    users = [UserModel.objects.create_user(username=f"back{i}", password="x" * 8) for i in range(6)]
    rooms = [Room.objects.create(name=f"r{n}", is_group=True, creator=owner, last_seq=50) for n in range(5)]
    Membership.objects.bulk_create([Membership(room=r, user=u, acked_seq=10) for r in rooms for u in users])
    # Every (user, room) at its own seq, some below what is stored.
    confirmed = {(u.pk, r.pk): 5 + 3 * i + j for i, u in enumerate(users) for j, r in enumerate(rooms)}
    with django_assert_max_num_queries(40):
        changed = confirmations_record(confirmed=confirmed)
    assert changed == sum(1 for seq in confirmed.values() if seq > 10)
    stored = {(m.user_id, m.room_id): m.acked_seq for m in Membership.objects.filter(user__in=users)}
    assert stored == {key: max(10, seq) for key, seq in confirmed.items()}
    assert confirmations_record(confirmed={}) == 0
