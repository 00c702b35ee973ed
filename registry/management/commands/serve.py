"""`manage.py serve [--host H] [--port N]`: serve the project (HTTP and WebSocket) under daphne,
with this process's registry duties tied to the server's own life.

Why a command rather than the `daphne` CLI: daphne speaks no ASGI lifespan and offers no
start hook, so under the CLI a gateway would only register on its first request. Here the
server is built with `daphne.server.Server` as its CLI does, and:

- `ready_callable` (run once the sockets listen, before the reactor starts) adopts the real
  port (`--port 0` picks a free one) and schedules `RegistryLifecycleMiddleware.startup` on
  the reactor's asyncio loop: the process registers before it serves its first request;
- a twisted "before shutdown" trigger awaits `RegistryLifecycleMiddleware.shutdown`, which
  unregisters. The reactor's own SIGTERM/SIGINT handlers stop it, so both signals unregister
  without replacing daphne's shutdown (which runs as another trigger of the same phase).

A SIGKILL leaves the records behind; they die after REGISTRY_DEAD_AFTER_SECONDS.
"""

from __future__ import annotations

# daphne.server installs the asyncio twisted reactor: it must come before anything imports
# twisted.internet.reactor.
from daphne.server import Server  # isort: skip

import asyncio
import os
import signal
from typing import Any

from daphne.endpoints import build_endpoint_description_strings
from django.core.management.base import BaseCommand, CommandParser
from twisted.internet import defer, reactor

from registry.identity import adopt_serving_port
from registry.lifecycle import RegistryLifecycleMiddleware

PING_INTERVAL_SECONDS = 30
PING_TIMEOUT_SECONDS = 30


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket under daphne, registering this process in the registry while it runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="interface to bind")
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port to bind (0: any free one)"
        )

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        from chatproject.asgi import application

        if port:
            adopt_serving_port(port)
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            ping_interval=PING_INTERVAL_SECONDS,
            ping_timeout=PING_TIMEOUT_SECONDS,
            verbosity=options["verbosity"],
            ready_callable=lambda: self._ready(server, application, host, port),
        )
        server.run()

    def _ready(self, server: Server, application: Any, host: str, port: int) -> None:
        real_port = server.listening_addresses[0][1] if server.listening_addresses else port
        adopt_serving_port(real_port)
        if isinstance(application, RegistryLifecycleMiddleware):
            loop = asyncio.get_event_loop()
            startup = loop.create_task(application.startup(port=real_port), name="registry-startup")

            def unregister() -> defer.Deferred:
                startup.cancel()
                return defer.Deferred.fromFuture(loop.create_task(application.shutdown()))

            reactor.addSystemEventTrigger("before", "shutdown", unregister)
            # daphne's own shutdown trigger cancels every connection's application first, so a
            # socket could no longer be closed with 1001. On SIGTERM/SIGINT shut down gracefully
            # first (close sockets with 1001, write confirmations, unregister), then stop.
            reactor.callWhenRunning(self._install_signal_handlers, loop, application)
        self.stdout.write(f"Serving on http://{host}:{real_port}/ (WebSocket ws://{host}:{real_port}/api/ws)")
        self.stdout.flush()

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop, application: Any) -> None:
        stopping: list[asyncio.Task] = []

        def graceful() -> None:
            if stopping:
                return

            async def shutdown_then_stop() -> None:
                try:
                    await asyncio.wait_for(application.shutdown(), timeout=10)
                finally:
                    reactor.stop()

            stopping.append(loop.create_task(shutdown_then_stop(), name="graceful-shutdown"))

        def handler(signum: int, frame: Any) -> None:
            reactor.callFromThread(graceful)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
