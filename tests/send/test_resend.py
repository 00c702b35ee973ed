"""POST /api/chat/resend_message: the sender only; again to the members of the moment who have
not confirmed the message, never to later joiners."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from chatproject.bus import gateway_channel
from meta.models import Membership, User
from meta.services import member_add
from registry.services import gateway_register, user_connect
from send.models import Message
from send.representation import message_object
from send.services import message_send
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import FRESH_FIELDS, RESEND, Group, assert_error, assert_ok, post_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def record(*, message: Any, user_ids: Any, resend: bool = False, **_: Any) -> None:
        calls.append({"message": message, "user_ids": sorted(user_ids), "resend": resend})

    monkeypatch.setattr("send.services.message_publish", record)
    return calls


def _sent(group: Group, sender: User | None = None) -> Message:
    obj = message_send(sender=sender or group.alice, room_id=group.room.pk, content=text("again"))
    return Message.objects.get(pk=obj["id"])


def test_the_sender_may_resend(group: Group, published: list[dict[str, Any]]) -> None:
    message = _sent(group)
    response = post_json(group.client(group.alice), RESEND, {"message_id": message.pk})
    assert assert_ok(response) == {"code": 0, "msg": "message resent", "data": {"msgID": message.pk}}
    assert Message.objects.count() == 1
    assert published == [{"message": message_object(message), "user_ids": sorted(group.member_ids), "resend": True}]


@pytest.mark.parametrize("who", ["bob", "owner", "outsider"])
def test_anyone_but_the_sender_is_403(group: Group, published: list[dict[str, Any]], who: str) -> None:
    message = _sent(group)
    response = post_json(group.client(getattr(group, who)), RESEND, {"message_id": message.pk})
    assert_error(response, 403, "only the sender of a message may resend it")
    assert published == []


def test_unknown_message_is_404(group: Group, published: list[dict[str, Any]]) -> None:
    message = _sent(group)
    missing = message.pk + 100
    response = post_json(group.client(group.alice), RESEND, {"message_id": missing})
    assert_error(response, 404, f"message {missing} does not exist")
    assert published == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({}, "This field is required.", id="missing"),
        pytest.param({"message_id": "1"}, "must be an integer id", id="string"),
        pytest.param({"message_id": 1.0}, "must be an integer id", id="float"),
        pytest.param({"message_id": True}, "must be an integer id", id="bool"),
        pytest.param({"message_id": 0}, "must be an id from 1 to 9007199254740991", id="zero"),
        pytest.param({"message_id": 2**53}, "must be an id from 1 to 9007199254740991", id="2^53"),
    ],
)
def test_bad_message_id_is_400(group: Group, body: dict[str, Any], reason: str) -> None:
    response = post_json(group.client(group.alice), RESEND, body)
    assert_error(response, 400, f"message_id: {reason}", errors={"message_id": [reason]})


def test_no_token_is_401(group: Group, api: APIClient) -> None:
    message = _sent(group)
    assert_error(post_json(api, RESEND, {"message_id": message.pk}), 401, MISSING_TOKEN_MSG)


def test_resend_goes_to_members_of_the_moment_who_have_not_confirmed(
    group: Group,
    published: list[dict[str, Any]],
    make_user: Callable[..., User],
) -> None:
    first = _sent(group)  # seq 1
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)  # joined_seq 1
    second = _sent(group)  # seq 2
    dave = make_user("dave")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=dave.pk)  # joined_seq 2
    Membership.objects.filter(room=group.room, user=group.bob).update(acked_seq=1)
    Membership.objects.filter(room=group.room, user=group.owner).update(acked_seq=2)

    for message in (first, second):
        assert_ok(post_json(group.client(group.alice), RESEND, {"message_id": message.pk}), {"msgID": message.pk})
    assert published == [
        # seq 1: bob and the owner confirmed it, carol and dave joined after it.
        {"message": message_object(first), "user_ids": [group.alice.pk], "resend": True},
        # seq 2: bob confirmed only seq 1, carol was there; dave joined after it.
        {
            "message": message_object(second),
            "user_ids": sorted([group.alice.pk, group.bob.pk, carol.pk]),
            "resend": True,
        },
    ]
    assert Message.objects.count() == 2


def test_resend_reaches_the_gateways_without_an_ack_frame(group: Group) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    message = _sent(group)
    gateway_register(gateway_id="gw-r", address="127.0.0.1", port=8084)
    user_connect(user_id=group.bob.pk, gateway_id="gw-r", connection_id="c1")
    before_ms = int(time.time() * 1000)
    assert_ok(post_json(group.client(group.alice), RESEND, {"message_id": message.pk}), {"msgID": message.pk})
    after_ms = int(time.time() * 1000)
    event = async_to_sync(layer.receive)(gateway_channel("gw-r"))
    # A resend's delivery latency is measured from the resend, not from the message's creation.
    assert before_ms <= event.pop("sent_at_ms") <= after_ms
    assert {**event, "frame": json.loads(event["frame"])} == {
        "type": "deliver",
        "users": [group.bob.pk],
        "room_id": group.room.pk,
        "seq": 1,
        "msg_id": message.pk,
        "sender_id": group.alice.pk,
        "frame": {
            "id": message.pk,
            "type": "chat",
            "room_id": group.room.pk,
            "sender_id": group.alice.pk,
            "seq": 1,
            "created_at": message_object(message)["created_at"],
            "client_msg_id": None,
            **FRESH_FIELDS,
            "payload": {"type": "text", "text": "again"},
        },
        "ack": None,
        "resend": True,
    }
    async_to_sync(layer.flush)()
