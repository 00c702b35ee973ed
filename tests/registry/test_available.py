"""`GET /registry/gateway/available`: sticky to a live connection or the reconnect lease, else
the least-loaded live gateway with room left, ties spread; `/registry/send/available`."""

from __future__ import annotations

import pytest

from registry import services

pytestmark = pytest.mark.django_db


def _available(api, **params):
    return api.get("/registry/gateway/available", params)


def _chosen(api, **params) -> str:
    response = _available(api, **params)
    assert response.status_code == 200, response.json()
    return response.json()["data"]["gateway_id"]


def test_reply_shape(api, register_gateway, clock):
    register_gateway("gw-1", port=8084)
    assert _available(api).json() == {
        "code": 0,
        "msg": "ok",
        "data": {"gateway_id": "gw-1", "address": "127.0.0.1", "port": 8084, "ws_url": "ws://127.0.0.1:8084/api/ws"},
    }


def test_none_alive_is_503(api, register_gateway, clock):
    assert _available(api).json() == {"code": 503, "msg": "no gateway is available"}
    register_gateway("gw-1")
    clock.advance(30)
    response = _available(api)
    assert response.status_code == 503
    assert response.json() == {"code": 503, "msg": "no gateway is available"}


def test_least_loaded_by_reported_load(api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    register_gateway("gw-3")
    services.gateway_heartbeat(gateway_id="gw-1", load=0.5)
    services.gateway_heartbeat(gateway_id="gw-2", load=0.2)
    services.gateway_heartbeat(gateway_id="gw-3", load=0.7)
    assert {_chosen(api) for _ in range(10)} == {"gw-2"}


def test_least_loaded_by_reported_connection_count(api, register_gateway, clock):
    register_gateway("gw-1", capacity=100)
    register_gateway("gw-2", capacity=100)
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=40)
    services.gateway_heartbeat(gateway_id="gw-2", connected_users=10)
    assert {_chosen(api) for _ in range(10)} == {"gw-2"}


def test_clients_sent_since_the_last_heartbeat_count_until_it_reports_them(api, register_gateway, clock):
    register_gateway("gw-1", capacity=10)
    register_gateway("gw-2", capacity=10)
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=3)
    assert [_chosen(api) for _ in range(3)] == ["gw-2"] * 3  # 3 each now
    assert {_chosen(api), _chosen(api)} == {"gw-1", "gw-2"}  # 4 each
    clock.advance(1)
    services.gateway_heartbeat(gateway_id="gw-2", connected_users=8)  # its own count now
    assert [_chosen(api) for _ in range(4)] == ["gw-1"] * 4  # 8 each


def test_the_least_loaded_gateway_is_skipped_once_dead(api, register_gateway, clock):
    register_gateway("gw-idle")
    clock.advance(20)
    register_gateway("gw-busy")
    services.gateway_heartbeat(gateway_id="gw-busy", load=0.9)
    assert _chosen(api) == "gw-idle"
    clock.advance(10)  # gw-idle's last heartbeat is 30 s old
    assert {_chosen(api) for _ in range(5)} == {"gw-busy"}


def test_full_gateways_are_skipped(api, register_gateway, clock):
    register_gateway("gw-full", capacity=2)
    register_gateway("gw-loaded", capacity=1000)
    services.gateway_heartbeat(gateway_id="gw-full", connected_users=2)
    services.gateway_heartbeat(gateway_id="gw-loaded", load=0.8)
    assert {_chosen(api) for _ in range(5)} == {"gw-loaded"}


def test_a_gateway_reporting_full_load_is_skipped(api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.gateway_heartbeat(gateway_id="gw-1", load=1.0)
    services.gateway_heartbeat(gateway_id="gw-2", load=0.99)
    assert _chosen(api) == "gw-2"


def test_every_gateway_full_is_503(api, register_gateway, clock):
    register_gateway("gw-1", capacity=1)
    assert _chosen(api) == "gw-1"
    assert _available(api).json() == {"code": 503, "msg": "every gateway is full"}
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=0)  # that client never came
    assert _chosen(api) == "gw-1"
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=1)
    assert _available(api).json() == {"code": 503, "msg": "every gateway is full"}


