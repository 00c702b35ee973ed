"""`manage.py serve --server uvicorn` (here through CHAT_SERVER, as `make run SERVER=uvicorn`
sets it): HTTP and WebSocket on uvicorn, registration at start, the protocol's own close codes,
and a SIGTERM or SIGINT that closes sockets with 1001 (not uvicorn's 1012), unregisters and
exits 0."""

from __future__ import annotations

import json
import signal
import urllib.request

import pytest
import websocket

from registry.models import GatewayInstance, SendInstance
from tests.cluster.conftest import authed, close_code, next_chat, open_socket, register_and_login
from tests.send.conftest import FRESH_FIELDS
from tests.support.servers import running_server, wait_until

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

UVICORN = {"CHAT_SERVER": "uvicorn", "REGISTRY_DEAD_AFTER_SECONDS": "30"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_uvicorn_serves_http_and_websocket_and_stops_with_1001(signum):
    with running_server(name="uvicorn", gateway_id="gw-uvi", roles="all", env=UVICORN) as server:
        with urllib.request.urlopen(f"{server.base_url}/health", timeout=5) as response:
            assert response.headers["server"] == "uvicorn"
            health = json.loads(response.read())
        assert (health["status"], health["gateways"], health["send_instances"]) == ("ok", 1, 1)
        # Registered before serving, with the port the kernel picked (--port 0).
        status, body = server.get("/registry/gateway/instances", internal=True)
        assert status == 200, body
        assert [(g["gateway_id"], g["port"], g["ws_url"]) for g in body["data"]["gateways"]] == [
            ("gw-uvi", server.port, f"ws://127.0.0.1:{server.port}/api/ws")
        ]

        alice_id, alice_token = register_and_login(server, "alice")
        bob_id, bob_token = register_and_login(server, "bob")
        group = {"name": "u", "is_group": True, "member_ids": [bob_id]}
        status, body = authed(server, alice_token, "/api/chat/group/create", group)
        assert status == 200, body
        room_id = body["data"]["room_id"]
        url = f"ws://127.0.0.1:{server.port}/api/ws"
        bob = open_socket(url, bob_token)
        try:
            content = {"type": "text", "text": "served by uvicorn"}
            body = {"room_id": room_id, "content": content, "client_msg_id": "u-1"}
            status, reply = authed(server, alice_token, "/api/chat/send_message", body)
            assert status == 200, reply
            assert next_chat(bob) == {
                "id": reply["data"]["msgID"],
                "type": "chat",
                "room_id": room_id,
                "sender_id": alice_id,
                "seq": 1,
                "created_at": reply["data"]["created_at"],
                "client_msg_id": "u-1",
                **FRESH_FIELDS,
                "payload": content,
            }
            bob.send(json.dumps({"type": "ping"}))
            assert json.loads(bob.recv()) == {"id": -1, "type": "pong", "room_id": 0, "sender_id": 0, "payload": None}

            server.signal(signum)
            assert close_code(bob) == 1001
        finally:
            bob.close()
        assert server.wait_exit(timeout=15) == 0, server.log()
        log = server.log()
        assert "unregistered gw-uvi" in log
        assert "Traceback" not in log
        assert not GatewayInstance.objects.filter(pk="gw-uvi").exists()
        assert not SendInstance.objects.exists()


def test_uvicorn_closes_oversized_frames_with_1009_and_foreign_origins_with_1008():
    with running_server(name="uvicorn-codes", gateway_id="gw-uvi-codes", roles="all", env=UVICORN) as server:
        _user_id, token = register_and_login(server, "sizer")
        url = f"ws://127.0.0.1:{server.port}/api/ws"
        # Over 64 KiB, up to a MiB (as on daphne): a clean close with 1009 from the consumer,
        # not a connection reset from uvicorn's own frame limit.
        for pad in (64 * 1024, 1000 * 1024):
            ws = open_socket(url, token)
            try:
                ws.send(json.dumps({"type": "ping", "pad": "x" * pad}))
                assert close_code(ws) == 1009, pad
            finally:
                ws.close()
        foreign = websocket.create_connection(
            url, header=[f"Authorization: Bearer {token}"], origin="https://evil.example", timeout=5
        )
        try:
            assert close_code(foreign) == 1008
        finally:
            foreign.close()
        # The server is still well.
        wait_until(lambda: server.get("/health")[0] == 200, timeout=5, what="health")


def test_uvicorn_writes_a_batch_of_presence_frames_that_a_client_reads_one_by_one():
    # A long timer period: bob's and carol's arrivals are (almost always) one batch of presence
    # changes, which reaches alice's socket in one write of two frames (`chat.write`'s `texts`).
    env = {**UVICORN, "DELIVERY_CONFIRM_FLUSH_SECONDS": "2"}
    with running_server(name="uvicorn-presence", gateway_id="gw-uvi-presence", roles="all", env=env) as server:
        alice_id, alice_token = register_and_login(server, "alice")
        people = [register_and_login(server, name) for name in ("bob", "carol")]
        group = {"name": "p", "is_group": True, "member_ids": [user_id for user_id, _ in people]}
        status, body = authed(server, alice_token, "/api/chat/group/create", group)
        assert status == 200, body
        url = f"ws://127.0.0.1:{server.port}/api/ws"
        alice = open_socket(url, alice_token)
        others = [open_socket(url, token) for _, token in people]
        try:
            seen = {}
            while len(seen) < 2:
                frame = json.loads(alice.recv())
                assert frame["type"] == "presence", frame
                seen[frame["payload"]["user_id"]] = frame["payload"]["online"]
            assert seen == {user_id: True for user_id, _ in people}
            # What follows is still read frame by frame.
            body = {"room_id": body["data"]["room_id"], "content": {"type": "text", "text": "after"}}
            status, reply = authed(server, people[0][1], "/api/chat/send_message", body)
            assert status == 200, reply
            assert next_chat(alice)["payload"] == {"type": "text", "text": "after"}
            assert alice_id not in seen
        finally:
            for ws in (alice, *others):
                ws.close()
