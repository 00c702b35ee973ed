"""Real replies of the timeline's endpoints (API.md §7.1, §8) have exactly the documented shape:
the extended message object (a deleted one included), update replies, events with both kinds
of frame, search and pins, and their documented errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from meta.models import User
from meta.services import member_add
from tests.apidocs.conftest import Schema
from tests.apidocs.test_replies import Conforms, _call

pytestmark = pytest.mark.django_db

JWT = [{"jwtAuth": []}]
TIMELINE_OPERATIONS = {
    ("post", "/api/chat/edit_message"),
    ("post", "/api/chat/delete_message"),
    ("post", "/api/chat/react"),
    ("post", "/api/chat/pin"),
    ("get", "/api/chat/pins"),
    ("get", "/api/chat/events"),
    ("get", "/api/chat/search"),
}


def test_the_timeline_endpoints_are_documented_with_jwt(schema: Schema) -> None:
    for method, path in TIMELINE_OPERATIONS:
        operation = schema["paths"][path][method]
        assert operation["security"] == JWT, path
        assert operation["tags"] == ["send"]
        assert {"200", "401", "404"} <= set(operation["responses"]), path
    message = schema["components"]["schemas"]["Message"]
    assert {"reply_to", "mentions", "mention_all", "edited_at", "deleted", "reactions", "pinned"} <= set(
        message["required"]
    )
    send_input = schema["components"]["schemas"]["SendMessageInput"]["properties"]
    assert send_input["mentions"]["maxItems"] == 50
    assert {"reply_to", "mention_all"} <= set(send_input)


def test_timeline_replies_are_as_documented(
    conforms: Conforms, client_for: Callable[[User], APIClient], make_user: Callable[..., User]
) -> None:
    alice, bob, carol, eve = make_user("alice"), make_user("bob"), make_user("carol"), make_user("eve")
    as_alice, as_bob, as_carol, as_eve = (client_for(u) for u in (alice, bob, carol, eve))
    room_id = _call(
        as_alice, conforms, "POST", "/api/chat/group/create", {"name": "t", "is_group": True, "member_ids": [bob.pk]}
    )["data"]["room_id"]

    def send_text(client: APIClient, body: str, **extra: Any) -> int:
        data = {"room_id": room_id, "content": {"type": "text", "text": body}, **extra}
        return _call(client, conforms, "POST", "/api/chat/send_message", data)["data"]["msgID"]

    first = send_text(as_alice, "hello world")
    second = send_text(as_bob, "hello again", reply_to=first, mentions=[alice.pk])
    third = send_text(as_alice, "to be deleted", mention_all=True)
    edit_body = {"message_id": first, "content": {"type": "text", "text": "hello, world"}}
    assert _call(as_alice, conforms, "POST", "/api/chat/edit_message", edit_body)["data"]["seq"] == 4
    assert _call(as_alice, conforms, "POST", "/api/chat/edit_message", edit_body)["data"]["seq"] is None
    _call(as_bob, conforms, "POST", "/api/chat/react", {"message_id": second, "key": "👍"})
    _call(as_alice, conforms, "POST", "/api/chat/pin", {"message_id": second})
    deleted = _call(as_alice, conforms, "POST", "/api/chat/delete_message", {"message_id": third})["data"]
    assert deleted["message"]["content"] is None
    member_add(actor=alice, room_id=room_id, user_id=carol.pk)
    _call(as_bob, conforms, "POST", "/api/chat/react", {"message_id": first, "key": "🎉"})

    history = _call(as_bob, conforms, "GET", "/api/chat/messages", room_id=room_id)["data"]["messages"]
    assert [m["deleted"] for m in history] == [False, False, True]
    events = _call(as_bob, conforms, "GET", "/api/chat/events", room_id=room_id, after_seq=0, limit=50)["data"]
    assert {e["type"] for e in events["events"]} == {"chat", "update"}
    hidden = _call(as_carol, conforms, "GET", "/api/chat/events", room_id=room_id)["data"]["events"]
    assert hidden[0]["payload"]["message"] is None  # the frame of a message carol cannot see
    found = _call(as_bob, conforms, "GET", "/api/chat/search", q="hello", room_id=room_id)["data"]
    assert len(found["messages"]) == 2
    pins = _call(as_bob, conforms, "GET", "/api/chat/pins", room_id=room_id)["data"]["messages"]
    assert [m["id"] for m in pins] == [second]

    # Errors: each a documented status of its operation.
    _call(as_bob, conforms, "POST", "/api/chat/edit_message", edit_body)  # 403: not the sender
    _call(as_eve, conforms, "POST", "/api/chat/edit_message", edit_body)  # 404: not a member
    _call(as_alice, conforms, "POST", "/api/chat/edit_message", {"message_id": third, "content": edit_body["content"]})
    _call(as_bob, conforms, "POST", "/api/chat/delete_message", {"message_id": first})  # 403
    _call(as_bob, conforms, "POST", "/api/chat/react", {"message_id": third, "key": "👍"})  # 409: deleted
    _call(as_bob, conforms, "POST", "/api/chat/react", {"message_id": first, "key": "no spaces"})  # 400
    _call(as_bob, conforms, "POST", "/api/chat/pin", {"message_id": first})  # 403
    _call(as_alice, conforms, "POST", "/api/chat/pin", {"message_id": third})  # 409
    _call(as_eve, conforms, "GET", "/api/chat/pins", room_id=room_id)  # 403
    _call(as_eve, conforms, "GET", "/api/chat/events", room_id=987654)  # 404
    _call(as_eve, conforms, "GET", "/api/chat/search", q="hello", room_id=room_id)  # 403
    _call(as_eve, conforms, "GET", "/api/chat/search", q="")  # 400
    _call(
        as_alice,
        conforms,
        "POST",
        "/api/chat/send_message",
        {"room_id": room_id, "content": {"type": "text", "text": "x"}, "reply_to": 987654},
    )  # 404
