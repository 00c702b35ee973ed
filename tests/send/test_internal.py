"""INTERNAL POST /internal/pushback and /internal/push/notify_online: the shared token, body
checks, and what they hand to the gateways."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from rest_framework.test import APIClient

from chatproject.bus import gateway_channel
from registry.services import gateway_register, user_connect
from tests.send.conftest import NOTIFY_ONLINE, PUSHBACK, Group, assert_error, assert_ok, post_json

pytestmark = pytest.mark.django_db

BIG = 2**53 - 1
NOTICE = {"id": -1, "type": "notice", "room_id": BIG, "sender_id": 0, "payload": {"event": "member_added", "x": BIG}}
VALID_BODIES = {PUSHBACK: {"target_id": 7, "forward_req": NOTICE}, NOTIFY_ONLINE: {"target_id": 7}}


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every sync_publish / frame_publish the send service makes, in order."""
    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr("send.services.sync_publish", lambda **kw: calls.append(("sync", kw)))
    monkeypatch.setattr("send.services.frame_publish", lambda **kw: calls.append(("frame", kw)))
    return calls


@pytest.mark.parametrize("path", [PUSHBACK, NOTIFY_ONLINE])
def test_missing_token_is_401(api: APIClient, path: str, pushes: list[Any]) -> None:
    response = post_json(api, path, VALID_BODIES[path])
    assert_error(response, 401, "the X-Internal-Token header is required")
    assert pushes == []


@pytest.mark.parametrize("path", [PUSHBACK, NOTIFY_ONLINE])
def test_wrong_token_is_403(api: APIClient, path: str, pushes: list[Any]) -> None:
    api.credentials(HTTP_X_INTERNAL_TOKEN="test-internal-tokem")
    response = post_json(api, path, VALID_BODIES[path])
    assert_error(response, 403, "the X-Internal-Token header is wrong")
    assert pushes == []


@pytest.mark.parametrize("path", [PUSHBACK, NOTIFY_ONLINE])
def test_a_user_token_is_no_internal_token(group: Group, path: str, pushes: list[Any]) -> None:
    response = post_json(group.client(group.alice), path, VALID_BODIES[path])
    assert_error(response, 401, "the X-Internal-Token header is required")
    assert pushes == []


def test_notify_online_answers_202_and_asks_for_a_sync(internal_api: APIClient, pushes: list[Any]) -> None:
    response = post_json(internal_api, NOTIFY_ONLINE, {"target_id": 42})
    assert response.status_code == 202
    assert response.json() == {"code": 0, "msg": "delivery scheduled"}
    assert pushes == [("sync", {"user_ids": [42]})]


def test_pushback_of_a_stored_message_asks_for_a_sync(internal_api: APIClient, pushes: list[Any]) -> None:
    chat = {"id": BIG, "type": "chat", "room_id": 3, "sender_id": 4, "seq": 9, "payload": {"type": "text"}}
    response = post_json(internal_api, PUSHBACK, {"target_id": 42, "forward_req": chat})
    assert_ok(response)
    assert response.json() == {"code": 0, "msg": "kept for delivery"}
    assert pushes == [("sync", {"user_ids": [42]})]


def test_pushback_keeps_big_ids_exact(internal_api: APIClient, pushes: list[Any]) -> None:
    raw = json.dumps({"target_id": BIG, "forward_req": NOTICE})
    assert str(BIG) in raw
    response = internal_api.post(PUSHBACK, raw, content_type="application/json")
    assert response.json() == {"code": 0, "msg": "kept for delivery"}
    assert pushes == [("frame", {"user_ids": [BIG], "frame": NOTICE})]
    frame = pushes[0][1]["frame"]
    assert type(frame["room_id"]) is int and frame["room_id"] == 9007199254740991
    assert type(frame["payload"]["x"]) is int and frame["payload"]["x"] == 9007199254740991


