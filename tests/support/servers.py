"""Real server processes of this project on loopback, for tests that cross processes.

    with running_server(gateway_id="gw-a") as server:
        status, body = server.get("/health")

Each process runs `manage.py serve --port 0` against the database of the running test (so
use `@pytest.mark.django_db(transaction=True)`: the children only see committed data), with
short registry timings, and is always stopped (SIGTERM, then SIGKILL) when the block ends.
Its stdout and stderr go to a temporary file that failures show.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from tests.conftest import INTERNAL_TOKEN

T = TypeVar("T")
_SERVING = re.compile(r"Serving on http://[^:]+:(\d+)/")

FAST_REGISTRY_ENV = {"REGISTRY_HEARTBEAT_SECONDS": "1", "REGISTRY_DEAD_AFTER_SECONDS": "3"}


def child_database_url(*, port: int | None = None) -> str:
    """The URL of the database the running test uses (the test database, not the real one);
    `port` reaches the PostgreSQL server through another port of loopback (a proxy)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("child processes need a file-based SQLite test database")
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        user = quote(db.get("USER") or "", safe="")
        password = quote(db.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = "127.0.0.1" if port else (db.get("HOST") or "127.0.0.1")
        port = port or db.get("PORT") or "5432"
        return f"postgres://{credentials}{host}:{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"no child database URL for engine {db['ENGINE']}")


def wait_until(predicate: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last value: {last!r})")
        time.sleep(interval)
        last = predicate()
    return last


class ServerProcess:
    def __init__(self, *, name: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def request(
        self, method: str, path: str, body: Any = None, *, internal: bool = False, timeout: float = 5.0
    ) -> tuple[int, Any]:
        """(status, parsed JSON body) of one request; `internal` sends the internal token."""
        headers = {"Content-Type": "application/json"}
        if internal:
            headers["X-Internal-Token"] = INTERNAL_TOKEN
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        return self.request("POST", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return self.request("DELETE", path, **kwargs)

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            self.process.send_signal(signum)

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within 5 s."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def _wait_serving(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"server {self.name} exited with {self.process.returncode}:\n{self.log()}")
            match = _SERVING.search(self.log())
            if match:
                self.port = int(match.group(1))
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"server {self.name} did not start within {timeout} s:\n{self.log()}")
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                status, _ = self.get("/health", timeout=2)
                if status == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"server {self.name} did not answer /health within {timeout} s:\n{self.log()}")


@contextlib.contextmanager
def running_server(
    *,
    name: str = "server",
    gateway_id: str | None = None,
    roles: str = "gateway",
    env: dict[str, str] | None = None,
    startup_timeout: float = 20.0,
) -> Iterator[ServerProcess]:
    """Start `manage.py serve` on a free loopback port; yield it once /health answers 200."""
    child_env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "DJANGO_"))}
    child_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "chatproject.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": child_database_url(),
            "INTERNAL_API_TOKEN": INTERNAL_TOKEN,
            "CHAT_ROLES": roles,
            "CHAT_BACKGROUND_TASKS": "1",
            "PYTHONUNBUFFERED": "1",
            # Throttle counts and lockouts of its own (with Redis they would outlive the test).
            "CACHE_KEY_PREFIX": f"t{uuid.uuid4().hex[:12]}",
            **FAST_REGISTRY_ENV,
        }
    )
    if settings.REDIS_URL:
        child_env["REDIS_URL"] = settings.REDIS_URL
    else:
        child_env.pop("REDIS_URL", None)
    if gateway_id:
        child_env["GATEWAY_ID"] = gateway_id
    child_env.update(env or {})
    log_file = tempfile.NamedTemporaryFile(prefix=f"chat-{name}-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=settings.BASE_DIR,
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    server = ServerProcess(name=name, process=process, log_path=log_path)
    try:
        server._wait_serving(startup_timeout)
        yield server
    except BaseException:
        sys.stderr.write(f"\n--- log of server {name} ({log_path}) ---\n{server.log()}\n--- end of log ---\n")
        raise
    finally:
        server.stop()
        log_path.unlink(missing_ok=True)
