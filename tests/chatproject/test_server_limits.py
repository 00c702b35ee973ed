"""What a client may send, enforced by the real servers (daphne and uvicorn, `manage.py serve`):
bodies over 1 MiB refused with 413 before they are stored or parsed, without stalling anyone
else; chunked bodies read whole; oversized request heads answered in the envelope; oversized
WebSocket frames closed with 1009 that the client can read."""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from tests.cluster.conftest import authed, close_code, open_socket, register_and_login
from tests.support.servers import ServerProcess, running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

MIB = 1024 * 1024
SERVERS = ["daphne", "uvicorn"]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    env = {"CHAT_SERVER": request.param, "REGISTRY_DEAD_AFTER_SECONDS": "30"}
    with running_server(name=request.param, roles="all", env=env) as process:
        yield process


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_reply(sock: socket.socket, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one HTTP/1.1 reply with a Content-Length."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a reply: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


class Attack:
    """One request whose body is sent from a thread for as long as the server reads it,
    while the reply is read here."""

    def __init__(self, server: ServerProcess, head: bytes, body_chunks: Iterator[bytes]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.sock.sendall(head)
        self.sent = 0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._send, args=(body_chunks,), daemon=True)

    def _send(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                self.sock.sendall(chunk)
                self.sent += len(chunk)
        except OSError as error:  # the server refused and closed: what we expect
            self.error = type(error).__name__

    def run(self) -> tuple[int, dict[str, str], bytes]:
        self.thread.start()
        try:
            return read_reply(self.sock, timeout=30)
        finally:
            self.thread.join(timeout=30)
            self.sock.close()


def repeated(chunk: bytes, total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = chunk[: total - sent]
        sent += len(part)
        yield part


def chunked(chunk: bytes, total: int) -> Iterator[bytes]:
    for part in repeated(chunk, total):
        yield b"%x\r\n%s\r\n" % (len(part), part)
    yield b"0\r\n\r\n"


def probe_latencies(server: ServerProcess, stop: threading.Event, out: list[float]) -> None:
    """Time a small request on one keep-alive connection every 20 ms until `stop`."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        while not stop.is_set():
            started = time.perf_counter()
            sock.sendall(b"GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            status, _, _ = read_reply(sock)
            out.append(time.perf_counter() - started)
            assert status == 404
            time.sleep(0.02)
    finally:
        sock.close()


def test_a_20_mb_form_is_refused_at_once_without_stalling_other_clients(server: ServerProcess) -> None:
    latencies: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe_latencies, args=(server, stop, latencies), daemon=True)
    prober.start()
    time.sleep(0.5)
    before = len(latencies)
    boundary = b"xyzzy"
    size = 20 * MIB
    part = b'--xyzzy\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n' + b"a" * 1000 + b"\r\n"
    head = (
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=%s\r\n"
        b"Content-Length: %d\r\n\r\n" % (boundary, size)
    )
    started = time.perf_counter()
    status, headers, body = Attack(server, head, repeated(part, size)).run()
    refused_after = time.perf_counter() - started
    time.sleep(0.5)  # and whatever the server does after the refusal
    stop.set()
    prober.join(timeout=10)
    during = latencies[before:]
    assert status == 413
    assert json.loads(body) == {"code": 413, "msg": "the body is larger than 1048576 bytes"}
    assert headers["content-type"] == "application/json"
    print(
        f"\n{server.name}: 413 after {refused_after * 1000:.1f} ms; other client's latency over {len(during)} "
        f"requests: median {statistics.median(during) * 1000:.1f} ms, max {max(during) * 1000:.1f} ms"
    )
    assert len(during) >= 10
    assert max(during) < 0.1, during
    assert server.get("/health")[0] == 200


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_300_mb_body_is_refused_without_the_process_growing(server: ServerProcess, framing: str) -> None:
    pid = server.process.pid
    baseline = rss_kib(pid)
    size = 300 * MIB
    piece = b'{"username": "' + b"x" * 65000 + b'"}'
    head = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if framing == "chunked":
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        body = chunked(piece, size)
    else:
        head += b"Content-Length: %d\r\n\r\n" % size
        body = repeated(piece, size)
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    attack = Attack(server, head, body)
    status, _headers, reply = attack.run()
    time.sleep(0.3)
    stop.set()
    sampler.join(timeout=5)
    growth_mib = (peak[0] - baseline) / 1024
    print(f"\n{server.name} {framing}: sent {attack.sent / MIB:.1f} MiB of 300; RSS grew {growth_mib:.1f} MiB")
    assert status == 413
    assert json.loads(reply)["code"] == 413
    assert growth_mib < 10
    assert attack.sent < 300 * MIB  # the server stopped reading
    assert server.get("/health")[0] == 200


def test_a_chunked_body_under_the_limit_is_read_whole(server: ServerProcess) -> None:
    _alice_id, token = register_and_login(server, f"chunk{server.name}")
    status, created = authed(server, token, "/api/chat/group/create", {"name": "c", "is_group": True, "member_ids": []})
    assert status == 200, created
    payload = json.dumps({"room_id": created["data"]["room_id"], "content": {"type": "text", "text": "chunked"}})
    raw = payload.encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(
            b"POST /api/chat/send_message HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for index in range(0, len(raw), 7):
            part = raw[index : index + 7]
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        sock.sendall(b"0\r\n\r\n")
        status, _headers, body = read_reply(sock)
    finally:
        sock.close()
    assert status == 200, body
    assert json.loads(body)["data"]["seq"] == 1


def test_oversized_request_heads_get_the_envelope(server: ServerProcess) -> None:
    def ask(raw: bytes) -> tuple[int, dict]:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(raw)
            status, _headers, body = read_reply(sock)
        finally:
            sock.close()
        return status, json.loads(body)

    long_path = b"/api/chat/group/search?q=" + b"a" * (20 * 1024)
    assert ask(b"GET " + long_path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == (
        414,
        {"code": 414, "msg": "the request line is longer than 16384 bytes"},
    )
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 1000) for i in range(40))
    assert ask(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n") == (
        431,
        {"code": 431, "msg": "the request line and headers are larger than 32768 bytes"},
    )
    # An ordinary long request is fine.
    status, body = ask(b"GET /x" + b"y" * 8000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 404, body


@pytest.mark.parametrize("size", [100 * 1024, 2 * MIB, 8 * MIB])
def test_oversized_frames_are_closed_with_1009(server: ServerProcess, size: int) -> None:
    _user_id, token = register_and_login(server, f"frames{server.name}{size}")
    url = f"ws://127.0.0.1:{server.port}/api/ws"
    ws = open_socket(url, token)
    try:
        ws.send(json.dumps({"type": "ping", "pad": "x" * size}))
        assert close_code(ws) == 1009
    except websocket.WebSocketException as error:
        raise AssertionError(f"no close frame: {error!r}") from None
    finally:
        ws.close()
    assert server.get("/health")[0] == 200