def test_pushback_forwards_the_exact_frame_to_the_users_gateway(group: Group, internal_api: APIClient) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    gateway_register(gateway_id="gw-p", address="127.0.0.1", port=8084)
    user_connect(user_id=group.bob.pk, gateway_id="gw-p", connection_id="c1")
    assert_ok(post_json(internal_api, PUSHBACK, {"target_id": group.bob.pk, "forward_req": NOTICE}))
    event = async_to_sync(layer.receive)(gateway_channel("gw-p"))
    assert set(event) == {"type", "users", "frame"}
    assert (event["type"], event["users"]) == ("forward", [group.bob.pk])
    assert f'"room_id":{BIG}' in event["frame"]
    assert json.loads(event["frame"]) == NOTICE
    async_to_sync(layer.flush)()


def test_notify_online_sends_a_sync_event_to_the_users_gateway(group: Group, internal_api: APIClient) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.flush)()
    gateway_register(gateway_id="gw-n", address="127.0.0.1", port=8084)
    user_connect(user_id=group.alice.pk, gateway_id="gw-n", connection_id="c1")
    assert post_json(internal_api, NOTIFY_ONLINE, {"target_id": group.alice.pk}).status_code == 202
    assert async_to_sync(layer.receive)(gateway_channel("gw-n")) == {"type": "sync", "users": [group.alice.pk]}
    async_to_sync(layer.flush)()


FRAME_REASON = "must be a frame object with a string `type`"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        pytest.param({"forward_req": NOTICE}, "target_id", "This field is required.", id="target-missing"),
        pytest.param({"target_id": "7", "forward_req": NOTICE}, "target_id", "must be an integer id", id="target-str"),
        pytest.param(
            {"target_id": 0, "forward_req": NOTICE}, "target_id", "must be an id from 1 to 9007199254740991", id="zero"
        ),
        pytest.param({"target_id": 7}, "forward_req", "This field is required.", id="frame-missing"),
        pytest.param({"target_id": 7, "forward_req": "chat"}, "forward_req", FRAME_REASON, id="frame-string"),
        pytest.param({"target_id": 7, "forward_req": [NOTICE]}, "forward_req", FRAME_REASON, id="frame-list"),
        pytest.param({"target_id": 7, "forward_req": {"id": 1}}, "forward_req", FRAME_REASON, id="frame-no-type"),
        pytest.param({"target_id": 7, "forward_req": {"type": ""}}, "forward_req", FRAME_REASON, id="frame-empty-type"),
        pytest.param({"target_id": 7, "forward_req": {"type": 5}}, "forward_req", FRAME_REASON, id="frame-int-type"),
    ],
)
def test_bad_pushback_body_is_400(
    internal_api: APIClient, pushes: list[Any], body: dict[str, Any], field: str, reason: str
) -> None:
    response = post_json(internal_api, PUSHBACK, body)
    assert_error(response, 400, f"{field}: {reason}", errors={field: [reason]})
    assert pushes == []


def test_pushback_with_a_null_frame_is_400(internal_api: APIClient, pushes: list[Any]) -> None:
    response = post_json(internal_api, PUSHBACK, {"target_id": 7, "forward_req": None})
    reason = "This field may not be null."
    assert_error(response, 400, f"forward_req: {reason}", errors={"forward_req": [reason]})
    assert pushes == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({}, "This field is required.", id="missing"),
        pytest.param({"target_id": True}, "must be an integer id", id="bool"),
        pytest.param({"target_id": 2**53}, "must be an id from 1 to 9007199254740991", id="2^53"),
    ],
)
def test_bad_notify_online_body_is_400(
    internal_api: APIClient, pushes: list[Any], body: dict[str, Any], reason: str
) -> None:
    response = post_json(internal_api, NOTIFY_ONLINE, body)
    assert_error(response, 400, f"target_id: {reason}", errors={"target_id": [reason]})
    assert pushes == []


@pytest.mark.parametrize("path", [PUSHBACK, NOTIFY_ONLINE])
def test_internal_body_that_is_not_json_is_415(internal_api: APIClient, path: str, pushes: list[Any]) -> None:
    response = internal_api.post(path, json.dumps(VALID_BODIES[path]), content_type="text/plain")
    assert_error(response, 415, "the body must be JSON (Content-Type: application/json)")
    assert pushes == []