def test_ties_spread_over_the_equal_gateways(api, register_gateway, clock):
    for name in ("gw-1", "gw-2", "gw-3"):
        register_gateway(name)
    chosen = {_chosen(api) for _ in range(60)}
    assert chosen == {"gw-1", "gw-2", "gw-3"}


def test_sticky_to_the_users_live_connection_even_when_busier(api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.gateway_heartbeat(gateway_id="gw-1", load=0.9)
    assert {_chosen(api, user_id=5) for _ in range(5)} == {"gw-1"}
    assert _chosen(api, user_id=6) == "gw-2"


def test_a_live_connection_on_a_dead_gateway_is_not_sticky(api, register_gateway, clock):
    register_gateway("gw-old")
    services.user_connect(user_id=5, gateway_id="gw-old", connection_id="phone")
    clock.advance(25)
    register_gateway("gw-new")
    clock.advance(5)
    assert _chosen(api, user_id=5) == "gw-new"


def test_reconnect_lease_returns_the_user_to_their_gateway_for_120s(api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.user_disconnect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.gateway_heartbeat(gateway_id="gw-1", load=0.6)
    services.gateway_heartbeat(gateway_id="gw-2", load=0.1)
    for _ in range(11):
        clock.advance(10)
        services.gateway_heartbeat(gateway_id="gw-1")
        services.gateway_heartbeat(gateway_id="gw-2")
    clock.advance(9.9)  # 119.9 s after the disconnect
    assert _chosen(api, user_id=5) == "gw-1"
    clock.advance(0.1)  # 120 s: the lease is over, the least loaded wins
    assert _chosen(api, user_id=5) == "gw-2"


def test_a_lease_on_a_dead_gateway_is_ignored(api, register_gateway, clock):
    register_gateway("gw-1")
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.user_disconnect(user_id=5, gateway_id="gw-1", connection_id="phone")
    clock.advance(20)
    register_gateway("gw-2")
    clock.advance(10)
    assert _chosen(api, user_id=5) == "gw-2"


def test_the_lease_follows_the_newest_connection_not_the_latest_disconnect(api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="old")
    clock.advance(1)
    services.user_connect(user_id=5, gateway_id="gw-2", connection_id="new")
    clock.advance(1)
    services.user_disconnect(user_id=5, gateway_id="gw-2", connection_id="new")
    clock.advance(1)
    services.user_disconnect(user_id=5, gateway_id="gw-1", connection_id="old")  # late
    services.gateway_heartbeat(gateway_id="gw-2", load=0.9)
    assert _chosen(api, user_id=5) == "gw-2"


def test_user_from_a_valid_bearer_token(api, register_gateway, clock, make_user, token_for):
    user = make_user()
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.user_connect(user_id=user.id, gateway_id="gw-2", connection_id="a")
    services.gateway_heartbeat(gateway_id="gw-2", load=0.9)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    assert {_chosen(api) for _ in range(5)} == {"gw-2"}


@pytest.mark.parametrize("header", ["Bearer not.a.token", "Basic abc", "Bearer"])
def test_an_invalid_token_is_ignored_not_refused(api, register_gateway, clock, header):
    register_gateway("gw-1")
    api.credentials(HTTP_AUTHORIZATION=header)
    assert _available(api).status_code == 200


def test_the_user_id_parameter_wins_over_the_token(api, register_gateway, clock, make_user, token_for):
    user = make_user()
    register_gateway("gw-1")
    register_gateway("gw-2")
    services.user_connect(user_id=user.id, gateway_id="gw-2", connection_id="a")
    services.user_connect(user_id=99, gateway_id="gw-1", connection_id="b")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    assert _chosen(api, user_id=99) == "gw-1"


@pytest.mark.parametrize("value", ["abc", "1.5", "-3", "0", str(2**53)])
def test_a_bad_user_id_is_400(api, register_gateway, clock, value):
    register_gateway("gw-1")
    response = _available(api, user_id=value)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert list(body["errors"]) == ["user_id"]


def test_a_gateway_the_client_lost_is_avoided_while_another_has_room_even_if_sticky(api, register_gateway, clock):
    register_gateway("gw-dying")
    register_gateway("gw-2")
    register_gateway("gw-3", capacity=1)
    services.gateway_heartbeat(gateway_id="gw-3", connected_users=1)  # full
    services.user_connect(user_id=5, gateway_id="gw-dying", connection_id="phone")
    # Killed a moment ago, it still counts as alive: without `avoid` the user is sent back to it.
    assert _chosen(api, user_id=5) == "gw-dying"
    assert {_chosen(api, user_id=5, avoid="gw-dying") for _ in range(5)} == {"gw-2"}
    assert _chosen(api, avoid="gw-2") == "gw-dying"
    assert _chosen(api, user_id=5, avoid="gw-unknown") == "gw-dying"  # a gateway it does not know: no effect


def test_an_avoided_gateway_that_is_the_only_one_with_room_is_still_the_answer(api, register_gateway, clock):
    register_gateway("gw-1")
    assert _chosen(api, avoid="gw-1") == "gw-1"  # a restart: the client must get back
    register_gateway("gw-full", capacity=1)
    services.gateway_heartbeat(gateway_id="gw-full", connected_users=1)
    assert _chosen(api, avoid="gw-1") == "gw-1"


@pytest.mark.parametrize("value", ["", "has space", "x" * 65, "ü"])
def test_a_bad_avoid_is_400(api, register_gateway, clock, value):
    register_gateway("gw-1")
    response = _available(api, avoid=value)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["avoid"]


def test_send_available_picks_a_live_instance_at_random(api, internal_api, clock):
    for name in ("send-1", "send-2"):
        internal_api.post(
            "/registry/send/register", {"instance_id": name, "address": "10.0.0.7", "port": 8081}, format="json"
        )
    picked = {api.get("/registry/send/available").json()["data"]["instance_id"] for _ in range(40)}
    assert picked == {"send-1", "send-2"}
    assert api.get("/registry/send/available").json()["data"]["url"] == "http://10.0.0.7:8081"


def test_send_available_skips_dead_and_503_when_none(api, internal_api, clock):
    internal_api.post("/registry/send/register", {"instance_id": "send-1", "address": "h1", "port": 1}, format="json")
    clock.advance(20)
    internal_api.post("/registry/send/register", {"instance_id": "send-2", "address": "h2", "port": 2}, format="json")
    clock.advance(10)
    assert {api.get("/registry/send/available").json()["data"]["instance_id"] for _ in range(10)} == {"send-2"}
    clock.advance(30)
    assert api.get("/registry/send/available").json() == {"code": 503, "msg": "no send instance is available"}


def test_a_single_live_gateway_with_room_is_answered_without_a_query(
    api, register_gateway, clock, django_assert_max_num_queries
):
    register_gateway("gw-old")
    services.user_connect(user_id=5, gateway_id="gw-old", connection_id="phone")
    clock.advance(25)
    register_gateway("gw-new")
    clock.advance(5)  # gw-old is dead: gw-new is the only choice, whatever user 5's history
    assert _chosen(api, user_id=5) == "gw-new"  # the snapshot is taken by this first call
    with django_assert_max_num_queries(0):
        assert services.gateway_choose(user_id=5).gateway_id == "gw-new"


def test_a_single_full_gateway_still_takes_back_a_user_sticky_to_it(api, register_gateway, clock):
    register_gateway("gw-1", capacity=1)
    services.user_connect(user_id=5, gateway_id="gw-1", connection_id="phone")
    services.gateway_heartbeat(gateway_id="gw-1", connected_users=1)
    assert _chosen(api, user_id=5) == "gw-1"  # its own connection: the query says so
    assert _available(api, user_id=6).json() == {"code": 503, "msg": "every gateway is full"}
