"""`manage.py serve [--host H] [--port N] [--server daphne|uvicorn]`: serve the project (HTTP and
WebSocket) under daphne (the default) or uvicorn, with this process's registry duties tied to
the server's own life.

daphne. Why a command rather than the `daphne` CLI: daphne speaks no ASGI lifespan and offers
no start hook, so under the CLI a gateway would only register on its first request. Here the
server is built with `daphne.server.Server` as its CLI does, and:

- `ready_callable` (run once the sockets listen, before the reactor starts) tells the
  application the real port (`--port 0` picks a free one) and schedules
  `RegistryLifecycleMiddleware.startup` on the reactor's asyncio loop: the process registers
  before it serves its first request;
- a twisted "before shutdown" trigger awaits `RegistryLifecycleMiddleware.shutdown`, which
  unregisters. The reactor's own SIGTERM/SIGINT handlers stop it, so both signals unregister
  without replacing daphne's shutdown (which runs as another trigger of the same phase).

uvicorn (`--server uvicorn`, or CHAT_SERVER=uvicorn) writes WebSocket frames and serves HTTP
several times faster. It is built with `uvicorn.Server`/`Config` and lifespan "on", so
`RegistryLifecycleMiddleware` registers on `lifespan.startup` and unregisters on
`lifespan.shutdown`. Two things differ from `uvicorn.run`:

- the listening socket is bound here first, so the real port (`--port 0`) is known before
  the lifespan startup registers the process;
- uvicorn's own shutdown closes open sockets with 1012 (service restart) before the lifespan
  shutdown runs, and re-raises the signal once it has stopped. On SIGTERM/SIGINT the
  application's graceful shutdown (close sockets with 1001, write confirmations, unregister)
  runs first, then uvicorn stops, and the process exits 0. A second SIGINT forces the exit.

A SIGKILL leaves the records behind; they die after REGISTRY_DEAD_AFTER_SECONDS.
"""

from __future__ import annotations

# daphne.server installs the asyncio twisted reactor: it must come before anything imports
# twisted.internet.reactor.
from daphne.server import Server  # isort: skip

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from daphne.endpoints import build_endpoint_description_strings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from twisted.internet import defer, reactor

from chatproject.frames import MAX_FRAME_BYTES
from runtime.lifecycle import RegistryLifecycleMiddleware
from runtime.servers.uvicorn_protocols import ChatWebSocketProtocol, LimitedHttpToolsProtocol

logger = logging.getLogger(__name__)

SERVERS = ("daphne", "uvicorn")
PING_INTERVAL_SECONDS = 30
PING_TIMEOUT_SECONDS = 30
GRACEFUL_SHUTDOWN_SECONDS = 10
# A client frame over 64 KiB is closed with 1009 (API.md §5.1) by the server itself, as soon as
# its header announces the size: nothing of it is stored. Both servers then discard the rest of
# the frame until the client has read the close (runtime.servers.daphne_limits, .uvicorn_protocols).
WS_MAX_FRAME_BYTES = MAX_FRAME_BYTES


