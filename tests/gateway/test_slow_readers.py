"""Slow and stalled readers on real servers (daphne and uvicorn), and a user's devices: nothing
a client has not provably read is confirmed, a socket that does not read costs the gateway at
most its budget and is cut off with 4008, and every device gets everything (API.md 5.4, 7.2).

The stalled client is websocket-client's: it reads its socket (and answers the server's pings)
only while the test calls `recv`, like a program that stopped reading, with a small kernel
receive buffer so that the stall shows quickly."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import uuid
from typing import Any

import pytest
import websocket

from meta.models import Membership
from tests.gateway.test_cluster_delivery import authed, register_and_login
from tests.support.servers import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

BUDGET = 64 * 1024
TEXT = "x" * 2000  # about 2 KB a frame
MESSAGES = 120  # about 240 KB: well over the budget


def _server(name: str, server: str, **env: str):
    return running_server(
        name=name,
        roles="all",
        env={
            "CHAT_SERVER": server,
            "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
            "DELIVERY_MAX_UNPROVEN_BYTES": str(BUDGET),
            "DELIVERY_CONFIRM_FLUSH_SECONDS": "0.2",
            "DELIVERY_REDELIVERY_SECONDS": "1",
            "DELIVERY_SWEEP_SECONDS": "1",
            "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
            "LOG_LEVEL": "DEBUG",
            **env,
        },
    )


@pytest.fixture(params=["daphne", "uvicorn"])
def server_kind(request: pytest.FixtureRequest) -> str:
    return request.param


class Reader:
    """A socket the test reads by hand."""

    def __init__(self, server: ServerProcess, token: str, query: str = "") -> None:
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/ws{query}",
            header=[f"Authorization: Bearer {token}"],
            timeout=5,
            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 8192),),
        )
        self.frames: list[dict[str, Any]] = []
        self.close_code: int | None = None
        welcome = self.recv()
        assert welcome is not None and welcome["type"] == "system", welcome

    def recv(self, timeout: float = 5) -> dict[str, Any] | None:
        """The next frame (answering pings on the way); None once the socket is closed."""
        self.ws.settimeout(timeout)
        try:
            opcode, data = self.ws.recv_data(control_frame=False)
        except websocket.WebSocketTimeoutException:
            raise
        except (OSError, websocket.WebSocketException):
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            self.close_code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            return None
        frame = json.loads(data)
        self.frames.append(frame)
        return frame

    def read_until(self, done, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, f"timed out; seqs so far {self.seqs()[-5:]}"
            try:
                if self.recv(timeout=1) is None:
                    return
            except websocket.WebSocketTimeoutException:
                continue

    def pump(self, seconds: float = 0.2) -> None:
        """Keep reading (and answering the server's pings) for a moment."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self.recv(timeout=max(0.01, deadline - time.monotonic())) is None:
                    return
            except websocket.WebSocketTimeoutException:
                return

    def ack_everything(self) -> None:
        for frame in self.frames:
            for chat in frame["payload"] if frame["type"] == "batch" else [frame]:
                if chat.get("type") == "chat":
                    self.ws.send(json.dumps({"type": "ack", "room_id": chat["room_id"], "seq": chat["seq"]}))

    def seqs(self) -> list[int]:
        out: list[int] = []
        for frame in self.frames:
            chats = frame["payload"] if frame["type"] == "batch" else [frame]
            out.extend(c["seq"] for c in chats if c.get("type") == "chat")
        return out

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass


def _room(server: ServerProcess) -> tuple[str, int, int, str]:
    _alice_id, alice = register_and_login(server, "alice")
    bob_id, bob = register_and_login(server, "bob")
    room_id = authed(
        server, alice, "/api/chat/group/create", {"name": "busy", "is_group": True, "member_ids": [bob_id]}
    )["data"]["room_id"]
    return alice, bob_id, room_id, bob


def _send(server: ServerProcess, token: str, room_id: int, count: int) -> None:
    for n in range(count):
        body = {"room_id": room_id, "content": {"type": "text", "text": f"{n} {TEXT}"}}
        assert authed(server, token, "/api/chat/send_message", body)["code"] == 0


def _get(server: ServerProcess, token: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(server.base_url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _acked(user_id: int, room_id: int) -> int:
    return Membership.objects.get(user_id=user_id, room_id=room_id).acked_seq


def _rss_kb(server: ServerProcess) -> int:
    with open(f"/proc/{server.process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_a_stalled_reader_without_acks_is_cut_off_and_gets_everything_on_reconnect(server_kind):
    with _server("stall", server_kind, DELIVERY_SLOW_SECONDS="2") as server:
        alice, bob_id, room_id, bob_token = _room(server)
        bob = Reader(server, bob_token, "?ack=0")
        _send(server, alice, room_id, MESSAGES)
        time.sleep(4)  # bob reads nothing: his budget fills, then stays full past DELIVERY_SLOW_SECONDS
        # Confirmed is only what bob provably read: at most the budget's worth of frames.
        confirmed = _acked(bob_id, room_id)
        assert confirmed < MESSAGES // 2
        bob.read_until(lambda r: r.close_code is not None, timeout=10)  # what it had, then the close
        assert bob.close_code in (4008, None)  # 4008, unless the drop came before the close frame
        first = bob.seqs()
        assert first == sorted(first) and len(first) == len(set(first))
        assert _acked(bob_id, room_id) <= max(first, default=0)
        bob.close()
        again = Reader(server, bob_token, "?ack=0")
        again.read_until(lambda r: MESSAGES in r.seqs())
        assert sorted(set(first) | set(again.seqs())) == list(range(1, MESSAGES + 1))
        assert again.seqs() == list(range(again.seqs()[0], MESSAGES + 1))
        wait_until(lambda: again.pump() or _acked(bob_id, room_id) == MESSAGES, timeout=10, what="all confirmed")
        again.close()


def test_a_reader_that_stalls_then_resumes_gets_everything_in_order_on_the_same_socket(server_kind):
    with _server("pause", server_kind, DELIVERY_SLOW_SECONDS="60") as server:
        alice, bob_id, room_id, bob_token = _room(server)
        bob = Reader(server, bob_token, "?ack=0")
        before = _rss_kb(server)
        _send(server, alice, room_id, MESSAGES)
        time.sleep(2)
        assert _rss_kb(server) - before < 8 * 1024  # held back in the database, not in the gateway
        assert _acked(bob_id, room_id) < MESSAGES // 2
        bob.read_until(lambda r: MESSAGES in r.seqs())
        assert bob.seqs() == list(range(1, MESSAGES + 1))
        wait_until(lambda: bob.pump() or _acked(bob_id, room_id) == MESSAGES, timeout=10, what="all confirmed")
        bob.close()


def test_a_stalled_reader_with_acks_never_gets_a_second_copy_it_has_not_read_the_first_of(server_kind):
    with _server("acks", server_kind, DELIVERY_SLOW_SECONDS="60") as server:
        alice, bob_id, room_id, bob_token = _room(server)
        bob = Reader(server, bob_token, "?ack=1")
        _send(server, alice, room_id, MESSAGES)
        time.sleep(3)  # three redelivery timeouts pass while bob reads nothing
        bob.read_until(lambda r: MESSAGES in r.seqs())
        seqs = bob.seqs()
        # Every message, in order, at most twice (a copy proven read but not yet acked may come
        # again): the stall did not pile copies into the unread socket.
        assert sorted(set(seqs)) == list(range(1, MESSAGES + 1))
        assert max(seqs.count(s) for s in set(seqs)) <= 2
        assert len(seqs) < MESSAGES * 1.5
        assert _acked(bob_id, room_id) == 0
        bob.ack_everything()
        wait_until(lambda: bob.pump() or _acked(bob_id, room_id) == MESSAGES, timeout=10, what="the acks recorded")
        bob.close()


def test_every_device_gets_everything_whatever_the_others_confirmed():
    with _server("devices", "uvicorn") as server:
        alice, bob_id, room_id, bob_token = _room(server)
        phone = Reader(server, bob_token, "?device_id=phone")  # seen once, then offline
        phone.close()
        laptop = Reader(server, bob_token, "?device_id=laptop")
        _send(server, alice, room_id, 20)
        laptop.read_until(lambda r: 20 in r.seqs())
        wait_until(lambda: laptop.pump() or _acked(bob_id, room_id) == 20, timeout=10, what="the laptop's reading")
        # The original kind of client (no device id) is not sent what another socket confirmed.
        plain = Reader(server, bob_token)
        with pytest.raises(websocket.WebSocketTimeoutException):
            plain.recv(timeout=1.5)
        plain.close()
        # The phone, offline while the laptop read, gets all of it on reconnecting.
        phone = Reader(server, bob_token, "?device_id=phone")
        phone.read_until(lambda r: 20 in r.seqs())
        assert phone.seqs() == list(range(1, 21))
        assert [f["type"] for f in phone.frames[:2]] == ["system", "batch"]
        devices = _get(server, bob_token, "/api/me/devices")["data"]["devices"]
        assert sorted(d["device_id"] for d in devices) == ["laptop", "phone"]
        for client in (phone, laptop):
            client.close()
