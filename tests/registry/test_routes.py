"""User routes: connect / disconnect per connection, the batch lookup, and the selectors the
push path and the members list use."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import selectors, services

pytestmark = pytest.mark.django_db


def _connect(internal_api, user_id, gateway_id, connection_id=None):
    body = {"user_id": user_id, "gateway_id": gateway_id}
    if connection_id is not None:
        body["connection_id"] = connection_id
    return internal_api.post("/registry/user/connect", body, format="json")


def _disconnect(internal_api, user_id, gateway_id, connection_id=None):
    body = {"user_id": user_id, "gateway_id": gateway_id}
    if connection_id is not None:
        body["connection_id"] = connection_id
    return internal_api.post("/registry/user/disconnect", body, format="json")


def _routes(internal_api, user_ids):
    response = internal_api.post("/registry/user/routes/batch", {"user_ids": user_ids}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def test_connect_and_batch_reply(internal_api, register_gateway, clock):
    register_gateway("gw-1", port=8084)
    response = _connect(internal_api, 42, "gw-1", "c1")
    assert response.json() == {
        "code": 0,
        "msg": "connection recorded",
        "data": {"user_id": 42, "gateway_id": "gw-1", "connection_id": "c1"},
    }
    assert internal_api.post("/registry/user/routes/batch", {"user_ids": [42, 43]}, format="json").json() == {
        "code": 0,
        "msg": "ok",
        "data": {
            "42": {"gateway_id": "gw-1", "address": "127.0.0.1:8084", "status": "connected", "gateways": ["gw-1"]}
        },
    }


def test_no_one_online_is_an_empty_object(internal_api, register_gateway, clock):
    assert _routes(internal_api, [1, 2, 3]) == {}


def test_connect_to_an_unknown_gateway_is_404(internal_api, clock):
    response = _connect(internal_api, 42, "gw-nope", "c1")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "msg": "gateway 'gw-nope' is not registered or has expired; register again"}


def test_connect_to_a_dead_gateway_is_404_so_that_it_registers_again(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    clock.advance(30)
    response = _connect(internal_api, 42, "gw-1", "c1")
    assert response.status_code == 404
    assert response.json()["msg"] == "gateway 'gw-1' is not registered or has expired; register again"
    register_gateway("gw-1")
    assert _connect(internal_api, 42, "gw-1", "c1").status_code == 200
    assert list(_routes(internal_api, [42])) == ["42"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "x", "gateway_id": "gw-1"}, "user_id"),
        ({"user_id": 0, "gateway_id": "gw-1"}, "user_id"),
        ({"user_id": 2**53, "gateway_id": "gw-1"}, "user_id"),
        ({"user_id": 1, "gateway_id": "bad id"}, "gateway_id"),
        ({"user_id": 1, "gateway_id": "gw-1", "connection_id": "x" * 129}, "connection_id"),
        ({"gateway_id": "gw-1"}, "user_id"),
    ],
)
def test_connect_refuses_bad_input(internal_api, register_gateway, clock, body, field):
    register_gateway("gw-1")
    response = internal_api.post("/registry/user/connect", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_routes_do_not_expire_under_a_connected_user(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    _connect(internal_api, 42, "gw-1", "c1")
    for _ in range(100):  # 1000 s, far beyond the original design's 120 s route expiry
        clock.advance(10)
        services.gateway_heartbeat(gateway_id="gw-1")
    assert list(_routes(internal_api, [42])) == ["42"]


def test_several_devices_on_several_gateways(internal_api, register_gateway, clock):
    register_gateway("gw-1", port=8084)
    register_gateway("gw-2", port=8085)
    _connect(internal_api, 42, "gw-1", "phone")
    clock.advance(1)
    _connect(internal_api, 42, "gw-2", "laptop")
    clock.advance(1)
    _connect(internal_api, 42, "gw-1", "tablet")
    assert _routes(internal_api, [42]) == {
        "42": {"gateway_id": "gw-1", "address": "127.0.0.1:8084", "status": "connected", "gateways": ["gw-1", "gw-2"]}
    }
    _disconnect(internal_api, 42, "gw-1", "tablet")
    assert _routes(internal_api, [42])["42"]["gateways"] == ["gw-2", "gw-1"]
    _disconnect(internal_api, 42, "gw-1", "phone")
    assert _routes(internal_api, [42])["42"] == {
        "gateway_id": "gw-2",
        "address": "127.0.0.1:8085",
        "status": "connected",
        "gateways": ["gw-2"],
    }
    _disconnect(internal_api, 42, "gw-2", "laptop")
    assert _routes(internal_api, [42]) == {}


def test_a_late_disconnect_from_the_old_gateway_does_not_hide_the_new_connection(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    _connect(internal_api, 42, "gw-1", "c-old")
    clock.advance(1)
    _connect(internal_api, 42, "gw-2", "c-new")  # the user moved before gw-1 noticed
    response = _disconnect(internal_api, 42, "gw-1", "c-old")
    assert response.status_code == 200
    assert _routes(internal_api, [42])["42"]["gateways"] == ["gw-2"]


def test_a_late_disconnect_of_an_old_socket_on_the_same_gateway_keeps_the_new_one(
    internal_api, register_gateway, clock
):
    register_gateway("gw-1")
    _connect(internal_api, 42, "gw-1", "c-old")
    _connect(internal_api, 42, "gw-1", "c-new")
    _disconnect(internal_api, 42, "gw-1", "c-old")
    assert selectors.user_ids_online(user_ids=[42]) == {42}


def test_a_disconnect_that_matches_nothing_is_a_200_no_op(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    _connect(internal_api, 42, "gw-1", "c1")
    for args in [(42, "gw-1", "c2"), (42, "gw-2", "c1"), (43, "gw-1", "c1"), (42, "gw-1", None)]:
        response = _disconnect(internal_api, *args)
        assert response.status_code == 200
        assert response.json()["msg"] == "disconnection recorded"
    assert list(_routes(internal_api, [42])) == ["42"]


def test_connecting_twice_is_one_connection(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    _connect(internal_api, 42, "gw-1", "c1")
    _connect(internal_api, 42, "gw-1", "c1")
    _disconnect(internal_api, 42, "gw-1", "c1")
    assert _routes(internal_api, [42]) == {}


def test_without_connection_id_one_route_per_user_and_gateway(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    _connect(internal_api, 42, "gw-1")
    _connect(internal_api, 43, "gw-1")
    _disconnect(internal_api, 42, "gw-1")
    assert list(_routes(internal_api, [42, 43])) == ["43"]


def test_routes_through_a_dead_gateway_disappear_with_it(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    _connect(internal_api, 1, "gw-1", "a")
    _connect(internal_api, 2, "gw-2", "b")
    _connect(internal_api, 3, "gw-1", "c")
    _connect(internal_api, 3, "gw-2", "d")
    clock.advance(20)
    services.gateway_heartbeat(gateway_id="gw-2")
    clock.advance(10)  # gw-1 dead
    assert _routes(internal_api, [1, 2, 3]) == {
        "2": {"gateway_id": "gw-2", "address": "127.0.0.1:8084", "status": "connected", "gateways": ["gw-2"]},
        "3": {"gateway_id": "gw-2", "address": "127.0.0.1:8084", "status": "connected", "gateways": ["gw-2"]},
    }
    assert selectors.user_ids_online(user_ids=[1, 2, 3]) == {2, 3}
    assert selectors.gateways_for_users(user_ids=[1, 2, 3]) == {"gw-2": [2, 3]}


def test_batch_accepts_10000_ids_in_one_query(internal_api, register_gateway, clock):
    register_gateway("gw-1")
    for user_id in (1, 5000, 10000):
        services.user_connect(user_id=user_id, gateway_id="gw-1", connection_id="c")
    ids = list(range(1, 10001))
    with CaptureQueriesContext(connection) as queries:
        data = _routes(internal_api, ids)
    assert sorted(data, key=int) == ["1", "5000", "10000"]
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("user_ids", "msg"),
    [
        ([], "user_ids: give at least one user id"),
        (list(range(1, 10002)), "user_ids: at most 10000 user ids per request"),
        ("1,2", 'user_ids: Expected a list of items but got type "str".'),
        ([1, "x"], "user_ids.1: A valid integer is required."),
        ([1, -2], "user_ids.1: Ensure this value is greater than or equal to 1."),
    ],
)
def test_batch_limits(internal_api, clock, user_ids, msg):
    response = internal_api.post("/registry/user/routes/batch", {"user_ids": user_ids}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert body["msg"] == msg


def test_batch_without_user_ids_is_400(internal_api, clock):
    response = internal_api.post("/registry/user/routes/batch", {}, format="json")
    assert response.json() == {
        "code": 400,
        "msg": "user_ids: This field is required.",
        "errors": {"user_ids": ["This field is required."]},
    }


def test_selectors_take_one_query_each_whatever_the_number_of_users(register_gateway, clock):
    register_gateway("gw-1")
    register_gateway("gw-2")
    for user_id in range(1, 301):
        services.user_connect(user_id=user_id, gateway_id="gw-1" if user_id % 2 else "gw-2", connection_id="c")
    ids = range(1, 1001)
    for selector in (selectors.user_ids_online, selectors.gateways_for_users, selectors.routes_for_users):
        with CaptureQueriesContext(connection) as queries:
            result = selector(user_ids=ids)
        assert len(queries) == 1, selector.__name__
        assert len(result) in (300, 2)
    assert selectors.gateways_for_users(user_ids=[1, 2, 3, 4, 999]) == {"gw-1": [1, 3], "gw-2": [2, 4]}


def test_selectors_with_no_ids_make_no_query(clock):
    with CaptureQueriesContext(connection) as queries:
        assert selectors.user_ids_online(user_ids=[]) == set()
        assert selectors.gateways_for_users(user_ids=iter(())) == {}
        assert selectors.routes_for_users(user_ids=()) == {}
    assert len(queries) == 0


def test_services_validate_in_process_callers(register_gateway, clock):
    from chatproject.exceptions import InvalidInput, NotFound

    register_gateway("gw-1")
    with pytest.raises(InvalidInput):
        services.user_connect(user_id=0, gateway_id="gw-1", connection_id="c")
    with pytest.raises(InvalidInput):
        services.user_connect(user_id=True, gateway_id="gw-1", connection_id="c")
    with pytest.raises(NotFound):
        services.user_connect(user_id=1, gateway_id="gw-9", connection_id="c")
    with pytest.raises(InvalidInput):
        services.gateway_register(gateway_id="bad id", address="h", port=1)


def test_gateways_for_users_groups_each_user_once_and_skips_gateways_known_dead(register_gateway, clock, monkeypatch):
    # On PostgreSQL the grouping is the database's (plain SQL): it must answer as the ORM does.
    register_gateway("gw-1")
    register_gateway("gw-2")
    register_gateway("gw-3")
    for user_id, gateway_id, connection_id in [(7, "gw-1", "a"), (7, "gw-1", "b"), (3, "gw-1", "c"), (5, "gw-2", "d")]:
        services.user_connect(user_id=user_id, gateway_id=gateway_id, connection_id=connection_id)
    services.user_connect(user_id=9, gateway_id="gw-3", connection_id="e")
    assert selectors.gateways_for_users(user_ids=[9, 7, 5, 3, 7, 11]) == {"gw-1": [3, 7], "gw-2": [5], "gw-3": [9]}
    monkeypatch.setattr(selectors.liveness, "dead_gateway_ids", lambda: frozenset({"gw-3"}))
    assert selectors.gateways_for_users(user_ids=[9, 7, 5, 3]) == {"gw-1": [3, 7], "gw-2": [5]}


def test_gateways_for_room_finds_the_members_who_may_see_the_seq_and_their_gateways(
    register_gateway, clock, monkeypatch, make_user
):
    """The route lookup of a message: the room's members who joined before its seq, on live
    gateways, in one query; on PostgreSQL plain SQL that must answer as the ORM does."""
    from meta.models import Membership, Room

    register_gateway("gw-1")
    register_gateway("gw-2")
    register_gateway("gw-3")
    early, other, late, offline, outsider = (make_user() for _ in range(5))
    room = Room.objects.create(name="r", is_group=True, last_seq=10)
    for user, joined in [(early, 0), (other, 4), (late, 10), (offline, 0)]:
        Membership.objects.create(room=room, user=user, joined_seq=joined)
    for user, gateway_id, connection_id in [
        (early, "gw-1", "a"),
        (early, "gw-2", "b"),
        (other, "gw-2", "c"),
        (late, "gw-1", "d"),
        (outsider, "gw-1", "e"),
    ]:
        services.user_connect(user_id=user.pk, gateway_id=gateway_id, connection_id=connection_id)
    with CaptureQueriesContext(connection) as queries:
        routes = selectors.gateways_for_room(room_id=room.pk, before_seq=10)
    assert len(queries) == 1
    assert routes == {"gw-1": [early.pk], "gw-2": sorted([early.pk, other.pk])}
    # the member who joined at seq 10 sees entry 11 on
    assert selectors.gateways_for_room(room_id=room.pk, before_seq=11) == {
        "gw-1": sorted([early.pk, late.pk]),
        "gw-2": sorted([early.pk, other.pk]),
    }
    monkeypatch.setattr(selectors.liveness, "dead_gateway_ids", lambda: frozenset({"gw-2"}))
    assert selectors.gateways_for_room(room_id=room.pk, before_seq=10) == {"gw-1": [early.pk]}
    assert selectors.gateways_for_room(room_id=room.pk + 1, before_seq=10) == {}
    clock.advance(3600)  # every database heartbeat is stale
    assert selectors.gateways_for_room(room_id=room.pk, before_seq=10) == {}
