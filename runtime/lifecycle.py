"""This process in the registry: register at start, heartbeat with real figures, register
again after a 404, unregister at shutdown; and the gateway engine told who it is.

`RegistryLifecycleMiddleware` wraps the ASGI application (`chatproject.asgi`). Its duties
start on the running event loop:

- eagerly under `manage.py serve` (our daphne launcher, see
  `runtime/management/commands/serve.py`), as soon as the server listens, so a gateway with
  no client yet is registered; unregistration runs in a twisted "before shutdown" trigger,
  which SIGTERM and SIGINT reach through the reactor's own signal handling;
- on a `lifespan.startup` / `lifespan.shutdown` pair (uvicorn and other lifespan servers);
- lazily on the first scope of any kind otherwise (plain `daphne` has no lifespan and no
  hook), with an `atexit` hook that unregisters once the server has stopped.

Heartbeats run every REGISTRY_HEARTBEAT_SECONDS as a task on the server's loop; each call
into the registry runs off the loop (`chatproject.offloop`), so neither the loop nor the
request thread waits on it. Failures are logged and retried after
REGISTRY_HEARTBEAT_RETRY_SECONDS (1 s) rather than a whole period; the process never stops
serving because the registry or the database is away. Nothing starts when CHAT_BACKGROUND_TASKS
is off (tests).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import markcoroutinefunction
from django.conf import settings

from attachments.services import attachments_cleanup
from chatproject.exceptions import NotFound
from chatproject.frames import CLOSE_GOING_AWAY, CLOSE_RESTART
from chatproject.offloop import off_loop
from gateway.delivery import delivery_engine
from gateway.hub import Hub
from registry import liveness
from runtime.clients import RegistryClient, Sockets, registry_client
from runtime.identity import InstanceIdentity, ProcessIdentity, process_identity
from runtime.liveness import LivenessBeat
from runtime.roles import carries_registry
from send.positions import devices_forget_unseen

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PURGE_EVERY_BEATS = 360
# How long shutdown waits for its background tasks to stop once cancelled.
STOP_SECONDS = 3.0


def hub_sockets(hub: Hub) -> Sockets:
    """`(user_id, connection_id)` of every socket the hub holds. Safe to call from a worker
    thread: a snapshot that raced with the loop changing the hub is simply taken again."""
    for _ in range(10):
        try:
            return [(socket.user_id, socket.connection_id) for socket in hub.all_sockets()]
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return []


def gateway_figures(*, capacity: int, hub: Hub) -> tuple[float, int]:
    """(load 0..1, connections) of this gateway: its sockets and their share of capacity."""
    connections = hub.connection_count()
    return min(1.0, connections / max(capacity, 1)), connections


def configure_gateway(identity: ProcessIdentity | None = None, client: RegistryClient | None = None) -> None:
    """Tell the delivery engine which gateway this process is (none when it has no gateway
    role), and how to register it again when the registry has forgotten it."""
    identity = identity or process_identity()
    gateway = identity.gateway
    engine = delivery_engine()
    if gateway is None:
        engine.configure(gateway_id=None)
        return

    def register_again() -> None:
        (client or registry_client()).register(gateway, sockets=hub_sockets(engine.hub))

    engine.configure(gateway_id=gateway.instance_id, register_again=register_again)


@dataclass
class Record:
    """One of this process's records in the registry, and whether it is registered now."""

    identity: InstanceIdentity
    registered: bool = False


