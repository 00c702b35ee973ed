"""Send instances: register / heartbeat / unregister / list (API.md §4)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _register(internal_api, **body):
    payload = {"instance_id": "send-1", "address": "10.0.0.7", "port": 8081, **body}
    return internal_api.post("/registry/send/register", payload, format="json")


def test_register_defaults_the_url_and_lists_it(internal_api, clock):
    response = _register(internal_api)
    record = {
        "instance_id": "send-1",
        "address": "10.0.0.7",
        "port": 8081,
        "url": "http://10.0.0.7:8081",
        "last_heartbeat": "2026-11-23T10:00:00.000Z",
    }
    assert response.json() == {"code": 0, "msg": "send instance registered", "data": record}
    assert internal_api.get("/registry/send/instances").json() == {
        "code": 0,
        "msg": "ok",
        "data": {"instances": [record], "count": 1},
    }


def test_the_url_is_stored_without_a_trailing_slash(internal_api, clock):
    response = _register(internal_api, url="https://send.example.com/chat/")
    assert response.json()["data"]["url"] == "https://send.example.com/chat"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"instance_id": "a b"}, "instance_id"), ({"url": "ftp://x"}, "url"), ({"port": -1}, "port")],
)
def test_register_refuses_bad_fields(internal_api, clock, body, field):
    response = _register(internal_api, **body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_heartbeat_keeps_it_alive_and_404_once_dead(internal_api, clock):
    _register(internal_api)
    clock.advance(25)
    response = internal_api.post("/registry/send/heartbeat", {"instance_id": "send-1"}, format="json")
    assert response.json()["data"]["last_heartbeat"] == "2026-11-23T10:00:25.000Z"
    clock.advance(30)
    assert internal_api.get("/registry/send/instances").json()["data"] == {"instances": [], "count": 0}
    response = internal_api.post("/registry/send/heartbeat", {"instance_id": "send-1"}, format="json")
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "msg": "send instance 'send-1' is not registered or has expired; register again",
    }
    assert _register(internal_api).status_code == 200
    assert internal_api.get("/registry/send/instances").json()["data"]["count"] == 1


def test_delete_is_idempotent(internal_api, clock):
    _register(internal_api)
    for _ in range(2):
        response = internal_api.delete("/registry/send/send-1")
        assert response.json() == {"code": 0, "msg": "send instance unregistered", "data": {"instance_id": "send-1"}}
    assert internal_api.get("/registry/send/instances").json()["data"]["count"] == 0
