"""A real `manage.py serve` process with LOG_FORMAT=json and METRICS_TOKEN: its log is JSON
lines with request ids and no token (query strings included), and its /metrics moves while two
users chat."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
import websocket
from prometheus_client.parser import text_string_to_metric_families

from meta.models import User
from meta.services import room_create
from meta.tokens import token_pair_for_user
from tests.support.servers import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True)]

METRICS_TOKEN = "scrape-secret-123"


def call(server: ServerProcess, method: str, path: str, *, token: str | None = None, body: Any = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(server: ServerProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, text = call(server, "GET", "/metrics", token=METRICS_TOKEN)
    assert status == 200, text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize("server_kind", ["daphne", "uvicorn"])
def test_a_served_process_logs_json_without_secrets_and_its_metrics_move(server_kind: str) -> None:
    alice = User.objects.create_user(username="alice", password="secret123")
    bob = User.objects.create_user(username="bob", password="secret123")
    room = room_create(actor=alice, name="g", member_ids=[bob.pk], is_group=True)
    alice_token, bob_token = token_pair_for_user(user=alice).access, token_pair_for_user(user=bob).access
    # Every socket's line (LOG_EACH_SOCKET): the one that carries the query string to redact.
    env = {"LOG_FORMAT": "json", "METRICS_TOKEN": METRICS_TOKEN, "CHAT_SERVER": server_kind, "LOG_EACH_SOCKET": "true"}
    with running_server(name=f"obs-{server_kind}", gateway_id="gw-obs", roles="all", env=env) as server:
        assert call(server, "GET", "/metrics")[0] == 401
        ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/api/ws?token={bob_token}", timeout=5)
        try:
            assert json.loads(ws.recv())["type"] == "system"
            connections = ("chat_gateway_connections", (("gateway", "gw-obs"),))
            assert scrape(server)[connections] == 1
            status, _ = call(server, "GET", f"/api/joined_rooms?token={alice_token}", token=alice_token)
            assert status == 200
            body = {"room_id": room.pk, "content": {"type": "text", "text": "hi"}}
            status, reply = call(server, "POST", "/api/chat/send_message", token=alice_token, body=body)
            assert status == 200, reply
            assert json.loads(ws.recv())["payload"] == {"type": "text", "text": "hi"}

            samples = wait_until(
                lambda: (s := scrape(server))[("chat_delivery_latency_seconds_count", ())] == 1 and s,
                timeout=5,
                what="the delivery latency observation",
            )
            assert samples[("chat_messages_sent_total", ())] == 1
            assert samples[("chat_frames_delivered_total", (("type", "chat"),))] == 1
            assert samples[("chat_gateway_events_received_total", (("type", "deliver"),))] == 1
            route = (("method", "POST"), ("route", "/api/chat/send_message"), ("status", "2xx"))
            assert samples[("chat_http_request_duration_seconds_count", route)] == 1
        finally:
            ws.close()
        wait_until(lambda: scrape(server)[connections] == 0, timeout=5, what="the socket to close")
        server.stop()
        log = server.log()

    for secret in (alice_token, bob_token, METRICS_TOKEN):
        assert secret not in log
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert entries, log
    access = [e for e in entries if e["logger"] == "chatproject.access"]
    joined = [e for e in access if e["message"].startswith("GET /api/joined_rooms?token=[redacted] 200 ")]
    assert len(joined) == 1, access
    assert len(joined[0]["request_id"]) == 16 and joined[0]["request_id"] != "-"
    if server_kind == "uvicorn":
        # uvicorn logs a WebSocket's path with its query string; the token in it is cut out.
        assert any(e["message"].endswith('"WebSocket /api/ws?token=[redacted]" [accepted]') for e in entries), log