class RegistryAgent:
    """The background duties of one process: its gateway record, its send record, or both,
    and purging long-dead records in a registry process."""

    def __init__(
        self,
        *,
        client: RegistryClient,
        records: list[InstanceIdentity],
        purge: bool = False,
        hub: Hub | None = None,
    ) -> None:
        self.client = client
        self.records = [Record(identity) for identity in records]
        self.purge = purge
        self.hub = hub or delivery_engine().hub
        self.beats = 0

    async def _register(self, record: Record) -> None:
        identity = record.identity
        sockets = hub_sockets(self.hub) if identity.kind == "gateway" else []
        try:
            await off_loop(self.client.register)(identity, sockets=sockets)
        except Exception:
            record.registered = False
            logger.warning("could not register %s %s; retrying", _kind(identity), identity.instance_id, exc_info=True)
            return
        record.registered = True
        logger.info("registered %s %s at %s", _kind(identity), identity.instance_id, identity.url)

    async def register(self) -> None:
        for record in self.records:
            await self._register(record)

    def gateway_record(self) -> Record | None:
        return next((r for r in self.records if r.identity.kind == "gateway"), None)

    async def fence(self) -> None:
        """This gateway was counted dead (its loop froze past the liveness TTL): close its
        sockets with 1012 and register it again with no routes."""
        record = self.gateway_record()
        await delivery_engine().close_all(code=CLOSE_RESTART)
        if record is not None:
            try:
                await off_loop(self.client.register)(record.identity, sockets=[])
                record.registered = True
            except Exception:
                record.registered = False
                logger.warning("could not register gateway %s again after fencing", record.identity.instance_id)

    def liveness_beat(self) -> LivenessBeat | None:
        """The fast liveness loop of this process's gateway, when Redis carries it."""
        record = self.gateway_record()
        if record is None or not liveness.enabled():
            return None
        return LivenessBeat(gateway_id=record.identity.instance_id, fence=self.fence)

    async def beat(self) -> bool:
        """One heartbeat of each record; a record the registry no longer knows (404), or one
        never registered, is registered (again). Whether every record is now alive."""
        ok = True
        for record in self.records:
            identity = record.identity
            if not record.registered:
                await self._register(record)
                ok = ok and record.registered
                continue
            load, connections = (
                gateway_figures(capacity=identity.capacity, hub=self.hub) if identity.kind == "gateway" else (0.0, 0)
            )
            try:
                await off_loop(self.client.heartbeat)(identity, load=load, connections=connections)
            except NotFound:
                logger.warning(
                    "%s %s expired in the registry; registering again", _kind(identity), identity.instance_id
                )
                await self._register(record)
                ok = ok and record.registered
            except Exception:
                ok = False
                logger.warning("heartbeat of %s %s failed", _kind(identity), identity.instance_id, exc_info=True)
        self.beats += 1
        if self.purge and self.beats % PURGE_EVERY_BEATS == 0:
            await self.housekeeping()
        return ok

    async def housekeeping(self) -> None:
        """The cluster's periodic chores, run by the process that carries the registry, about
        hourly (every PURGE_EVERY_BEATS beats): forget long-dead instances and their routes,
        devices unseen for DEVICE_FORGET_DAYS, and uploaded files no message refers to (older
        than ATTACHMENTS_ORPHAN_SECONDS). Each chore runs even when another fails."""
        chores: list[tuple[str, Callable[[], Any]]] = [
            ("dead registry records", self.client.purge),
            ("unseen devices", lambda: devices_forget_unseen(days=settings.DEVICE_FORGET_DAYS)),
            ("unreferenced attachments", attachments_cleanup),
        ]
        for name, chore in chores:
            try:
                await off_loop(chore)()
            except Exception:
                logger.warning("housekeeping: removing %s failed", name, exc_info=True)

    async def run(self) -> None:
        """Heartbeat forever, every REGISTRY_HEARTBEAT_SECONDS (read at each beat); after a
        failed beat, again after REGISTRY_HEARTBEAT_RETRY_SECONDS, so that a database or
        registry blip never costs a live instance more than that beyond its end."""
        ok = True
        while True:
            period = settings.REGISTRY_HEARTBEAT_SECONDS
            await asyncio.sleep(period if ok else min(settings.REGISTRY_HEARTBEAT_RETRY_SECONDS, period))
            ok = await self.beat()

    async def unregister(self) -> None:
        for record in self.records:
            try:
                await off_loop(self.client.unregister)(record.identity)
                logger.info("unregistered %s", record.identity.instance_id)
            except Exception:
                logger.warning("could not unregister %s", record.identity.instance_id, exc_info=True)

    def unregister_sync(self) -> None:
        """For exit hooks, when no event loop runs any more."""
        for record in self.records:
            try:
                self.client.unregister(record.identity)
                logger.info("unregistered %s", record.identity.instance_id)
            except Exception:
                logger.warning("could not unregister %s", record.identity.instance_id, exc_info=True)


def _kind(identity: InstanceIdentity) -> str:
    return "gateway" if identity.kind == "gateway" else "send instance"


