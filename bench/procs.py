"""The processes and services of a benchmark run.

- The environment every process shares (one SECRET_KEY, so the driver's tokens are valid on
  the servers), the benchmark's own PostgreSQL database (dropped and created afresh, then
  migrated) and Redis (a dedicated db number, a prefix unique to the run).
- Server processes, each in its own process group with its output in a log file, their CPU
  time and RSS read with psutil; every one started is stopped (SIGTERM, then SIGKILL of the
  group) when the run ends, however it ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psutil

from bench.options import bench_database_url, bench_redis_url

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
_SERVING = re.compile(r"Serving on http://[^:\s]+:(\d+)/")


class BenchError(RuntimeError):
    """The benchmark itself could not run (a service is missing, a server did not start)."""


# --- where the run's data lives --------------------------------------------------------------


@dataclass(frozen=True)
class RunEnv:
    database_url: str
    redis_url: str
    prefix: str  # channel-layer prefix of this run
    secret_key: str
    internal_token: str

    @classmethod
    def create(cls, *, database_name: str) -> RunEnv:
        return cls(
            database_url=bench_database_url(database_name),
            redis_url=bench_redis_url(),
            prefix=f"bench{int(time.time())}{secrets.token_hex(2)}",
            secret_key=secrets.token_urlsafe(48),
            internal_token=secrets.token_urlsafe(24),
        )

    def server_env(self, **extra: str) -> dict[str, str]:
        """The environment of a project process (production-like: DEBUG off)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "CHAT_", "GATEWAY_"))}
        for name in ("DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER_PREFIX", "SEND_PORT", "SEND_INSTANCE_ID"):
            env.pop(name, None)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "chatproject.settings",
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": self.secret_key,
                "INTERNAL_API_TOKEN": self.internal_token,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "CHANNEL_LAYER_PREFIX": self.prefix,
                "CHAT_BACKGROUND_TASKS": "1",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(extra)
        return env


def database_recreate(url: str) -> None:
    """Drop (closing its sessions) and create the benchmark's database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise BenchError(f"no database name in {url!r}")
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise BenchError(f"cannot prepare the PostgreSQL database {name!r} at {parts.hostname}: {error}") from None


def database_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    admin_url = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with contextlib.suppress(psycopg.Error), psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.path.lstrip("/"))))


def database_migrate(env: RunEnv, log_dir: Path) -> None:
    log = log_dir / "migrate.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput"],
            cwd=REPO,
            env=env.server_env(CHAT_BACKGROUND_TASKS="0"),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    if done.returncode != 0:
        raise BenchError(f"manage.py migrate failed:\n{log.read_text(errors='replace')[-3000:]}")


def redis_check(url: str) -> str:
    """Redis's version; raises BenchError when it does not answer."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        info = client.info("server")
        client.close()
    except redis.RedisError as error:
        raise BenchError(f"Redis at {url} does not answer: {error}") from None
    return str(info.get("redis_version", "?"))


def redis_forget(url: str, prefix: str) -> int:
    """Delete the run's channel-layer keys (they would expire anyway)."""
    import redis

    deleted = 0
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(url, socket_timeout=5)
        batch = []
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
        client.close()
    return deleted


def postgres_version(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return "?"
    return str(row[0]).split(" ")[0] if row else "?"


def machine_description(*, redis_version: str, postgres: str) -> dict[str, object]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "redis": redis_version,
        "postgresql": postgres,
        "packages": _package_versions(),
    }


