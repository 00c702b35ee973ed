"""Delivery across real processes (API.md §5.4): a send process and two gateways on loopback,
clients discovered through the registry, a gateway killed with SIGKILL in the middle of a
stream of messages. With REDIS_URL set (CI) pushes go through the Redis channel layer; without
it each process has its own in-memory layer, pushes cannot cross processes, and the same
guarantees must hold through the gateways' database sweep alone."""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from tests.support.servers import ServerProcess, running_server, wait_until
from tests.support.wsclient import ChatClient

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

MESSAGES = 60
KILL_AFTER = 20


@pytest.fixture
def cluster() -> Iterator[dict[str, ServerProcess]]:
    env = {
        "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "DELIVERY_SWEEP_SECONDS": "0.5",
        "DELIVERY_REDELIVERY_SECONDS": "2",
        "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
    }
    with (
        running_server(name="send", roles="send,meta,registry", env=env) as send,
        running_server(name="gw-a", gateway_id="gw-a", env=env) as gw_a,
        running_server(name="gw-b", gateway_id="gw-b", env=env) as gw_b,
    ):
        yield {"send": send, "gw-a": gw_a, "gw-b": gw_b}


def register_and_login(server: ServerProcess, username: str) -> tuple[int, str]:
    status, body = server.post("/register", {"username": username, "password": "secret123"})
    assert status == 200, body
    status, body = server.post("/login", {"username": username, "password": "secret123"})
    assert status == 200, body
    return body["data"]["user_id"], body["data"]["token"]


