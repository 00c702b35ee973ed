"""The room timeline across real processes (API.md §7.1): a send process and two gateways on
loopback. Messages and their updates (edits, reactions, pins, a delete) reach the members
online on either gateway in one seq order without a gap; a member who drops and comes back on
the other gateway misses nothing; a member offline throughout gets every message and update, in
order, on connecting, each message as it is now. With REDIS_URL set pushes cross the Redis
channel layer; without it the gateways' database sweep alone must keep the same promises."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from send.models import Message, MessageUpdate
from tests.gateway.test_cluster_delivery import register_and_login
from tests.support.servers import ServerProcess, running_server, wait_until
from tests.support.wsclient import ChatClient

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

ROUNDS = 12


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


def call(server: ServerProcess, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{path} {body}: {error.code} {error.read()!r}") from None
    assert reply["code"] == 0, reply
    return reply["data"]


def test_messages_and_updates_reach_everyone_in_order_across_gateways_and_reconnects(cluster):
    send, gw_a, gw_b = cluster["send"], cluster["gw-a"], cluster["gw-b"]
    (alice_id, alice), (bob_id, bob), (carol_id, carol) = (
        register_and_login(send, n) for n in ("alice", "bob", "carol")
    )
    room_id = call(
        send, alice, "/api/chat/group/create", {"name": "t", "is_group": True, "member_ids": [bob_id, carol_id]}
    )["room_id"]
    on_a = ChatClient(name="alice", token=alice, user_id=alice_id, registry=send, acks=True, gateway=gw_a).start()
    on_b = ChatClient(name="bob", token=bob, user_id=bob_id, registry=send, acks=False, gateway=gw_b).start()
    clients = [on_a, on_b]
    try:
        ids: list[int] = []
        for n in range(ROUNDS):
            sender = alice if n % 2 == 0 else bob
            ids.append(
                call(
                    send,
                    sender,
                    "/api/chat/send_message",
                    {
                        "room_id": room_id,
                        "content": {"type": "text", "text": f"m{n}"},
                        "reply_to": ids[-1] if ids else None,
                    },
                )["msgID"]
            )
            call(send, bob, "/api/chat/react", {"message_id": ids[-1], "key": "👍"})
            if n % 3 == 0:
                call(
                    send,
                    sender,
                    "/api/chat/edit_message",
                    {"message_id": ids[-1], "content": {"type": "text", "text": f"m{n}!"}},
                )
            if n == ROUNDS // 2:
                # Bob's socket drops; he comes back on the other gateway a moment later.
                on_b.stop()
                call(send, alice, "/api/chat/pin", {"message_id": ids[0]})
                call(send, alice, "/api/chat/delete_message", {"message_id": ids[1]})
                on_b = ChatClient(
                    name="bob-again", token=bob, user_id=bob_id, registry=send, acks=True, gateway=gw_a
                ).start()
                clients.append(on_b)
        call(send, bob, "/api/chat/react", {"message_id": ids[2], "key": "👍", "on": False})
        last_seq = call(
            send, alice, "/api/chat/send_message", {"room_id": room_id, "content": {"type": "text", "text": "end"}}
        )["seq"]
        expected = list(range(1, last_seq + 1))
        kinds = dict(Message.objects.filter(room_id=room_id).values_list("seq", "id"))
        assert len(kinds) + MessageUpdate.objects.filter(room_id=room_id).count() == last_seq

        def has_all(*parts: ChatClient) -> bool:
            seqs = {f["seq"] for client in parts for f in client.timeline(room_id)}
            return seqs >= set(expected)

        wait_until(lambda: has_all(on_a), timeout=30, what="alice holding every entry")
        wait_until(lambda: has_all(clients[1], on_b), timeout=30, what="bob holding every entry across his sockets")
        assert [f["seq"] for f in on_a.timeline(room_id)] == expected
        for frame in on_a.timeline(room_id):
            assert frame["type"] == ("chat" if frame["seq"] in kinds else "update"), frame
        # Each of bob's sockets saw its part in seq order, and together they hold everything.
        for client in (clients[1], on_b):
            seqs = [f["seq"] for f in client.timeline(room_id)]
            assert seqs == sorted(seqs), client.name

        # Carol was offline throughout: on connecting she gets every message and update, in
        # order, in batches, each message as it is now.
        late = ChatClient(name="carol", token=carol, user_id=carol_id, registry=send, acks=True).start()
        clients.append(late)
        wait_until(lambda: has_all(late), timeout=20, what="carol's backlog")
        timeline = late.timeline(room_id)
        assert [f["seq"] for f in timeline] == expected
        assert late.frames[0]["type"] == "batch"
        deleted = next(f for f in timeline if f["type"] == "chat" and f["id"] == ids[1])
        assert (deleted["deleted"], deleted["payload"]) == (True, None)
        assert next(f for f in timeline if f["type"] == "chat" and f["id"] == ids[0])["pinned"] is True
        assert "m1" not in json.dumps([f for f in timeline if f["id"] == ids[1]])
        edited = next(f for f in timeline if f["type"] == "chat" and f["id"] == ids[3])
        assert edited["payload"]["text"] == "m3!" and edited["edited_at"] is not None
        assert edited["reply_to"] == ids[2]
    finally:
        for client in clients:
            client.stop()
