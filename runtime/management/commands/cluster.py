"""`manage.py cluster`: the multi-process layout of the original design on one machine.

    send 8081, meta 8082, registry 8083, gateways gw-1 8084 and gw-2 8085

each a `manage.py serve` child with its role (`CHAT_ROLES`), on the PostgreSQL of `DATABASE_URL`
and the Redis of `REDIS_URL` (the layout: `runtime.layout`). In order, the command:

0. runs every child with DEBUG off unless DJANGO_DEBUG says otherwise, generating
   DJANGO_SECRET_KEY and INTERNAL_API_TOKEN for this run when they are unset;
1. checks that both are set and answer within 3 s, and otherwise prints one line saying which
   and why and exits 2 (a missing PostgreSQL database is created; SQLite is accepted to try
   the cluster out; `--without-redis` runs without Redis, see below; `runtime.backing`);
2. checks that the five ports are free (exit 2 otherwise) and applies migrations once (exit 1
   if that fails);
3. starts the five children under `runtime.supervisor`, which prefixes every line they write
   with their name, and prints a table of their URLs once each answers `/health`;
4. keeps them serving: a child that dies is restarted (after 0.5 s, doubling to 10 s while it
   keeps dying), and one that keeps dying at start-up, or hangs there, is given up with its
   last lines printed while the others keep serving (see `runtime.supervisor`);
5. on Ctrl-C or SIGTERM stops the gateways and the send process first (they close their
   sockets with 1001 and unregister, possibly through the registry process), then meta and
   the registry, each group within `--stop-timeout` seconds before SIGKILL. A second Ctrl-C
   kills at once.

Exit codes: 0 stopped on request with every child serving; 1 a child had been given up (the
command then stops when told to, or by itself once no child is left), or migrations failed;
2 refused to start (a backing service or a port, one line on stderr); 130 interrupted before
the children started.

The children run in their own process group, so a Ctrl-C in the terminal reaches only this
command, which stops them in order; on Linux they also get SIGTERM should this command die
without stopping them (SIGKILL; `runtime.deathsig`).

Without Redis (`--without-redis`) each process has its own in-memory channel layer: pushes do
not cross processes, and a message reaches the other gateways' sockets only through their
database sweep, up to DELIVERY_SWEEP_SECONDS later.

It lives in the `runtime` app, the top layer, with `serve`, process roles and identities.
"""

from __future__ import annotations

import os
import secrets
import signal
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection, connections

from runtime.backing import database_check, port_check, redis_check, unusable
from runtime.layout import DEFAULT_BASE_PORT, SERVICES, child_env, serve_command, service_url, url_host, url_table
from runtime.supervisor import EXIT_CHILD_FAILED, Child, ChildSpec, Console, State, Supervisor


