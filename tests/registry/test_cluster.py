"""Two real gateway processes on loopback: they register and heartbeat, `available` spreads new
users over them and sends a reconnecting user back, and a SIGKILLed one drops out of every
answer within the dead-after timeout (3 s here)."""

from __future__ import annotations

import signal
import time

import pytest

from registry.models import GatewayInstance
from tests.support.servers import running_server, wait_until

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

DEAD_AFTER = 3.0


def _gateways(server) -> dict[str, dict]:
    status, body = server.get("/registry/gateway/instances", internal=True)
    assert status == 200, body
    return {gateway["gateway_id"]: gateway for gateway in body["data"]["gateways"]}


def _available(server, user_id: int) -> str:
    status, body = server.get(f"/registry/gateway/available?user_id={user_id}")
    assert status == 200, body
    return body["data"]["gateway_id"]


def _routes(server, user_ids: list[int]) -> dict:
    status, body = server.post("/registry/user/routes/batch", {"user_ids": user_ids}, internal=True)
    assert status == 200, body
    return body["data"]


def test_two_gateways_register_spread_stick_and_die(settings):
    with running_server(name="a", gateway_id="gw-a") as a, running_server(name="b", gateway_id="gw-b") as b:
        servers = {"gw-a": a, "gw-b": b}
        # Both register by themselves, with the port they actually serve on.
        registered = wait_until(lambda: _gateways(a) if len(_gateways(a)) == 2 else None, timeout=5, what="both")
        assert {gid: (g["address"], g["port"]) for gid, g in registered.items()} == {
            "gw-a": ("127.0.0.1", a.port),
            "gw-b": ("127.0.0.1", b.port),
        }
        assert registered["gw-a"]["ws_url"] == f"ws://127.0.0.1:{a.port}/api/ws"
        # ... and heartbeat: every last_heartbeat moves on.
        wait_until(
            lambda: all(
                _gateways(b)[gid]["last_heartbeat"] > registered[gid]["last_heartbeat"] for gid in ("gw-a", "gw-b")
            ),
            timeout=4,
            what="heartbeats",
        )

        # New users spread over both (each is connected where it was sent, as a client would):
        # each process spreads the clients it sends itself (registry/snapshot.py).
        chosen = {}
        for user_id in range(1, 7):
            via = a if user_id % 2 else b  # any process answers every path
            chosen[user_id] = _available(via, user_id)
            status, _ = via.post(
                "/registry/user/connect",
                {"user_id": user_id, "gateway_id": chosen[user_id], "connection_id": f"c{user_id}"},
                internal=True,
            )
            assert status == 200
        assert set(chosen.values()) == {"gw-a", "gw-b"}
        routes = _routes(b, list(range(1, 8)))
        assert {int(uid): route["gateway_id"] for uid, route in routes.items()} == chosen

        # A user who disconnects comes back to the same gateway, however the others spread.
        returning = 1
        home = chosen[returning]
        other = "gw-b" if home == "gw-a" else "gw-a"
        a.post(
            "/registry/user/disconnect",
            {"user_id": returning, "gateway_id": home, "connection_id": f"c{returning}"},
            internal=True,
        )
        for extra in (101, 102):
            a.post(
                "/registry/user/connect", {"user_id": extra, "gateway_id": home, "connection_id": "x"}, internal=True
            )
        assert str(returning) not in _routes(a, [returning])
        assert {_available(b, 999 - n) for n in range(4)} == {"gw-a", "gw-b"}  # new users spread
        assert {_available(b, returning) for _ in range(6)} == {home}  # the reconnect lease wins

        # SIGKILL the returning user's gateway: no unregistration, only the timeout.
        victim, survivor = servers[home], servers[other]
        victim.signal(signal.SIGKILL)
        victim.wait_exit(timeout=5)
        killed_at = time.monotonic()
        wait_until(lambda: list(_gateways(survivor)) == [other], timeout=DEAD_AFTER + 2, what="the dead one gone")
        assert time.monotonic() - killed_at <= DEAD_AFTER + 2
        assert {_available(survivor, user_id) for user_id in (returning, 2, 3, 999)} == {other}
        routes = _routes(survivor, [*range(1, 7), 101, 102])
        assert {int(uid) for uid in routes} == {uid for uid, gid in chosen.items() if gid == other}
        assert {route["gateway_id"] for route in routes.values()} == {other}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_gateway_unregisters_at_once(signum):
    with running_server(name="stop", gateway_id="gw-stop", env={"REGISTRY_DEAD_AFTER_SECONDS": "30"}) as server:
        wait_until(lambda: "gw-stop" in _gateways(server), timeout=5, what="registered")
        server.signal(signum)
        assert server.wait_exit(timeout=10) == 0, server.log()
        # Gone long before its 30 s expiry: it unregistered itself.
        assert not GatewayInstance.objects.filter(pk="gw-stop").exists()
        assert "unregistered gw-stop" in server.log()


def test_a_gateway_registers_again_after_its_record_is_gone():
    with running_server(name="a", gateway_id="gw-a") as a:
        wait_until(lambda: "gw-a" in _gateways(a), timeout=5, what="registered")
        status, _ = a.delete("/registry/gateway/gw-a", internal=True)
        assert status == 200
        assert _gateways(a) == {}
        # Its next heartbeat is a 404, after which it registers again by itself.
        wait_until(lambda: "gw-a" in _gateways(a), timeout=4, what="registered again")
        assert "expired in the registry; registering again" in a.log()


def test_a_real_socket_is_routed_counted_and_leased(make_user, token_for):
    import websocket  # websocket-client

    user = make_user()
    with running_server(name="a", gateway_id="gw-a") as a, running_server(name="b", gateway_id="gw-b") as b:
        servers = {"gw-a": a, "gw-b": b}
        wait_until(lambda: len(_gateways(a)) == 2, timeout=5, what="both registered")
        home = _available(b, user.id)
        port = servers[home].port
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/ws", header=[f"Authorization: Bearer {token_for(user)}"], timeout=5
        )
        try:
            assert '"Connected to WebSocket server"' in ws.recv()
            route = wait_until(lambda: _routes(b, [user.id]).get(str(user.id)), timeout=3, what="the route")
            assert route == {
                "gateway_id": home,
                "address": f"127.0.0.1:{port}",
                "status": "connected",
                "gateways": [home],
            }
            # The gateway's own heartbeat reports the socket.
            wait_until(lambda: _gateways(a)[home]["connected_users"] == 1, timeout=3, what="the count")
        finally:
            ws.close()
        wait_until(lambda: _routes(b, [user.id]) == {}, timeout=3, what="the route gone")
        # Make the user's gateway the busier one: the reconnect lease still sends them back.
        for other_user in (501, 502):
            a.post("/registry/user/connect", {"user_id": other_user, "gateway_id": home}, internal=True)
        assert _available(a, 999) != home
        assert _available(b, user.id) == home