def authed(server: ServerProcess, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    import json
    import urllib.request

    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_every_client_gets_every_message_once_in_order_through_a_gateway_crash(cluster):
    send, gw_a = cluster["send"], cluster["gw-a"]
    users = [register_and_login(send, f"user{i}") for i in range(8)]
    offline_id, offline_token = register_and_login(send, "offline")
    owner_token = users[0][1]
    created = authed(
        send,
        owner_token,
        "/api/chat/group/create",
        {"name": "busy", "is_group": True, "member_ids": [uid for uid, _ in users[1:]] + [offline_id]},
    )
    room_id = created["data"]["room_id"]

    # Half the clients confirm with acks, half never send a frame (like the original clients).
    clients = [
        ChatClient(name=f"user{i}", token=token, user_id=uid, registry=send, acks=i % 2 == 0).start()
        for i, (uid, token) in enumerate(users)
    ]
    try:
        on_a = [c for c in clients if c.gateways[0] == "gw-a"]
        assert on_a and len(on_a) < len(clients), "the registry spreads new users over both gateways"

        for n in range(MESSAGES):
            sender_token = users[n % len(users)][1]
            reply = authed(
                send,
                sender_token,
                "/api/chat/send_message",
                {"room_id": room_id, "content": {"type": "text", "text": f"m{n}"}, "client_msg_id": f"k{n}"},
            )
            assert reply["code"] == 0 and reply["data"]["seq"] == n + 1
            if n + 1 == KILL_AFTER:
                gw_a.signal(signal.SIGKILL)
                gw_a.wait_exit(timeout=5)
            time.sleep(0.02)

        def everyone_has_everything() -> bool:
            return all(len(c.unique_chats(room_id)) >= MESSAGES for c in clients)

        wait_until(everyone_has_everything, timeout=30, what="every client holding every message")
        for client in clients:
            chats = client.unique_chats(room_id)
            assert [f["seq"] for f in chats] == list(range(1, MESSAGES + 1)), client.name
            assert [f["payload"]["text"] for f in chats] == [f"m{n}" for n in range(MESSAGES)]
        for client in on_a:
            assert client.connections >= 2 and client.gateways[-1] == "gw-b", client.name

        # The user who was offline throughout gets everything, in batches, on connecting.
        late = ChatClient(name="offline", token=offline_token, user_id=offline_id, registry=send, acks=False).start()
        clients.append(late)
        wait_until(lambda: len(late.unique_chats(room_id)) >= MESSAGES, timeout=15, what="the backlog")
        assert [f["seq"] for f in late.unique_chats(room_id)] == list(range(1, MESSAGES + 1))
        # Its first timeline frame is a full batch (a `presence` frame about another member, not
        # part of the room's timeline, may come before it: docs/websocket.md, "batch").
        timeline = [f for f in late.frames if f["type"] in {"batch", "chat", "update"}]
        assert timeline[0]["type"] == "batch" and len(timeline[0]["payload"]) == 50, late.frames[:3]
    finally:
        for client in clients:
            client.stop()


def test_an_original_client_receives_its_own_and_others_messages_as_chat_frames(transactional_db):
    with running_server(name="single", roles="all") as server:
        alice_id, alice_token = register_and_login(server, "alice")
        bob_id, bob_token = register_and_login(server, "bob")
        room_id = authed(
            server, alice_token, "/api/chat/group/create", {"name": "pair", "is_group": True, "member_ids": [bob_id]}
        )["data"]["room_id"]
        alice = ChatClient(name="alice", token=alice_token, user_id=alice_id, registry=server, acks=False).start()
        bob = ChatClient(name="bob", token=bob_token, user_id=bob_id, registry=server, acks=False).start()
        try:
            for token, text in ((alice_token, "hi bob"), (bob_token, "hi alice")):
                body = {"room_id": room_id, "content": {"type": "text", "text": text}}
                assert authed(server, token, "/api/chat/send_message", body)["code"] == 0
            for client in (alice, bob):
                wait_until(lambda c=client: len(c.unique_chats(room_id)) == 2, timeout=10, what="both messages")
                chats = client.unique_chats(room_id)
                assert [(f["type"], f["sender_id"], f["payload"]) for f in chats] == [
                    ("chat", alice_id, {"type": "text", "text": "hi bob"}),
                    ("chat", bob_id, {"type": "text", "text": "hi alice"}),
                ]
            acks = [f for f in alice.frames if f["type"] == "ack"]
            assert [(f["room_id"], f["seq"], f["sender_id"], f["payload"]) for f in acks] == [(room_id, 1, 0, None)]
        finally:
            alice.stop()
            bob.stop()


def test_stopping_a_gateway_closes_its_sockets_with_1001_and_unregisters_it(transactional_db):
    with running_server(name="gw-stop", gateway_id="gw-stop", roles="all") as server:
        user_id, token = register_and_login(server, "leaver")
        client = ChatClient(name="leaver", token=token, user_id=user_id, registry=server, acks=False)
        client.start()
        ws = client._ws
        client._stop.set()  # read the close frame here rather than reconnecting
        client._thread.join(timeout=5)
        server.signal(signal.SIGTERM)
        ws.settimeout(5)
        opcode, data = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1001
        assert server.wait_exit(timeout=10) == 0
        from registry.models import GatewayInstance

        assert not GatewayInstance.objects.filter(pk="gw-stop").exists()


def test_a_real_server_closes_with_the_protocols_own_codes(transactional_db):
    """1008 and 1009 on daphne itself (its WebSocket library refuses them from applications)."""
    with running_server(name="codes", gateway_id="gw-codes", roles="all") as server:
        _user_id, token = register_and_login(server, "coder")
        url = f"ws://127.0.0.1:{server.port}/api/ws"
        foreign = websocket.create_connection(
            url, header=[f"Authorization: Bearer {token}"], origin="https://evil.example", timeout=5
        )
        opcode, data = foreign.recv_data(control_frame=True)
        assert (opcode, int.from_bytes(data[:2], "big")) == (websocket.ABNF.OPCODE_CLOSE, 1008)
        big = websocket.create_connection(url, header=[f"Authorization: Bearer {token}"], timeout=5)
        assert json.loads(big.recv())["type"] == "system"
        big.send(json.dumps({"type": "ping", "pad": "x" * (64 * 1024)}))
        opcode, data = big.recv_data(control_frame=True)
        assert (opcode, int.from_bytes(data[:2], "big")) == (websocket.ABNF.OPCODE_CLOSE, 1009)
