"""`manage.py cluster`: the multi-process layout of the original design on one machine.

    send 8081, meta 8082, registry 8083, gateways gw-1 8084 and gw-2 8085

each a `manage.py serve` child with its role (`CHAT_ROLES`), on the PostgreSQL of `DATABASE_URL`
and the Redis of `REDIS_URL`. In order, the command:

0. runs every child with DEBUG off unless DJANGO_DEBUG says otherwise, generating
   DJANGO_SECRET_KEY and INTERNAL_API_TOKEN for this run when they are unset;
1. checks that both are set and answer within 3 s, and otherwise prints one line saying which
   and why and exits 2 (a missing PostgreSQL database is created; SQLite is accepted to try
   the cluster out; `--without-redis` runs without Redis, see below);
2. checks that the five ports are free (exit 2 otherwise) and applies migrations once;
3. starts the five children, prefixes every line they write with their name, waits for each
   to answer `/health` and prints a table of their URLs;
4. on Ctrl-C or SIGTERM stops the gateways and the send process first (they close their
   sockets with 1001 and unregister, possibly through the registry process), then meta and
   the registry, each group within `--stop-timeout` seconds before SIGKILL; exits 0. A second
   Ctrl-C kills at once. A child that dies on its own stops the others and exits 1.

The children run in their own process group, so a Ctrl-C in the terminal reaches only this
command, which stops them in order; on Linux they also get SIGTERM should this command die
without stopping them (SIGKILL).

Without Redis (`--without-redis`) each process has its own in-memory channel layer: pushes do
not cross processes, and a message reaches the other gateways' sockets only through their
database sweep, up to DELIVERY_SWEEP_SECONDS later.

It lives in the `runtime` app, the top layer, with `serve`, process roles and identities.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TextIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, connections

from chatproject.hosts import bracketed
from runtime.backing import database_check, port_check, redis_check, unusable

DEFAULT_BASE_PORT = 8081
EXIT_CHILD_FAILED = 1
REPEAT_SIGNAL_SECONDS = 1.0
# Variables that give a process its identity: each child gets its own, never the caller's.
_IDENTITY_VARIABLES = (
    "CHAT_ROLES",
    "CHAT_SERVER",
    "GATEWAY_ID",
    "GATEWAY_PORT",
    "GATEWAY_WS_URL",
    "SEND_INSTANCE_ID",
    "SEND_PORT",
    "SEND_URL",
    "HOST",
    "PORT",
)
_WILDCARDS = {"0.0.0.0", "::", ""}  # noqa: S104 - names of the wildcard addresses, not a bind


@dataclass(frozen=True)
class Service:
    """One child process of the cluster."""

    name: str
    offset: int
    roles: str
    what: str
    # Stopped in the first group: they hold sockets and registry records.
    first_to_stop: bool
    env: dict[str, str] = field(default_factory=dict)


SERVICES: tuple[Service, ...] = (
    Service("send", 0, "send", "POST /api/chat/send_message, /api/chat/messages", True, {"SEND_INSTANCE_ID": "send-1"}),
    Service("meta", 1, "meta", "/register, /login, /api/chat/group/..., /admin/", False),
    Service("registry", 2, "registry", "GET /registry/gateway/available, /health", False),
    Service("gw-1", 3, "gateway", "WebSocket /api/ws", True, {"GATEWAY_ID": "gw-1"}),
    Service("gw-2", 4, "gateway", "WebSocket /api/ws", True, {"GATEWAY_ID": "gw-2"}),
)


# --- children -------------------------------------------------------------------------------

if sys.platform.startswith("linux"):
    _LIBC = ctypes.CDLL(None, use_errno=True)
    _PR_SET_PDEATHSIG = 1

    def _die_with_parent(parent: int) -> Callable[[], None]:
        def set_death_signal() -> None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before prctl
                os.kill(os.getpid(), signal.SIGTERM)

        return set_death_signal

else:  # pragma: no cover - the death signal is Linux's

    def _die_with_parent(parent: int) -> Callable[[], None] | None:  # type: ignore[misc]
        return None


@dataclass
class Child:
    service: Service
    port: int
    process: subprocess.Popen[str]
    reader: threading.Thread | None = None
    healthy: bool = False

    @property
    def name(self) -> str:
        return self.service.name

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)


def _url_host(host: str) -> str:
    """An address to reach a server bound to host (the wildcards mean loopback)."""
    if host in _WILDCARDS:
        return "[::1]" if host == "::" else "127.0.0.1"
    return bracketed(host)


def _answers_health(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health", timeout=1) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


class Command(BaseCommand):
    help = (
        "Start the cluster: send, meta, registry and two gateways as separate `serve` processes on "
        "DATABASE_URL and REDIS_URL, after applying migrations. Ctrl-C stops every process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="interface every process binds (default 127.0.0.1)")
        parser.add_argument(
            "--base-port",
            type=int,
            default=DEFAULT_BASE_PORT,
            help="port of send; meta, registry, gw-1 and gw-2 take the next four (default 8081)",
        )
        parser.add_argument(
            "--server",
            choices=("daphne", "uvicorn"),
            default=os.environ.get("CHAT_SERVER") or "daphne",
            help="ASGI server of every process (default daphne, or CHAT_SERVER)",
        )
        parser.add_argument(
            "--without-redis",
            action="store_true",
            help="run without Redis even if REDIS_URL is set: pushes cross processes only through the gateways' "
            "database sweep (to try the cluster out)",
        )
        parser.add_argument(
            "--startup-timeout", type=float, default=60.0, help="seconds for every process to answer /health with 200"
        )
        parser.add_argument(
            "--stop-timeout", type=float, default=15.0, help="seconds each group of processes gets to stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.host: str = options["host"]
        self.server: str = options["server"]
        base_port: int = options["base_port"]
        if not 1 <= base_port <= 65535 - len(SERVICES) + 1:
            raise unusable(f"--base-port must leave room for {len(SERVICES)} ports below 65536, got {base_port}")
        self.without_redis: bool = options["without_redis"]
        self.stop_timeout: float = options["stop_timeout"]
        self._lock = threading.Lock()
        self._signals: list[int] = []
        self._first_signal_at = 0.0
        self.children: list[Child] = []

        self.production_env = self.production_settings()
        try:
            self.check_backing_services()
            port_check(host=self.host, services=[(s.name, base_port + s.offset) for s in SERVICES])
            self.migrate()
        except KeyboardInterrupt:
            raise CommandError("interrupted before the cluster started", returncode=130) from None

        previous = {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
        try:
            code = self.run_cluster(base_port, options["startup_timeout"])
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if code:
            raise CommandError("the cluster stopped because a process failed", returncode=code)

    # --- output ---------------------------------------------------------------------------

    def say(self, line: str, *, style: Callable[[str], str] | None = None) -> None:
        with self._lock:
            self.stdout.write(f"{'cluster':<8} | " + (style(line) if style else line))
            self.stdout.flush()

    def _relay(self, name: str, stream: TextIO) -> None:
        for line in stream:
            with self._lock:
                self.stdout.write(f"{name:<8} | {line.rstrip()}")
                self.stdout.flush()

    # --- start-up -------------------------------------------------------------------------

    def check_backing_services(self) -> None:
        """Say what the database and Redis are; raises `unusable` when one is missing."""
        self.say(f"database: {database_check(url=os.environ.get('DATABASE_URL', ''))}")
        redis_url = os.environ.get("REDIS_URL", "").strip()
        if self.without_redis:
            ignored = " (REDIS_URL ignored)" if redis_url else ""
            self.say(f"redis: none{ignored}; pushes reach other processes only through the database sweep")
        elif not redis_url:
            raise unusable(
                "REDIS_URL is not set: the processes push messages to each other through Redis, "
                "e.g. REDIS_URL=redis://127.0.0.1:6379/0 (or pass --without-redis to try the cluster without it)"
            )
        else:
            self.say(f"redis: {redis_check(url=redis_url)}")

    def production_settings(self) -> dict[str, str]:
        """The cluster is the production-like layout: its children run with DEBUG off unless
        DJANGO_DEBUG says otherwise. DEBUG off needs DJANGO_SECRET_KEY and INTERNAL_API_TOKEN;
        one that is unset is generated for this run and shared by every child, so that a fresh
        machine still starts (tokens then stop working when the cluster stops)."""
        env = {"DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "").strip() or "0"}
        if env["DJANGO_DEBUG"].lower() in {"1", "true", "yes", "on"}:
            self.say("DEBUG is on (DJANGO_DEBUG): the processes show debug pages; not for production")
            return env
        for name in ("DJANGO_SECRET_KEY", "INTERNAL_API_TOKEN"):
            if not os.environ.get(name, "").strip():
                env[name] = secrets.token_urlsafe(48)
                self.say(f"{name} is not set: generated a random one for this run (set it to keep it across runs)")
        return env

    def migrate(self) -> None:
        from django.db.migrations.executor import MigrationExecutor

        try:
            executor = MigrationExecutor(connection)
            pending = len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
            call_command("migrate", interactive=False, verbosity=0)
        except DatabaseError as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CommandError(f"migrate failed: {first}", returncode=EXIT_CHILD_FAILED) from None
        finally:
            connections.close_all()
        self.say(f"migrations: {pending} applied" if pending else "migrations: the schema is up to date")

    def child_env(self, service: Service, port: int) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in _IDENTITY_VARIABLES}
        advertised = self.host if self.host not in _WILDCARDS else "127.0.0.1"
        env.setdefault("GATEWAY_ADDRESS", advertised.strip("[]"))
        env.setdefault("SEND_ADDRESS", advertised.strip("[]"))
        env.update(self.production_env)
        env.update({"CHAT_ROLES": service.roles, "PYTHONUNBUFFERED": "1", **service.env})
        env.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
        if service.roles == "gateway":
            env["GATEWAY_PORT"] = str(port)
        if service.roles == "send":
            env["SEND_PORT"] = str(port)
        if self.without_redis:
            env.pop("REDIS_URL", None)
        return env

    def spawn(self, service: Service, port: int) -> Child:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", self.host, "--port", str(port), "--server", self.server],
            cwd=settings.BASE_DIR,
            env=self.child_env(service, port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
            # Out of the terminal's process group: a Ctrl-C reaches this command only, which
            # stops the children in order. preexec_fn is safe here: every child is spawned
            # before the first relay thread starts.
            process_group=0,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        return Child(service=service, port=port, process=process)

    def run_cluster(self, base_port: int, startup_timeout: float) -> int:
        """Start, supervise and stop the children; the exit code."""
        self.say(
            f"starting {len(SERVICES)} processes under {self.server} on {self.host}, ports {base_port}-"
            f"{base_port + len(SERVICES) - 1}"
        )
        for service in SERVICES:
            self.children.append(self.spawn(service, base_port + service.offset))
        for child in self.children:
            assert child.process.stdout is not None
            child.reader = threading.Thread(
                target=self._relay, args=(child.name, child.process.stdout), name=f"relay-{child.name}", daemon=True
            )
            child.reader.start()
        try:
            failure = self.wait_healthy(startup_timeout)
            if failure is None and not self._signals:
                self.print_table()
                failure = self.supervise()
        finally:
            self.stop_all()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2)
        if failure:
            self.say(failure, style=self.style.ERROR)
            return EXIT_CHILD_FAILED
        self.say("stopped", style=self.style.SUCCESS)
        return 0

    def _dead_child(self) -> str | None:
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                return f"{child.name} exited unexpectedly with code {code}; stopping the cluster"
        return None

    def wait_healthy(self, timeout: float) -> str | None:
        """None once every child answers /health with 200 (or a stop was asked for); else
        why not."""
        reach = _url_host(self.host)
        deadline = time.monotonic() + timeout
        while not self._signals:
            dead = self._dead_child()
            if dead:
                return dead
            for child in self.children:
                if not child.healthy:
                    child.healthy = _answers_health(reach, child.port)
            if all(child.healthy for child in self.children):
                return None
            if time.monotonic() >= deadline:
                late = ", ".join(child.name for child in self.children if not child.healthy)
                return f"{late} did not answer /health with 200 within {timeout:g} s; stopping the cluster"
            self._pause(0.2)
        return None

    def print_table(self) -> None:
        reach = _url_host(self.host)
        rows = [("service", "pid", "url", "serves")]
        for child in self.children:
            scheme_url = (
                f"ws://{reach}:{child.port}/api/ws"
                if child.service.roles == "gateway"
                else f"http://{reach}:{child.port}/"
            )
            rows.append((child.name, str(child.process.pid), scheme_url, child.service.what))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.say("cluster ready:", style=self.style.SUCCESS)
        for row in rows:
            self.say("  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)))
        self.say("every process answers every HTTP path; clients find a gateway with GET /registry/gateway/available")
        self.say("Ctrl-C stops the cluster")

    def supervise(self) -> str | None:
        """Wait for a stop signal (None) or a child's death (why)."""
        while not self._signals:
            dead = self._dead_child()
            if dead:
                return dead
            self._pause(0.2)
        return None

    # --- stopping -------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        # A second signal kills at once, unless it is the same stop delivered twice (`timeout`
        # and some supervisors signal the process and then its process group).
        if self._signals and now - self._first_signal_at >= REPEAT_SIGNAL_SECONDS:
            for child in self.children:
                child.signal(signal.SIGKILL)
        if not self._signals:
            self._first_signal_at = now
        self._signals.append(signum)

    def _pause(self, seconds: float) -> None:
        threading.Event().wait(seconds)

    def stop_all(self) -> None:
        """SIGTERM the gateways and send first, then meta and the registry; SIGKILL whatever
        has not exited within --stop-timeout of its SIGTERM."""
        if self._signals:
            self.say("stopping (Ctrl-C again to kill at once)")
        for group in (
            [child for child in self.children if child.service.first_to_stop],
            [child for child in self.children if not child.service.first_to_stop],
        ):
            for child in group:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + self.stop_timeout
            while any(child.alive() for child in group) and time.monotonic() < deadline:
                self._pause(0.1)
            for child in group:
                if child.alive():
                    self.say(f"{child.name} did not stop within {self.stop_timeout:g} s: killing it")
                    child.signal(signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.process.wait(timeout=5)
        for child in self.children:
            code = child.process.poll()
            if code == -signal.SIGKILL:
                self.say(f"{child.name} was killed")
            elif code not in (0, None):
                self.say(f"{child.name} exited with code {code}")
