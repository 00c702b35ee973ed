"""Input the audit found accepted or answered wrongly: control characters in names shown to
others, ids beyond 2^53, empty query parameters, numbers taken for strings, private rooms
revealed to outsiders, OPTIONS and TRACE outside the envelope."""

from __future__ import annotations

import pytest

from chatproject.exceptions import InvalidInput
from meta.services import room_create
from meta.services.moderation import room_update

pytestmark = pytest.mark.django_db

ESCAPE = "a\u001b[31m"


def post(client, path, body):
    return client.post(path, body, format="json")


# --- control characters (item 9) --------------------------------------------------------


def test_names_shown_to_others_refuse_control_characters(api, make_user, client_for):
    response = post(api, "/register", {"username": "eve", "password": "secret123", "nickname": ESCAPE})
    assert response.status_code == 400
    assert response.json()["errors"] == {"nickname": ["must not contain control characters"]}
    alice = make_user("alice")
    client = client_for(alice)
    response = post(client, "/api/chat/group/create", {"name": ESCAPE, "is_group": True, "member_ids": []})
    assert (response.status_code, response.json()["errors"]) == (400, {"name": ["must not contain control characters"]})
    room = room_create(actor=alice, name="ok", member_ids=[], is_group=True)
    response = post(client, "/api/chat/group/change_nickname", {"room_id": room.pk, "nickname": "x\u0007y"})
    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"nickname": ["must not contain control characters"]},
    )
    with pytest.raises(InvalidInput):
        room_update(room_id=room.pk, name=ESCAPE, join_policy="open")
    # Ordinary text, other scripts and emoji included, is fine.
    assert (
        post(client, "/api/chat/group/change_nickname", {"room_id": room.pk, "nickname": "Zoë 🎉 日本"}).status_code
        == 200
    )


# --- ids, query parameters, strict types (item 10) --------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        {"id": 1, "type": "chat", "room_id": 1, "sender_id": 2**63, "payload": {}},
        {"id": 2**53, "type": "chat", "room_id": 1, "sender_id": 1, "payload": {}},
        {"id": 1, "type": "notice", "room_id": 1, "sender_id": 0, "payload": {"n": -(2**60)}},
        {"id": "1", "type": "chat", "room_id": 1, "sender_id": 1, "payload": {}},
        {"id": 1, "type": "chat", "room_id": True, "sender_id": 1, "payload": {}},
    ],
)
def test_pushback_refuses_ids_beyond_2_53_and_non_integer_ids(internal_api, frame):
    response = post(internal_api, "/internal/pushback", {"target_id": 7, "forward_req": frame})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["forward_req"]


@pytest.mark.parametrize("query", ["limit=", "offset=", "limit=&offset=0"])
def test_empty_query_parameters_are_refused_not_defaulted(make_user, client_for, query):
    response = client_for(make_user()).get(f"/api/chat/group/search?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_empty_history_limit_is_refused(make_user, client_for):
    user = make_user()
    room = room_create(actor=user, name="r", member_ids=[], is_group=True)
    response = client_for(user).get(f"/api/chat/messages?room_id={room.pk}&limit=")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/registry/user/connect", {"user_id": 1, "gateway_id": "gw-1", "connection_id": 12345}, "connection_id"),
        ("/registry/user/connect", {"user_id": True, "gateway_id": "gw-1"}, "user_id"),
        ("/registry/user/connect", {"user_id": "5", "gateway_id": "gw-1"}, "user_id"),
        ("/registry/gateway/register", {"gateway_id": "gw-1", "address": 127, "port": 8084}, "address"),
        ("/registry/gateway/register", {"gateway_id": "gw-1", "address": "h", "port": "8084"}, "port"),
        ("/registry/gateway/heartbeat", {"gateway_id": "gw-1", "load": "0.5"}, "load"),
        ("/registry/gateway/heartbeat", {"gateway_id": "gw-1", "connected_users": 10**10}, "connected_users"),
    ],
)
def test_registry_bodies_take_json_types_as_they_are(internal_api, path, body, field):
    response = post(internal_api, path, body)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


# --- private rooms and outsiders (item 11) ----------------------------------------------


def test_an_outsider_is_not_told_a_room_is_private(make_user, client_for):
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    private = room_create(actor=alice, name="dm", member_ids=[bob.pk])
    client = client_for(eve)
    calls = [
        ("/api/chat/group/add_member", {"room_id": private.pk, "member_id": eve.pk}, 403),
        ("/api/chat/group/add_members", {"room_id": private.pk, "member_ids": [eve.pk]}, 403),
        ("/api/chat/group/remove_member", {"room_id": private.pk, "target_user_id": bob.pk}, 403),
        ("/api/chat/group/change_member_role", {"room_id": private.pk, "target_user_id": bob.pk, "new_role": 1}, 403),
        ("/api/chat/group/join", {"room_id": private.pk}, 404),
        ("/api/chat/group/join/request", {"room_id": private.pk}, 404),
    ]
    for path, body, status in calls:
        response = post(client, path, body)
        assert response.status_code == status, (path, response.json())
        assert "private" not in response.json()["msg"], path
    response = client.get(f"/api/chat/group/join/requests?room_id={private.pk}")
    assert response.status_code == 403
    assert "private" not in response.json()["msg"]
    # Its members still hear why.
    response = post(client_for(alice), "/api/chat/group/join", {"room_id": private.pk})
    assert (response.status_code, response.json()["msg"]) == (
        400,
        f"room {private.pk} is a private room: it cannot be joined",
    )


# --- OPTIONS and TRACE (item 13) --------------------------------------------------------


def test_options_answers_the_allowed_methods_in_the_envelope(api):
    response = api.options("/login")
    assert response.status_code == 200
    assert response.json() == {"code": 0, "msg": "ok", "data": {"methods": ["POST", "OPTIONS"]}}
    assert response["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("path", ["/login", "/health", "/metrics", "/api/schema/"])
def test_trace_is_405_with_allow(api, path):
    response = api.generic("TRACE", path)
    assert response.status_code == 405
    assert response.json()["code"] == 405
    assert response["Allow"]