def code_version() -> dict[str, object]:
    """The commit the servers run, and the tracked files changed since (a run states what it
    measured)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30, check=False)
        return done.stdout if done.returncode == 0 else ""

    # Porcelain lines are "XY path": two status columns, a space, the path.
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return {"commit": git("rev-parse", "--short=12", "HEAD").strip() or "?", "modified": changed}


def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("django", "channels", "channels-redis", "daphne", "uvicorn", "websockets", "uvloop", "orjson"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


# --- server processes ------------------------------------------------------------------------

_STARTED: list[ServerProcess] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    def __init__(self, *, name: str, popen: subprocess.Popen[bytes], log_path: Path, port: int = 0) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self.port = port
        self._ps = psutil.Process(popen.pid)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads)."""
        times = self._ps.cpu_times()
        return float(times.user + times.system)

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU time so far of the process and its children, all threads."""
        user = system = 0.0
        for proc in [self._ps, *self._ps.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                user += times.user
                system += times.system
        return user, system

    def rss_bytes(self) -> int:
        return int(self._ps.memory_info().rss)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 3000) -> str:
        return self.log()[-chars:]

    def terminate(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a graceful shutdown: sockets closed, records unregistered), then SIGKILL of
        its whole process group."""
        if self.alive():
            self.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Still ours (not reaped), so its group id cannot have been reused.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=5)
        if self in _STARTED:
            _STARTED.remove(self)


def start_server(
    *,
    name: str,
    argv: list[str],
    env: dict[str, str],
    log_dir: Path,
    port: int = 0,
    health_path: str = "/health",
    timeout: float = 60.0,
) -> ServerProcess:
    """Start a server and return once `health_path` answers 200. With `port` 0 the port is read
    from the "Serving on http://host:PORT/" line `manage.py serve` prints."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        popen = subprocess.Popen(
            argv,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(name=name, popen=popen, log_path=log_path, port=port)
    _STARTED.append(server)
    deadline = time.monotonic() + timeout
    try:
        while not server.port:
            _check_running(server, deadline)
            match = _SERVING.search(server.log())
            if match:
                server.port = int(match.group(1))
            else:
                time.sleep(0.05)
        while True:
            _check_running(server, deadline)
            with contextlib.suppress(OSError, urllib.error.URLError):
                with urllib.request.urlopen(server.base_url + health_path, timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return server
            time.sleep(0.1)
    except BaseException:
        server.stop(timeout=5)
        raise


def _check_running(server: ServerProcess, deadline: float) -> None:
    if not server.alive():
        raise BenchError(f"{server.name} exited with {server.popen.returncode}:\n{server.log_tail()}")
    if time.monotonic() > deadline:
        raise BenchError(f"{server.name} did not start in time:\n{server.log_tail()}")


def stop_many(servers: list[ServerProcess], timeout: float = 15.0) -> None:
    """Stop servers together: SIGTERM to all, then wait for (or kill) each."""
    for server in servers:
        server.terminate()
    deadline = time.monotonic() + timeout
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop(timeout=max(0.5, deadline - time.monotonic()))


def stop_all() -> None:
    """Stop every server still running (atexit, signal handlers, the driver's finally)."""
    stop_many(list(_STARTED), timeout=10)


def install_cleanup() -> None:
    """Stop every server on exit; SIGINT (even when the shell started us with it ignored, as it
    does for background jobs), SIGTERM and SIGHUP interrupt the run in order: cleanup runs, the
    results so far are written, the exit status is 1."""
    atexit.register(stop_all)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)


def serve_servers() -> tuple[list[str], bool]:
    """The ASGI servers `manage.py serve --server` offers, and whether it has that option at all
    (without it, daphne alone)."""
    done = subprocess.run(
        [PYTHON, "manage.py", "serve", "--help"],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "chatproject.settings", "CHAT_BACKGROUND_TASKS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py serve --help failed:\n{(done.stdout + done.stderr)[-2000:]}")
    match = re.search(r"--server \{([a-z,]+)\}", done.stdout)
    return (match.group(1).split(","), True) if match else (["daphne"], False)


def cpu_of(processes: list[ServerProcess]) -> dict[str, float]:
    out = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            out[process.name] = process.cpu_seconds()
    return out


def cpu_of_pids(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine has been busy so far (every core, every process)."""
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + getattr(times, "irq", 0) + getattr(times, "softirq", 0))