class Command(BaseCommand):
    help = (
        "Start the cluster: send, meta, registry and two gateways as separate `serve` processes on "
        "DATABASE_URL and REDIS_URL, after applying migrations; restart a process that dies. "
        "Ctrl-C stops every process."
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
            "--startup-timeout",
            type=float,
            default=60.0,
            help="seconds a process gets to answer /health after each start before it is given up (default 60)",
        )
        parser.add_argument(
            "--stop-timeout", type=float, default=15.0, help="seconds each group of processes gets to stop"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.host: str = options["host"]
        base_port: int = options["base_port"]
        if not 1 <= base_port <= 65535 - len(SERVICES) + 1:
            raise unusable(f"--base-port must leave room for {len(SERVICES)} ports below 65536, got {base_port}")
        self.without_redis: bool = options["without_redis"]
        self.console = Console(self._write, styles={"error": self.style.ERROR, "success": self.style.SUCCESS})

        extra_env = self.production_settings()
        try:
            self.check_backing_services()
            port_check(host=self.host, services=[(s.name, base_port + s.offset) for s in SERVICES])
            self.migrate()
        except KeyboardInterrupt:
            raise CommandError("interrupted before the cluster started", returncode=130) from None

        reach = url_host(self.host)
        specs = [
            ChildSpec(
                name=service.name,
                argv=serve_command(host=self.host, port=base_port + service.offset, server=options["server"]),
                env=child_env(
                    service,
                    port=base_port + service.offset,
                    host=self.host,
                    extra=extra_env,
                    without_redis=self.without_redis,
                ),
                host=reach,
                port=base_port + service.offset,
                first_to_stop=service.first_to_stop,
            )
            for service in SERVICES
        ]
        supervisor = Supervisor(
            specs,
            console=self.console,
            cwd=settings.BASE_DIR,
            startup_timeout=options["startup_timeout"],
            stop_timeout=options["stop_timeout"],
            on_ready=lambda children: self.print_table(children, base_port),
        )
        self.console.say(
            f"starting {len(SERVICES)} processes under {options['server']} on {self.host}, ports {base_port}-"
            f"{base_port + len(SERVICES) - 1}"
        )
        handlers = (signal.SIGINT, signal.SIGTERM)
        previous = {signum: signal.signal(signum, supervisor.request_stop) for signum in handlers}
        try:
            code = supervisor.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if code:
            gave_up = [child.name for child in supervisor.children if child.state is State.GAVE_UP]
            if len(gave_up) == len(supervisor.children):
                raise CommandError("every process of the cluster kept failing", returncode=EXIT_CHILD_FAILED)
            raise CommandError(
                f"the cluster ran without {', '.join(gave_up)}, which kept failing", returncode=EXIT_CHILD_FAILED
            )

    def _write(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    # --- start-up -------------------------------------------------------------------------

    def check_backing_services(self) -> None:
        """Say what the database and Redis are; raises `unusable` when one is missing."""
        self.console.say(f"database: {database_check(url=os.environ.get('DATABASE_URL', ''))}")
        redis_url = os.environ.get("REDIS_URL", "").strip()
        if self.without_redis:
            ignored = " (REDIS_URL ignored)" if redis_url else ""
            self.console.say(f"redis: none{ignored}; pushes reach other processes only through the database sweep")
        elif not redis_url:
            raise unusable(
                "REDIS_URL is not set: the processes push messages to each other through Redis, "
                "e.g. REDIS_URL=redis://127.0.0.1:6379/0 (or pass --without-redis to try the cluster without it)"
            )
        else:
            self.console.say(f"redis: {redis_check(url=redis_url)}")

    def production_settings(self) -> dict[str, str]:
        """The cluster is the production-like layout: its children run with DEBUG off unless
        DJANGO_DEBUG says otherwise. DEBUG off needs DJANGO_SECRET_KEY and INTERNAL_API_TOKEN;
        one that is unset is generated for this run and shared by every child (restarted ones
        too), so that a fresh machine still starts (tokens then stop working when the cluster
        stops)."""
        env = {"DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "").strip() or "0"}
        if env["DJANGO_DEBUG"].lower() in {"1", "true", "yes", "on"}:
            self.console.say("DEBUG is on (DJANGO_DEBUG): the processes show debug pages; not for production")
            return env
        for name in ("DJANGO_SECRET_KEY", "INTERNAL_API_TOKEN"):
            if not os.environ.get(name, "").strip():
                env[name] = secrets.token_urlsafe(48)
                self.console.say(
                    f"{name} is not set: generated a random one for this run (set it to keep it across runs)"
                )
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
        self.console.say(f"migrations: {pending} applied" if pending else "migrations: the schema is up to date")

    def print_table(self, children: list[Child], base_port: int) -> None:
        rows = []
        for service, child in zip(SERVICES, children, strict=True):
            pid = str(child.pid) if child.state is State.RUNNING else "-"
            serves = service.what if child.state is State.RUNNING else f"GAVE UP: {child.failure}"
            rows.append(
                (child.name, pid, service_url(service, host=self.host, port=base_port + service.offset), serves)
            )
        self.console.say("cluster ready:", style="success")
        for line in url_table(rows):
            self.console.say(line)
        self.console.say(
            "every process answers every HTTP path; clients find a gateway with GET /registry/gateway/available"
        )
        self.console.say("a process that dies is restarted; Ctrl-C stops the cluster")
