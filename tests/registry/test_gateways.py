"""Gateway register / heartbeat / unregister / list (API.md §4) and liveness by heartbeat."""

from __future__ import annotations

import pytest

from registry.models import UserConnection

pytestmark = pytest.mark.django_db

T0 = "2026-11-23T10:00:00.000Z"


def _register(internal_api, **body):
    payload = {"gateway_id": "gw-1", "address": "10.0.0.5", "port": 8084, **body}
    return internal_api.post("/registry/gateway/register", payload, format="json")


def test_register_replies_with_the_record_and_defaults(internal_api, clock):
    response = _register(internal_api)
    assert response.status_code == 200
    assert response.json() == {
        "code": 0,
        "msg": "gateway registered",
        "data": {
            "gateway_id": "gw-1",
            "address": "10.0.0.5",
            "port": 8084,
            "ws_url": "ws://10.0.0.5:8084/api/ws",
            "capacity": 10000,
            "load": 0.0,
            "connected_users": 0,
            "last_heartbeat": T0,
        },
    }


def test_register_upserts_and_keeps_one_record(internal_api, clock):
    _register(internal_api)
    clock.advance(5)
    _register(internal_api, address="gw1.internal", port=9000, capacity=50, ws_url="wss://chat.example.com/api/ws")
    response = internal_api.get("/registry/gateway/instances")
    assert response.json() == {
        "code": 0,
        "msg": "ok",
        "data": {
            "gateways": [
                {
                    "gateway_id": "gw-1",
                    "address": "gw1.internal",
                    "port": 9000,
                    "ws_url": "wss://chat.example.com/api/ws",
                    "capacity": 50,
                    "load": 0.0,
                    "connected_users": 0,
                    "last_heartbeat": "2026-11-23T10:00:05.000Z",
                }
            ],
            "count": 1,
        },
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gateway_id": "has space"}, "gateway_id"),
        ({"gateway_id": "x" * 65}, "gateway_id"),
        ({"gateway_id": "gw/1"}, "gateway_id"),
        ({"gateway_id": ""}, "gateway_id"),
        ({"address": "http://10.0.0.5"}, "address"),
        ({"address": ""}, "address"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": "eighty"}, "port"),
        ({"capacity": 0}, "capacity"),
        ({"ws_url": "http://10.0.0.5/api/ws"}, "ws_url"),
    ],
)
def test_register_refuses_bad_fields(internal_api, clock, body, field):
    response = _register(internal_api, **body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == 400
    assert list(payload["errors"]) == [field]
    assert payload["msg"].startswith(f"{field}: ")
    assert internal_api.get("/registry/gateway/instances").json()["data"] == {"gateways": [], "count": 0}


def test_register_requires_the_fields(internal_api, clock):
    response = internal_api.post("/registry/gateway/register", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"gateway_id", "address", "port"}


def test_register_that_is_not_json_is_415(internal_api, clock):
    response = internal_api.generic("POST", "/registry/gateway/register", "gateway_id=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == 415


def test_heartbeat_stores_load_and_count_as_reported(internal_api, clock):
    _register(internal_api)
    clock.advance(10)
    response = internal_api.post(
        "/registry/gateway/heartbeat", {"gateway_id": "gw-1", "load": 0.25, "connected_users": 12}, format="json"
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["load"], data["connected_users"], data["last_heartbeat"]) == (0.25, 12, "2026-11-23T10:00:10.000Z")


def test_heartbeat_accepts_connections_as_a_synonym(internal_api, clock):
    _register(internal_api)
    response = internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-1", "connections": 7}, format="json")
    assert response.json()["data"]["connected_users"] == 7
    # Fields left out keep their value.
    response = internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-1"}, format="json")
    assert response.json()["data"]["connected_users"] == 7


@pytest.mark.parametrize("load", [-0.1, 1.5, "high"])
def test_heartbeat_refuses_a_load_outside_0_to_1(internal_api, clock, load):
    _register(internal_api)
    response = internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-1", "load": load}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["load"]


def test_heartbeat_for_an_unknown_gateway_is_404(internal_api, clock):
    response = internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-nope"}, format="json")
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "msg": "gateway 'gw-nope' is not registered or has expired; register again",
    }


def test_a_gateway_without_heartbeat_for_30s_is_dead_and_its_heartbeat_is_404(internal_api, clock):
    _register(internal_api)
    clock.advance(29.9)
    assert internal_api.get("/registry/gateway/instances").json()["data"]["count"] == 1
    clock.advance(0.1)
    assert internal_api.get("/registry/gateway/instances").json()["data"] == {"gateways": [], "count": 0}
    response = internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-1"}, format="json")
    assert response.status_code == 404
    # Registering again brings it back: an expired instance is not locked out.
    assert _register(internal_api).status_code == 200
    assert internal_api.get("/registry/gateway/instances").json()["data"]["count"] == 1


def test_heartbeats_keep_a_gateway_alive_indefinitely(internal_api, clock):
    _register(internal_api)
    for _ in range(20):
        clock.advance(10)
        assert (
            internal_api.post("/registry/gateway/heartbeat", {"gateway_id": "gw-1"}, format="json").status_code == 200
        )
    assert internal_api.get("/registry/gateway/instances").json()["data"]["count"] == 1


def test_dead_after_is_a_setting(internal_api, clock, settings):
    settings.REGISTRY_DEAD_AFTER_SECONDS = 5
    _register(internal_api)
    clock.advance(5)
    assert internal_api.get("/registry/gateway/instances").json()["data"]["count"] == 0


def test_delete_is_idempotent_and_drops_the_routes(internal_api, clock):
    _register(internal_api)
    internal_api.post("/registry/user/connect", {"user_id": 3, "gateway_id": "gw-1"}, format="json")
    first = internal_api.delete("/registry/gateway/gw-1")
    assert first.json() == {"code": 0, "msg": "gateway unregistered", "data": {"gateway_id": "gw-1"}}
    second = internal_api.delete("/registry/gateway/gw-1")
    assert second.status_code == 200
    assert internal_api.get("/registry/gateway/instances").json()["data"] == {"gateways": [], "count": 0}
    assert not UserConnection.objects.exists()


def test_list_is_live_only_and_sorted(internal_api, clock):
    _register(internal_api, gateway_id="gw-b")
    clock.advance(20)
    _register(internal_api, gateway_id="gw-a")
    _register(internal_api, gateway_id="gw-c")
    clock.advance(15)  # gw-b's heartbeat is 35 s old now
    data = internal_api.get("/registry/gateway/instances").json()["data"]
    assert [g["gateway_id"] for g in data["gateways"]] == ["gw-a", "gw-c"]
    assert data["count"] == 2


def test_wrong_method_is_an_enveloped_405(internal_api, clock):
    response = internal_api.get("/registry/gateway/register")
    assert response.status_code == 405
    assert response.json() == {"code": 405, "msg": 'Method "GET" not allowed.'}


def test_a_register_starts_a_new_life_without_the_old_routes(internal_api, clock):
    _register(internal_api)
    internal_api.post(
        "/registry/user/connect", {"user_id": 3, "gateway_id": "gw-1", "connection_id": "a"}, format="json"
    )
    response = _register(internal_api, sockets=[{"user_id": 4, "connection_id": "b"}])
    assert response.status_code == 200
    routes = internal_api.post("/registry/user/routes/batch", {"user_ids": [3, 4]}, format="json").json()["data"]
    assert list(routes) == ["4"]
