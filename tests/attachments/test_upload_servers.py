"""Uploads on a real server process (`manage.py serve`, daphne and uvicorn): an upload over the
limit is refused without storing it and without the process growing; one within the limit is
stored without the process holding it in memory; an HTML file comes back as bytes to download."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chatproject.test_server_limits import Attack, chunked, read_reply, repeated, rss_kib
from tests.cluster.conftest import register_and_login
from tests.support.servers import ServerProcess, running_server

pytestmark = [pytest.mark.crossprocess, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

MIB = 1024 * 1024
LIMIT = 25 * MIB  # the default UPLOAD_MAX_BYTES
BOUNDARY = b"chatupload"


@pytest.fixture(params=["daphne", "uvicorn"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"CHAT_SERVER": request.param, "MEDIA_ROOT": str(tmp_path / "media"), "REGISTRY_DEAD_AFTER_SECONDS": "30"}
    with running_server(name=request.param, roles="all", env=env) as process:
        process.media = tmp_path / "media"  # type: ignore[attr-defined]
        yield process


def stored_files(server: ServerProcess) -> list[Path]:
    media: Path = server.media  # type: ignore[attr-defined]
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def multipart_head(
    server: ServerProcess, token: str, *, length: int | None, name: str = "big.bin"
) -> tuple[bytes, bytes, bytes]:
    """(request head, the part's opening, the body's closing) of a one-file upload."""
    opening = (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode() + b'"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    closing = b"\r\n--" + BOUNDARY + b"--\r\n"
    head = (
        b"POST /api/chat/upload HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer " % server.port
        + token.encode()
        + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=" + BOUNDARY + b"\r\n"
    )
    head += b"Transfer-Encoding: chunked\r\n\r\n" if length is None else b"Content-Length: %d\r\n\r\n" % length
    return head, opening, closing


class PeakRss:
    """The process's largest RSS while the block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = rss_kib(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.3)
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.baseline) / 1024


def warm_up(server: ServerProcess, token: str) -> None:
    """One small upload and fetch first, so that what is measured is the big one, not imports."""
    status, data = upload_small(server, token, b"%PDF-1.4 warm-up", "warm.pdf")
    assert status == 200, data
    with urllib.request.urlopen(data["data"]["url"], timeout=10) as response:
        assert response.read() == b"%PDF-1.4 warm-up"


def upload_small(server: ServerProcess, token: str, content: bytes, name: str) -> tuple[int, dict]:
    head, opening, closing = multipart_head(server, token, length=None, name=name)
    body = opening + content + closing
    head = head.replace(b"Transfer-Encoding: chunked\r\n\r\n", b"Content-Length: %d\r\n\r\n" % len(body))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(head + body)
        status, _headers, reply = read_reply(sock)
    finally:
        sock.close()
    return status, json.loads(reply)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_upload_over_the_limit_is_refused_without_storing_it_or_growing(server: ServerProcess, framing: str) -> None:
    _user_id, token = register_and_login(server, f"big{server.name}{framing[0]}")
    warm_up(server, token)
    before = stored_files(server)
    size = 60 * MIB
    piece = bytes(range(256)) * 256  # 64 KiB
    if framing == "chunked":
        head, opening, _closing = multipart_head(server, token, length=None)
        body = iter([b"%x\r\n%s\r\n" % (len(opening), opening), *chunked(piece, size)])
    else:
        head, opening, _closing = multipart_head(server, token, length=len(opening_of(server, token)) + size + 40)
        body = iter([opening, *repeated(piece, size)])
    with PeakRss(server.process.pid) as rss:
        started = time.perf_counter()
        attack = Attack(server, head, body)
        status, _headers, reply = attack.run()
        refused_after = time.perf_counter() - started
    print(
        f"\n{server.name} {framing}: 413 after {refused_after * 1000:.0f} ms, {attack.sent / MIB:.1f} MiB of "
        f"{size / MIB:.0f} sent; RSS grew {rss.growth_mib:.1f} MiB"
    )
    assert status == 413
    assert json.loads(reply)["code"] == 413
    assert rss.growth_mib < 5
    assert attack.sent < size  # the server stopped reading
    assert stored_files(server) == before  # nothing of it was kept
    assert server.get("/health")[0] == 200


def opening_of(server: ServerProcess, token: str) -> bytes:
    return multipart_head(server, token, length=0)[1]


def test_an_upload_within_the_limit_is_stored_without_being_held_in_memory(server: ServerProcess) -> None:
    _user_id, token = register_and_login(server, f"ok{server.name}")
    warm_up(server, token)
    size = 20 * MIB
    piece = b"PK\x03\x04" + bytes(range(256)) * 255 + b"\0" * 252  # 64 KiB, a zip's first bytes
    head, opening, closing = multipart_head(server, token, length=None, name="photos.zip")
    total = len(opening) + size + len(closing)
    head = head.replace(b"Transfer-Encoding: chunked\r\n\r\n", b"Content-Length: %d\r\n\r\n" % total)
    with PeakRss(server.process.pid) as rss:
        status, _headers, reply = Attack(server, head, iter([opening, *repeated(piece, size), closing])).run()
    data = json.loads(reply)
    assert status == 200, data
    assert (data["data"]["size"], data["data"]["content_type"]) == (size, "application/zip")
    print(f"\n{server.name}: a {size // MIB} MiB upload grew RSS by {rss.growth_mib:.1f} MiB")
    with PeakRss(server.process.pid) as download:
        with urllib.request.urlopen(data["data"]["url"], timeout=30) as response:
            received = 0
            while chunk := response.read(MIB):
                received += len(chunk)
    print(f"{server.name}: downloading it grew RSS by {download.growth_mib:.1f} MiB")
    assert received == size
    assert download.growth_mib < 5
    if server.name == "uvicorn":
        assert rss.growth_mib < 8
    else:
        # daphne puts the whole request body into the application's queue before the view runs
        # (see the README, Attachments): it passes through memory once, but is not kept there.
        assert rss.growth_mib < size / MIB + 8


def test_an_html_upload_is_served_as_octet_stream_with_nosniff(server: ServerProcess) -> None:
    _user_id, token = register_and_login(server, f"html{server.name}")
    status, data = upload_small(server, token, b"<html><script>alert(1)</script></html>", "page.html")
    assert status == 200, data
    assert data["data"]["content_type"] == "application/octet-stream"
    with urllib.request.urlopen(data["data"]["url"], timeout=10) as response:
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.read() == b"<html><script>alert(1)</script></html>"
    tampered = data["data"]["url"][:-1] + ("A" if not data["data"]["url"].endswith("A") else "B")
    try:
        urllib.request.urlopen(tampered, timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 403
        assert json.loads(error.read()) == {"code": 403, "msg": "this link is not valid"}
    else:
        raise AssertionError("a tampered URL was served")