class Command(BaseCommand):
    help = "Serve HTTP and WebSocket under daphne or uvicorn, registering this process in the registry while it runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="interface to bind")
        parser.add_argument(
            "--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port to bind (0: any free one)"
        )
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default=os.environ.get("CHAT_SERVER") or "daphne",
            help="ASGI server: daphne (default, or CHAT_SERVER) or uvicorn (faster)",
        )

    def handle(self, *args: Any, host: str, port: int, server: str, **options: Any) -> None:
        if server not in SERVERS:
            raise CommandError(f"--server must be one of {', '.join(SERVERS)} (CHAT_SERVER={server!r})")
        # Imported here, not at the top: it builds the application (django.setup() is done by
        # then), and daphne's reactor must be installed before anything imports twisted's.
        from chatproject.asgi import application

        if server == "uvicorn":
            self._serve_uvicorn(application, host, port, options["verbosity"])
        else:
            self._serve_daphne(application, host, port, options["verbosity"])

    def _announce(self, host: str, port: int) -> None:
        self.stdout.write(f"Serving on http://{host}:{port}/ (WebSocket ws://{host}:{port}/api/ws)")
        self.stdout.flush()

    # --- daphne ---------------------------------------------------------------------------

    def _serve_daphne(self, application: Any, host: str, port: int, verbosity: int) -> None:
        if port and isinstance(application, RegistryLifecycleMiddleware):
            application.listening_on(port)
        server = Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            signal_handlers=True,
            ping_interval=PING_INTERVAL_SECONDS,
            ping_timeout=PING_TIMEOUT_SECONDS,
            websocket_max_frame_size=WS_MAX_FRAME_BYTES,
            websocket_max_message_size=WS_MAX_FRAME_BYTES,
            verbosity=verbosity,
            ready_callable=lambda: self._ready(server, application, host, port),
        )
        server.run()

    def _ready(self, server: Server, application: Any, host: str, port: int) -> None:
        real_port = server.listening_addresses[0][1] if server.listening_addresses else port
        if isinstance(application, RegistryLifecycleMiddleware):
            application.listening_on(real_port)
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
        self._announce(host, real_port)

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop, application: Any) -> None:
        stopping: list[asyncio.Task] = []

        def graceful() -> None:
            if stopping:
                return

            async def shutdown_then_stop() -> None:
                try:
                    await asyncio.wait_for(application.shutdown(), timeout=GRACEFUL_SHUTDOWN_SECONDS)
                finally:
                    reactor.stop()

            stopping.append(loop.create_task(shutdown_then_stop(), name="graceful-shutdown"))

        def handler(signum: int, frame: Any) -> None:
            reactor.callFromThread(graceful)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # --- uvicorn --------------------------------------------------------------------------

    def _serve_uvicorn(self, application: Any, host: str, port: int, verbosity: int) -> None:
        listener = _bind(host, port)
        real_port = listener.getsockname()[1]
        if isinstance(application, RegistryLifecycleMiddleware):
            application.listening_on(real_port)
        config = uvicorn.Config(
            application,
            lifespan="on",
            # Django's LOGGING configures the root logger; uvicorn's records propagate to it.
            log_config=None,
            log_level="debug" if verbosity >= 2 else "info",
            access_log=verbosity >= 2,
            ws_ping_interval=PING_INTERVAL_SECONDS,
            ws_ping_timeout=PING_TIMEOUT_SECONDS,
            ws_max_size=WS_MAX_FRAME_BYTES,
            # Bounded request heads in the envelope, and a 1009 close the client can read.
            http=LimitedHttpToolsProtocol,
            ws=ChatWebSocketProtocol,
            # A fan-out frame is encoded once for all sockets; per-socket compression would undo that.
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        server = GracefulUvicornServer(
            config, application=application, on_listening=lambda: self._announce(host, real_port)
        )
        server.run(sockets=[listener])


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), not yet listening (uvicorn listens on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as error:
        listener.close()
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    listener.set_inheritable(True)
    return listener


class GracefulUvicornServer(uvicorn.Server):
    """`uvicorn.Server` that runs the application's graceful shutdown (sockets closed with 1001,
    confirmations written, unregistered) before its own, and exits 0 on SIGTERM/SIGINT."""

    def __init__(self, config: Any, *, application: Any, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self._application = application
        self._on_listening = on_listening
        self._loop: asyncio.AbstractEventLoop | None = None
        self._graceful: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets=sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            self._on_listening()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not uvicorn's handler: it records the signal to raise it again after stopping (a
        # SIGTERM would then end the process with -15), and stops before our shutdown.
        if self._graceful is not None or self._loop is None:
            if sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True
            return
        self._loop.call_soon_threadsafe(self._start_graceful)

    def _start_graceful(self) -> None:
        if self._graceful is None:
            self._graceful = asyncio.ensure_future(self._graceful_shutdown())

    async def _graceful_shutdown(self) -> None:
        try:
            if isinstance(self._application, RegistryLifecycleMiddleware):
                await asyncio.wait_for(self._application.shutdown(), timeout=GRACEFUL_SHUTDOWN_SECONDS)
        except Exception:
            logger.warning("graceful shutdown did not finish; stopping anyway", exc_info=True)
        finally:
            self.should_exit = True
