"""Real replies of every endpoint have exactly the shape the schema documents: the envelope,
`data` field for field (no undocumented field, none missing), and documented error statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from meta.models import User
from tests.apidocs.conftest import Schema

Conforms = Callable[[Response, str, str], dict[str, Any]]
pytestmark = pytest.mark.django_db


def _call(client: APIClient, conforms: Conforms, method: str, path: str, body: Any = None, **query: Any) -> Any:
    """Call `path` (concrete, e.g. with an id) and check the reply against the documented
    operation `path` names, or the template given as `template=`."""
    template = query.pop("template", path)
    if method == "GET":
        response = client.get(path, query)
    else:
        data = "" if body is None else json.dumps(body)
        response = client.generic(method, path, data=data, content_type="application/json")
    return conforms(response, method, template)


def test_meta_replies_are_as_documented(
    api: APIClient, conforms: Conforms, client_for: Callable[[User], APIClient], make_user: Callable[..., User]
) -> None:
    registered = _call(api, conforms, "POST", "/register", {"username": "alice", "password": "secret123"})
    assert registered["data"]["username"] == "alice"
    login = _call(api, conforms, "POST", "/login", {"username": "alice", "password": "secret123"})["data"]
    _call(api, conforms, "POST", "/api/token/refresh", {"refresh": login["refresh"]})
    alice = User.objects.get(username="alice")
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    as_alice, as_carol = client_for(alice), client_for(carol)

    group = _call(
        as_alice, conforms, "POST", "/api/chat/group/create", {"name": "team", "is_group": True, "member_ids": []}
    )["data"]["room_id"]
    strict = _call(
        as_alice,
        conforms,
        "POST",
        "/api/chat/group/create",
        {"name": "club", "is_group": True, "member_ids": [], "join_policy": "approval"},
    )["data"]["room_id"]
    _call(as_alice, conforms, "POST", "/api/chat/group/add_member", {"room_id": group, "member_id": bob.pk})
    added = _call(
        as_alice, conforms, "POST", "/api/chat/group/add_members", {"room_id": group, "member_ids": [bob.pk, dave.pk]}
    )
    assert added["data"] == {"added": [dave.pk], "already_members": [bob.pk]}
    _call(as_carol, conforms, "POST", "/api/chat/group/join", {"room_id": group})
    _call(as_carol, conforms, "POST", "/api/chat/group/join/request", {"room_id": strict, "message": "hi"})
    requests = _call(as_alice, conforms, "GET", "/api/chat/group/join/requests", room_id=strict)["data"]["requests"]
    assert [r["username"] for r in requests] == ["carol"]
    _call(
        as_alice, conforms, "POST", "/api/chat/group/join/respond", {"request_id": requests[0]["id"], "approve": True}
    )
    _call(as_alice, conforms, "POST", "/api/chat/group/change_nickname", {"room_id": group, "nickname": "boss"})
    _call(
        as_alice,
        conforms,
        "POST",
        "/api/chat/group/change_member_role",
        {"room_id": group, "target_user_id": bob.pk, "new_role": 1},
    )
    _call(as_alice, conforms, "POST", "/api/chat/group/remove_member", {"room_id": group, "target_user_id": dave.pk})
    found = _call(as_carol, conforms, "GET", "/api/chat/group/search", q="tea")["data"]
    assert [room["name"] for room in found["rooms"]] == ["team"]
    joined = _call(as_carol, conforms, "GET", "/api/joined_rooms")["data"]
    assert sorted(joined["room_ids"]) == sorted([group, strict])
    members = _call(as_alice, conforms, "GET", "/api/chat/group/members", room_id=group)["data"]["members"]
    assert {m["username"] for m in members} == {"alice", "bob", "carol"}

    # Errors, each a documented status of its operation and in the error envelope.
    _call(api, conforms, "POST", "/register", {"username": "ALICE", "password": "secret123"})  # 409
    _call(api, conforms, "POST", "/login", {"username": "alice", "password": "wrong-one"})  # 401
    _call(api, conforms, "GET", "/api/joined_rooms")  # 401
    _call(as_carol, conforms, "POST", "/api/chat/group/add_member", {"room_id": group, "member_id": dave.pk})  # 403
    _call(as_alice, conforms, "POST", "/api/chat/group/join", {"room_id": 987654})  # 404
    _call(as_alice, conforms, "POST", "/api/chat/group/create", {"name": "x", "member_ids": "bob"})  # 400 + errors
    response = as_alice.post("/api/chat/group/create", "name=x", content_type="text/plain")  # 415
    conforms(response, "POST", "/api/chat/group/create")


def test_send_replies_are_as_documented(
    api: APIClient,
    conforms: Conforms,
    internal_api: APIClient,
    client_for: Callable[[User], APIClient],
    make_user: Callable[..., User],
) -> None:
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    as_alice = client_for(alice)
    room = _call(as_alice, conforms, "POST", "/api/chat/group/create", {"name": "dm", "member_ids": [bob.pk]})
    room_id = room["data"]["room_id"]
    contents = [
        {"type": "text", "text": "hello"},
        {"type": "image", "url": "https://example.com/a.png", "width": 10, "height": 20},
        {"type": "voice", "url": "https://example.com/a.ogg", "duration": 1.5},
        {"type": "file", "url": "https://example.com/a.pdf", "file_name": "a.pdf", "size": 3},
    ]
    sent = [
        _call(as_alice, conforms, "POST", "/api/chat/send_message", {"room_id": room_id, "content": c})
        for c in contents
    ]
    _call(
        as_alice,
        conforms,
        "POST",
        "/api/chat/send_message",
        {"room_id": room_id, "content": contents[0], "client_msg_id": "c-1"},
    )
    _call(as_alice, conforms, "POST", "/api/chat/resend_message", {"message_id": sent[0]["data"]["msgID"]})
    history = _call(client_for(bob), conforms, "GET", "/api/chat/messages", room_id=room_id, limit=3)["data"]
    assert [m["content"]["type"] for m in history["messages"]] == ["voice", "file", "text"]
    assert history["has_more"] is True
    _call(internal_api, conforms, "POST", "/internal/pushback", {"target_id": bob.pk, "forward_req": {"type": "chat"}})
    accepted = internal_api.post("/internal/push/notify_online", {"target_id": bob.pk}, format="json")
    assert accepted.status_code == 202
    conforms(accepted, "POST", "/internal/push/notify_online")

    _call(client_for(eve), conforms, "POST", "/api/chat/send_message", {"room_id": room_id, "content": contents[0]})
    _call(as_alice, conforms, "POST", "/api/chat/send_message", {"room_id": room_id, "content": {"type": "gif"}})
    _call(client_for(bob), conforms, "POST", "/api/chat/resend_message", {"message_id": sent[0]["data"]["msgID"]})
    _call(api, conforms, "POST", "/internal/pushback", {"target_id": bob.pk, "forward_req": {"type": "chat"}})  # 401
    wrong = APIClient()
    wrong.credentials(HTTP_X_INTERNAL_TOKEN="nope")
    _call(wrong, conforms, "POST", "/internal/push/notify_online", {"target_id": bob.pk})  # 403


def test_gateway_and_registry_replies_are_as_documented(
    api: APIClient, conforms: Conforms, internal_api: APIClient, make_user: Callable[..., User]
) -> None:
    user = make_user("alice")
    forwarded = _call(
        internal_api, conforms, "POST", "/center/forward", {"target_ids": [user.pk], "frame": {"type": "notice"}}
    )
    assert forwarded["data"] == {"delivered": [], "not_here": [user.pk]}
    flat = {"id": -1, "type": "notice", "room_id": 1, "sender_id": 0, "target_ids": [user.pk], "payload": None}
    _call(internal_api, conforms, "POST", "/center/forward", flat)

    gateway = {"gateway_id": "gw-docs", "address": "127.0.0.1", "port": 8084, "capacity": 10}
    _call(internal_api, conforms, "POST", "/registry/gateway/register", gateway)
    _call(internal_api, conforms, "POST", "/registry/gateway/heartbeat", {"gateway_id": "gw-docs", "load": 0.5})
    listed = _call(internal_api, conforms, "GET", "/registry/gateway/instances")["data"]
    assert [g["gateway_id"] for g in listed["gateways"]] == ["gw-docs"]
    _call(api, conforms, "GET", "/registry/gateway/available", user_id=user.pk)
    send = {"instance_id": "send-docs", "address": "127.0.0.1", "port": 8081}
    _call(internal_api, conforms, "POST", "/registry/send/register", send)
    _call(internal_api, conforms, "POST", "/registry/send/heartbeat", {"instance_id": "send-docs"})
    _call(internal_api, conforms, "GET", "/registry/send/instances")
    _call(api, conforms, "GET", "/registry/send/available")
    connection = {"user_id": user.pk, "gateway_id": "gw-docs", "connection_id": "c1"}
    _call(internal_api, conforms, "POST", "/registry/user/connect", connection)
    routes = _call(internal_api, conforms, "POST", "/registry/user/routes/batch", {"user_ids": [user.pk, 999]})
    assert routes["data"] == {
        str(user.pk): {
            "gateway_id": "gw-docs",
            "address": "127.0.0.1:8084",
            "status": "connected",
            "gateways": ["gw-docs"],
        }
    }
    _call(internal_api, conforms, "POST", "/registry/user/disconnect", connection)
    _call(internal_api, conforms, "DELETE", "/registry/gateway/gw-docs", template="/registry/gateway/{gateway_id}")
    _call(internal_api, conforms, "DELETE", "/registry/send/send-docs", template="/registry/send/{instance_id}")

    # No gateway and no send instance left: 503 where the docs say so; unknown ids: 404.
    _call(api, conforms, "GET", "/registry/gateway/available")
    _call(api, conforms, "GET", "/registry/send/available")
    _call(internal_api, conforms, "POST", "/registry/gateway/heartbeat", {"gateway_id": "gw-docs"})
    _call(internal_api, conforms, "POST", "/center/forward", {"target_ids": []})  # 400


def test_health_is_outside_the_envelope_as_documented(api: APIClient, schema: Schema, settings: Any) -> None:
    response = api.get("/health")
    operation = schema["paths"]["/health"]["get"]
    health = schema["components"]["schemas"]["Health"]

    assert response.status_code == 200 and "200" in operation["responses"]
    body = response.json()
    assert set(body) == set(health["properties"]) == set(health["required"])
    assert body["status"] == "ok"
    # CI runs with REDIS_URL (and a live Redis); a bare checkout without it.
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not configured")


class _Reply:
    """The parts of a test-client reply the check reads."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.content = json.dumps(body).encode()
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"code": 0, "msg": "ok", "data": {"room_id": 1, "extra": 2}}),  # an undocumented field
        (200, {"code": 0, "msg": "ok", "data": {}}),  # a missing field
        (200, {"code": 0, "msg": "ok", "data": {"room_id": "1"}}),  # a wrong type
        (200, {"code": 0, "msg": "ok", "data": {"room_id": 2**53}}),  # beyond exact JSON ids
        (200, {"code": 0, "msg": "ok"}),  # no data
        (409, {"code": 409, "msg": "conflict"}),  # a status the operation does not answer
        (404, {"code": 400, "msg": "not found"}),  # code is not the status
        (404, {"code": 404, "msg": "not found", "data": {}}),  # data on an error
    ],
)
def test_the_check_refuses_a_reply_the_schema_does_not_document(
    conforms: Conforms, status: int, body: dict[str, Any]
) -> None:
    with pytest.raises(AssertionError):
        conforms(_Reply(status, body), "POST", "/api/chat/group/create")  # type: ignore[arg-type]


def test_the_check_accepts_the_documented_reply(conforms: Conforms) -> None:
    body = conforms(
        _Reply(200, {"code": 0, "msg": "room ready", "data": {"room_id": 7}}), "POST", "/api/chat/group/create"
    )  # type: ignore[arg-type]

    assert body["data"] == {"room_id": 7}
