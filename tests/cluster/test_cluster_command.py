"""`manage.py cluster`: five real processes on the test database, found through the registry,
delivering a message across processes, and stopped cleanly by one SIGINT; a process that dies
restarted, one that keeps dying given up while the others keep serving; and the clear
refusals when something it needs is missing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from registry.models import GatewayInstance, SendInstance
from tests.cluster.conftest import (
    authed,
    close_code,
    command_env,
    database_env,
    endpoint,
    free_port,
    free_port_range,
    next_chat,
    open_socket,
    register_and_login,
    run_manage,
)
from tests.send.conftest import FRESH_FIELDS
from tests.support.servers import ServerProcess, wait_until

NAMES = ("send", "meta", "registry", "gw-1", "gw-2")


class Cluster:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path, base_port: int) -> None:
        self.process = process
        self.log_path = log_path
        self.base_port = base_port
        self.ports = {name: base_port + offset for offset, name in enumerate(NAMES)}
        self.servers = {name: endpoint(name, port, process, log_path) for name, port in self.ports.items()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __getitem__(self, name: str) -> ServerProcess:
        return self.servers[name]


@contextlib.contextmanager
def running_cluster(*args: str, **env: str | None) -> Iterator[Cluster]:
    """`manage.py cluster --base-port <free range>` on the test database; yields once it says
    it is ready, and always stops it (SIGINT, then SIGKILL) when the block ends. `env`
    overrides the command's environment (None removes a variable)."""
    base_port = free_port_range(len(NAMES))
    extra = [] if settings.REDIS_URL else ["--without-redis"]
    log_file = tempfile.NamedTemporaryFile(prefix="chat-cluster-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "cluster", "--base-port", str(base_port), *extra, *args],
        cwd=settings.BASE_DIR,
        env=command_env(**database_env(), **env),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    cluster = Cluster(process, log_path, base_port)
    try:
        wait_until(
            lambda: "cluster ready" in cluster.log() or process.poll() is not None,
            timeout=30,
            what="the cluster to be ready",
        )
        assert process.poll() is None, cluster.log()
        yield cluster
    except BaseException:
        sys.stderr.write(f"\n--- log of the cluster ({log_path}) ---\n{cluster.log()}\n--- end of log ---\n")
        raise
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        log_path.unlink(missing_ok=True)


@pytest.mark.crossprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(40)  # the whole life of a cluster, start to stop, is bounded
def test_the_cluster_serves_delivers_and_stops_cleanly_on_ctrl_c():
    with running_cluster() as cluster:
        ports = cluster.ports
        # Every process answers /health.
        for name in NAMES:
            status, body = cluster[name].get("/health")
            assert (status, body["status"], body["database"]) == (200, "ok", "ok"), (name, body)
        # The summary names every process and its URL; every child line carries its name.
        log = cluster.log()
        for name in ("send", "meta", "registry"):
            assert re.search(rf"cluster  \|\s+{name}\s+\d+\s+http://127\.0\.0\.1:{ports[name]}/ ", log), log
        for name in ("gw-1", "gw-2"):
            assert re.search(rf"cluster  \|\s+{name}\s+\d+\s+ws://127\.0\.0\.1:{ports[name]}/api/ws ", log), log
            assert f"{name:<8} | Serving on http://127.0.0.1:{ports[name]}/" in log

        # The registry knows both gateways and the send process, at the ports the cluster chose.
        registry = cluster["registry"]
        status, body = registry.get("/registry/gateway/instances", internal=True)
        assert status == 200, body
        assert {g["gateway_id"]: (g["address"], g["port"]) for g in body["data"]["gateways"]} == {
            "gw-1": ("127.0.0.1", ports["gw-1"]),
            "gw-2": ("127.0.0.1", ports["gw-2"]),
        }
        status, body = registry.get("/registry/send/instances", internal=True)
        assert status == 200, body
        assert [(s["instance_id"], s["port"]) for s in body["data"]["instances"]] == [("send-1", ports["send"])]

        # A conversation the way clients hold it: accounts on meta, the gateway from the
        # registry, the message through send.
        alice_id, alice_token = register_and_login(cluster["meta"], "alice")
        bob_id, bob_token = register_and_login(cluster["meta"], "bob")
        status, body = authed(
            cluster["meta"],
            alice_token,
            "/api/chat/group/create",
            {"name": "c", "is_group": True, "member_ids": [bob_id]},
        )
        assert status == 200, body
        room_id = body["data"]["room_id"]
        status, body = registry.get(f"/registry/gateway/available?user_id={bob_id}")
        assert status == 200, body
        gateway = body["data"]
        assert gateway["gateway_id"] in {"gw-1", "gw-2"}
        assert (gateway["address"], gateway["port"]) == ("127.0.0.1", ports[gateway["gateway_id"]])
        ws = open_socket(f"ws://{gateway['address']}:{gateway['port']}/api/ws", bob_token)
        try:
            content = {"type": "text", "text": "hello through the cluster"}
            status, body = authed(
                cluster["send"],
                alice_token,
                "/api/chat/send_message",
                {"room_id": room_id, "content": content, "client_msg_id": "c-1"},
            )
            assert status == 200, body
            sent = body["data"]
            ws.settimeout(10)
            chat = next_chat(ws)
            assert chat == {
                "id": sent["msgID"],
                "type": "chat",
                "room_id": room_id,
                "sender_id": alice_id,
                "seq": 1,
                "created_at": sent["created_at"],
                "client_msg_id": "c-1",
                **FRESH_FIELDS,
                "payload": content,
            }

            # Ctrl-C: the socket is told the server is going away, every process stops, the
            # cluster exits 0 and nothing stays registered.
            cluster.process.send_signal(signal.SIGINT)
            assert close_code(ws) == 1001
        finally:
            ws.close()
        assert cluster.process.wait(timeout=20) == 0, cluster.log()
        log = cluster.log()
        assert "cluster  | stopped" in log
        for name in ("gw-1", "gw-2", "send-1"):
            assert f"unregistered {name}" in log
        assert "Traceback" not in log
        assert not GatewayInstance.objects.exists()
        assert not SendInstance.objects.exists()


def raw_get(server: ServerProcess, path: str, host: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.crossprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(40)
def test_the_cluster_runs_without_debug_and_answers_a_foreign_host_in_the_envelope():
    # As on a fresh machine: no DJANGO_DEBUG, no secrets.
    with running_cluster(DJANGO_DEBUG=None, DJANGO_SECRET_KEY=None, INTERNAL_API_TOKEN=None) as cluster:
        log = cluster.log()
        assert "DJANGO_SECRET_KEY is not set: generated a random one for this run" in log
        assert "INTERNAL_API_TOKEN is not set: generated a random one for this run" in log
        meta = cluster["meta"]
        status, body = raw_get(meta, "/api/joined_rooms", "evil.example")
        assert status == 400
        assert json.loads(body) == {
            "code": 400,
            "msg": "this server does not serve the host named in the Host header",
        }
        # DEBUG is off: an unknown path is the envelope, and nothing shows settings.
        status, body = raw_get(meta, "/no-such-page", "127.0.0.1")
        assert status == 404
        assert b"DATABASE" not in body
        # The generated secrets work: accounts, tokens and the internal calls between processes.
        register_and_login(meta, "dana")
        wait_until(lambda: "Invalid HTTP_HOST header: 'evil.example'" in cluster.log(), timeout=5, what="log line")
        lines = [line for line in cluster.log().splitlines() if "evil.example" in line]
        assert len(lines) == 1, lines
        assert "Traceback" not in cluster.log()


def _pid(log: str, name: str) -> int:
    """The pid the cluster's table gives a child."""
    return int(re.search(rf"cluster  \|\s+{name}\s+(\d+)\s", log).group(1))


@pytest.mark.crossprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_killed_gateway_is_restarted_while_the_others_keep_serving():
    with running_cluster() as cluster:
        pid = _pid(cluster.log(), "gw-2")
        os.kill(pid, signal.SIGKILL)
        wait_until(
            lambda: re.search(r"gw-2 was killed by SIGKILL after [\d.]+ s; restarting it in 0\.5 s", cluster.log()),
            timeout=5,
            what="the cluster to notice",
        )
        # The others never stopped serving.
        for name in ("send", "meta", "registry", "gw-1"):
            assert cluster[name].get("/health")[0] == 200, name
        back = wait_until(
            lambda: re.search(r"cluster  \| gw-2 is serving again \(pid (\d+)\)", cluster.log()),
            timeout=20,
            what="gw-2 to serve again",
        )
        assert int(back.group(1)) != pid
        assert "cluster  | restarting gw-2 (restart 1)" in cluster.log()
        # Registered again at its port, and a client can use it.
        status, body = cluster["registry"].get("/registry/gateway/instances", internal=True)
        assert status == 200, body
        assert sorted((g["gateway_id"], g["port"]) for g in body["data"]["gateways"]) == [
            ("gw-1", cluster.ports["gw-1"]),
            ("gw-2", cluster.ports["gw-2"]),
        ]
        _user_id, token = register_and_login(cluster["meta"], "rita")
        open_socket(f"ws://127.0.0.1:{cluster.ports['gw-2']}/api/ws", token).close()

        # Ctrl-C still stops everything in order, and the cluster exits 0.
        cluster.process.send_signal(signal.SIGINT)
        assert cluster.process.wait(timeout=20) == 0, cluster.log()
        log = cluster.log()
        assert "cluster  | stopped" in log
        for name in ("gw-1", "gw-2", "send-1"):
            assert f"unregistered {name}" in log
        assert not GatewayInstance.objects.exists()
        assert not SendInstance.objects.exists()


@pytest.mark.crossprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_process_that_keeps_dying_at_start_up_is_given_up_and_the_others_keep_serving():
    with running_cluster() as cluster:
        port = cluster.ports["gw-2"]
        os.kill(_pid(cluster.log(), "gw-2"), signal.SIGKILL)
        # Something else takes gw-2's port before the cluster restarts it: every restart dies.
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            wait_until(lambda: _bind(squatter, port), timeout=0.4, interval=0.01, what="gw-2's port")
            squatter.listen()
            gave_up = wait_until(
                lambda: re.search(r"cluster  \| giving up on gw-2: it (.*)", cluster.log()),
                timeout=90,
                what="the cluster to give up on gw-2",
            )
        finally:
            squatter.close()
        log = cluster.log()
        assert re.fullmatch(
            r"exited with code \d+ after [\d.]+ s, 5 deaths in a row each within 30 s of starting; "
            r"send, meta, registry, gw-1 keep serving",
            gave_up.group(1),
        ), gave_up.group(1)
        # The backoff doubled: 0.5, 1, 2, 4 s; each restart printed; the last words quoted.
        delays = re.findall(
            r"gw-2 (?:was killed by SIGKILL|exited with code \d+) after [\d.]+ s; restarting it in ([\d.]+) s", log
        )
        assert delays == ["0.5", "1", "2", "4"], log
        assert "cluster  | restarting gw-2 (restart 4)" in log
        last_lines = log[log.index("cluster  | the last lines of gw-2:") :]
        assert "Address already in use" in last_lines
        # The others keep serving, and the cluster keeps running until told to stop.
        for name in ("send", "meta", "registry", "gw-1"):
            assert cluster[name].get("/health")[0] == 200, name
        assert cluster.process.poll() is None
        cluster.process.send_signal(signal.SIGINT)
        assert cluster.process.wait(timeout=20) == 1, cluster.log()
        log = cluster.log()
        assert "cluster  | stopped; gave up on gw-2" in log
        assert "CommandError: the cluster ran without gw-2, which kept failing" in log
        assert "unregistered gw-1" in log and "unregistered send-1" in log


def _bind(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def _refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.crossprocess
def test_an_unreachable_postgresql_is_one_clear_line_and_exit_2():
    port = free_port()
    result = run_manage(
        "cluster",
        env=command_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/chat", REDIS_URL="redis://127.0.0.1:1/0"),
    )
    assert _refusal(result) == (
        f"CommandError: cannot reach PostgreSQL at 127.0.0.1:{port} (DATABASE_URL): connection refused"
    )


@pytest.mark.crossprocess
def test_an_unreachable_redis_is_one_clear_line_and_exit_2(tmp_path):
    port = free_port()
    result = run_manage(
        "cluster",
        env=command_env(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", REDIS_URL=f"redis://127.0.0.1:{port}/0"),
    )
    assert _refusal(result) == f"CommandError: cannot reach Redis at 127.0.0.1:{port} (REDIS_URL): connection refused"


@pytest.mark.crossprocess
def test_missing_settings_and_a_taken_port_are_refused_before_anything_starts(tmp_path):
    result = run_manage("cluster", env=command_env(DATABASE_URL=None, REDIS_URL="redis://127.0.0.1:1/0"))
    assert _refusal(result) == (
        "CommandError: DATABASE_URL is not set: a cluster needs PostgreSQL, "
        "e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat"
    )
    sqlite = f"sqlite:///{tmp_path}/db.sqlite3"
    result = run_manage("cluster", env=command_env(DATABASE_URL=sqlite, REDIS_URL=None))
    assert _refusal(result) == (
        "CommandError: REDIS_URL is not set: the processes push messages to each other through Redis, "
        "e.g. REDIS_URL=redis://127.0.0.1:6379/0 (or pass --without-redis to try the cluster without it)"
    )
    base = free_port_range(5)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", base + 3))
        taken.listen()
        result = run_manage(
            "cluster", "--base-port", str(base), "--without-redis", env=command_env(DATABASE_URL=sqlite)
        )
    assert _refusal(result) == (
        f"CommandError: port {base + 3} (gw-1) on 127.0.0.1 is not free (Address already in use): "
        "stop what listens there or shift every port with --base-port"
    )
    assert "migrations" not in result.stdout  # refused before migrating