def build_agent(identity: ProcessIdentity) -> RegistryAgent | None:
    """The agent for this process's records, or None when it registers nothing."""
    purge = carries_registry() and not settings.REGISTRY_URL
    if not identity.records and not purge:
        return None
    return RegistryAgent(client=registry_client(), records=identity.records, purge=purge)


class RegistryLifecycleMiddleware:
    """ASGI wrapper that carries this process's registry duties (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.agent: RegistryAgent | None = None
        self.identity: ProcessIdentity | None = None
        self.port: int | None = None  # the port the server listens on, once `serve` knows it
        self._task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._locks: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._stopped = True
        self._closed_loop: asyncio.AbstractEventLoop | None = None
        self._atexit_hooked = False

    @markcoroutinefunction
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain call that returns the app's own coroutine once the process runs (as
        # `chatproject.asgi.ProtocolRouter` does): each open socket's coroutine chain is a
        # frame shorter. Marked a coroutine function, so servers see an ASGI 3 application.
        if scope["type"] == "lifespan":
            return self._lifespan(receive, send)
        if settings.CHAT_BACKGROUND_TASKS and not self.running() and not self._shut_down_here():
            return self._start_then(scope, receive, send)
        return self.app(scope, receive, send)

    async def _start_then(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The first request of a process that has not started (no lifespan): start, then serve."""
        server = scope.get("server")
        await self.startup(port=server[1] if server and server[1] else None)
        await self.app(scope, receive, send)

    def listening_on(self, port: int) -> None:
        """The server listens on `port`: the identity registered at startup derives from it."""
        self.port = port

    def running(self) -> bool:
        """Started on the current loop (a new loop, as in tests, starts afresh)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._loop is loop and not self._stopped and (self._task is None or not self._task.done())

    def _shut_down_here(self) -> bool:
        """Requests still in flight after shutdown must not register the process again."""
        return self._closed_loop is not None and self._closed_loop is asyncio.get_running_loop()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        entry = self._locks.get(id(loop))
        if entry is None or entry[0] is not loop:
            self._locks = {id(loop): (loop, asyncio.Lock())}
            entry = self._locks[id(loop)]
        return entry[1]

    async def startup(self, *, port: int | None = None) -> None:
        """Work out this process's identity for the port it serves on, tell the gateway engine,
        register this process's instances (awaited, so no request is served before its gateway
        record exists) and start the heartbeat task. Idempotent per loop."""
        async with self._lock():
            if self.running() or not settings.CHAT_BACKGROUND_TASKS:
                return
            loop = asyncio.get_running_loop()
            self.identity = identity = process_identity(port=port or self.port)
            configure_gateway(identity)
            agent = build_agent(identity)
            if agent is not None:
                await agent.register()
            # Only now does running() say so: requests arriving meanwhile wait on the lock.
            self.agent, self._loop, self._stopped, self._task = agent, loop, False, None
            if agent is None:
                return
            self._task = loop.create_task(agent.run(), name="registry-heartbeat")
            beat = agent.liveness_beat()
            if beat is not None:
                self._beat_task = loop.create_task(beat.run(), name="gateway-liveness")
            if not self._atexit_hooked:
                atexit.register(self._at_exit)
                self._atexit_hooked = True

    async def shutdown(self) -> None:
        """Close this gateway's sockets with 1001 (going away) and write its pending
        confirmations, then stop heartbeating and unregister (idempotent)."""
        with contextlib.suppress(RuntimeError):
            self._closed_loop = asyncio.get_running_loop()
        if self._stopped:
            return
        self._stopped = True
        if self.identity is not None and self.identity.gateway is not None:
            with contextlib.suppress(Exception):
                await delivery_engine().shutdown(code=CLOSE_GOING_AWAY)
        tasks = [task for task in (self._task, self._beat_task) if task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: a task that swallowed its cancellation (a client library's close can) must
            # not hold the server's shutdown forever.
            _, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
            for task in pending:
                logger.warning("background task %s did not stop within %.0f s", task.get_name(), STOP_SECONDS)
        self._task = self._beat_task = None
        if self.agent is not None:
            await self.agent.unregister()

    def _at_exit(self) -> None:
        if not self._stopped and self.agent is not None:
            self._stopped = True
            self.agent.unregister_sync()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:
                    logger.exception("lifespan startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
