"""Helpers of the cluster tests: free ports, the environment of a child command, and a real
user's requests and sockets against processes on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import websocket
from django.conf import settings

from tests.conftest import INTERNAL_TOKEN
from tests.support.servers import FAST_REGISTRY_ENV, ServerProcess, child_database_url


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_range(count: int) -> int:
    """The first of `count` consecutive free ports, found from the kernel's picks."""
    for _ in range(100):
        base = free_port()
        if base + count <= 65535 and all(port_is_free(port) for port in range(base, base + count)):
            return base
    raise AssertionError(f"no {count} consecutive free ports found")


def command_env(**overrides: str | None) -> dict[str, str]:
    """The environment of a `manage.py` child on the running test's database and Redis (when
    configured), with short registry timings; an override of None removes a variable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatproject.settings",
            "DJANGO_DEBUG": "1",
            "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
            "PYTHONUNBUFFERED": "1",
            "CHANNEL_LAYER_PREFIX": f"t{uuid.uuid4().hex[:8]}",
            "CACHE_KEY_PREFIX": f"t{uuid.uuid4().hex[:12]}",
            "DELIVERY_SWEEP_SECONDS": "0.5",
            # Registering and logging in stay cheap on a busy machine.
            "DJANGO_PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
            **FAST_REGISTRY_ENV,
        }
    )
    for name in ("DATABASE_URL", "REDIS_URL", "CHAT_SERVER", "CHAT_ROLES", "GATEWAY_ID", "SEND_INSTANCE_ID"):
        env.pop(name, None)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def database_env() -> dict[str, str]:
    """DATABASE_URL (the test database) and REDIS_URL (when the suite runs on Redis)."""
    env = {"DATABASE_URL": child_database_url()}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    return env


def run_manage(*args: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def endpoint(name: str, port: int, process: subprocess.Popen[bytes], log_path: Path) -> ServerProcess:
    """A `ServerProcess` view of one port of a process the test started (for its requests)."""
    server = ServerProcess(name=name, process=process, log_path=log_path)
    server.port = port
    return server


def authed(server: ServerProcess, token: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def register_and_login(server: ServerProcess, username: str) -> tuple[int, str]:
    status, body = server.post("/register", {"username": username, "password": "secret123"})
    assert status == 200, body
    status, body = server.post("/login", {"username": username, "password": "secret123"})
    assert status == 200, body
    return body["data"]["user_id"], body["data"]["token"]


def open_socket(url: str, token: str) -> websocket.WebSocket:
    """A socket to `url` that has read its welcome frame."""
    ws = websocket.create_connection(url, header=[f"Authorization: Bearer {token}"], timeout=10)
    assert json.loads(ws.recv()) == {
        "id": -1,
        "type": "system",
        "room_id": -1,
        "sender_id": -1,
        "payload": "Connected to WebSocket server",
    }
    return ws


def next_chat(ws: websocket.WebSocket) -> dict[str, Any]:
    """The next chat frame, alone or the first of a batch (a message found by a gateway's
    database sweep rather than pushed comes in a batch), skipping other frames."""
    while True:
        frame = json.loads(ws.recv())
        if frame["type"] == "chat":
            return frame
        if frame["type"] == "batch" and frame["payload"]:
            return frame["payload"][0]


def close_code(ws: websocket.WebSocket) -> int:
    """The code of the close frame the server sends next (data frames before it are skipped)."""
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big")
