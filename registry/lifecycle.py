"""This process in the registry: register at start, heartbeat with real figures, register
again after a 404, unregister at shutdown.

`RegistryLifecycleMiddleware` wraps the ASGI application (`chatproject.asgi`). Its duties
start on the running event loop:

- eagerly under `manage.py serve` (our daphne launcher, see
  `registry/management/commands/serve.py`), as soon as the server listens, so a gateway with
  no client yet is registered; unregistration runs in a twisted "before shutdown" trigger,
  which SIGTERM and SIGINT reach through the reactor's own signal handling;
- on a `lifespan.startup` / `lifespan.shutdown` pair (uvicorn and other lifespan servers);
- lazily on the first scope of any kind otherwise (plain `daphne` has no lifespan and no
  hook), with an `atexit` hook that unregisters once the server has stopped.

Heartbeats run every REGISTRY_HEARTBEAT_SECONDS as a task on the server's loop; each call
into the registry crosses to a worker thread (`database_sync_to_async(thread_sensitive=
False)`), so neither the loop nor the request thread waits on it. Failures are logged and
retried at the next beat; the process never stops serving because the registry is away.
Nothing starts when CHAT_BACKGROUND_TASKS is off (tests).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chatproject.exceptions import NotFound
from gateway.hub import Hub, hub
from registry.clients import RegistryClient, Sockets, registry_client
from registry.identity import (
    GatewayIdentity,
    SendIdentity,
    adopt_serving_port,
    carries_registry,
    gateway_identity,
    send_identity,
    serves_gateway,
    serves_send,
)

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PURGE_EVERY_BEATS = 360


def hub_sockets(source: Hub | None = None) -> Sockets:
    """`(user_id, connection_id)` of every socket the hub holds. Safe to call from a worker
    thread: a snapshot that raced with the loop changing the hub is simply taken again."""
    for _ in range(10):
        try:
            return [(socket.user_id, socket.connection_id) for socket in (source or hub).all_sockets()]
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return []


def gateway_figures(*, capacity: int, source: Hub | None = None) -> tuple[float, int]:
    """(load 0..1, connections) of this gateway: its sockets and their share of capacity."""
    connections = (source or hub).connection_count()
    return min(1.0, connections / max(capacity, 1)), connections


def gateway_register_self() -> None:
    """Register this process's gateway now, with the sockets it holds. Blocking: for sync code
    that found the record gone (e.g. `user_connect` raised NotFound)."""
    registry_client().gateway_register(gateway_identity(), hub_sockets())


class RegistryAgent:
    """The background duties of one process: its gateway record, its send record, or both."""

    def __init__(
        self,
        *,
        client: RegistryClient,
        gateway: GatewayIdentity | None,
        send: SendIdentity | None,
        purge: bool = False,
        source: Hub | None = None,
    ) -> None:
        self.client = client
        self.gateway = gateway
        self.send = send
        self.purge = purge
        self.source = source
        self.gateway_registered = False
        self.send_registered = False
        self.beats = 0

    @staticmethod
    async def _call(func: Callable[..., Any], *args: Any) -> Any:
        return await database_sync_to_async(func, thread_sensitive=False)(*args)

    async def register_gateway(self) -> None:
        if self.gateway is None:
            return
        try:
            await self._call(self.client.gateway_register, self.gateway, hub_sockets(self.source))
        except Exception:
            self.gateway_registered = False
            logger.warning("could not register gateway %s; retrying", self.gateway.gateway_id, exc_info=True)
            return
        self.gateway_registered = True
        logger.info("registered gateway %s at %s", self.gateway.gateway_id, self.gateway.ws_url)

    async def register_send(self) -> None:
        if self.send is None:
            return
        try:
            await self._call(self.client.send_register, self.send)
        except Exception:
            self.send_registered = False
            logger.warning("could not register send instance %s; retrying", self.send.instance_id, exc_info=True)
            return
        self.send_registered = True
        logger.info("registered send instance %s at %s", self.send.instance_id, self.send.url)

    async def register(self) -> None:
        await self.register_gateway()
        await self.register_send()

    async def beat(self) -> None:
        """One heartbeat of each record; a record the registry no longer knows (404), or one
        never registered, is registered (again)."""
        if self.gateway is not None:
            if not self.gateway_registered:
                await self.register_gateway()
            else:
                load, connections = gateway_figures(capacity=self.gateway.capacity, source=self.source)
                try:
                    await self._call(self.client.gateway_heartbeat, self.gateway.gateway_id, load, connections)
                except NotFound:
                    logger.warning("gateway %s expired in the registry; registering again", self.gateway.gateway_id)
                    await self.register_gateway()
                except Exception:
                    logger.warning("heartbeat of gateway %s failed", self.gateway.gateway_id, exc_info=True)
        if self.send is not None:
            if not self.send_registered:
                await self.register_send()
            else:
                try:
                    await self._call(self.client.send_heartbeat, self.send.instance_id)
                except NotFound:
                    logger.warning("send instance %s expired in the registry; registering again", self.send.instance_id)
                    await self.register_send()
                except Exception:
                    logger.warning("heartbeat of send instance %s failed", self.send.instance_id, exc_info=True)
        self.beats += 1
        if self.purge and self.beats % PURGE_EVERY_BEATS == 0:
            try:
                await self._call(self.client.purge)
            except Exception:
                logger.warning("purging dead registry records failed", exc_info=True)

    async def run(self) -> None:
        """Heartbeat forever, every REGISTRY_HEARTBEAT_SECONDS (read at each beat)."""
        while True:
            await asyncio.sleep(settings.REGISTRY_HEARTBEAT_SECONDS)
            await self.beat()

    def _unregister_calls(self) -> list[tuple[Callable[[str], None], str]]:
        calls: list[tuple[Callable[[str], None], str]] = []
        if self.gateway is not None:
            calls.append((self.client.gateway_unregister, self.gateway.gateway_id))
        if self.send is not None:
            calls.append((self.client.send_unregister, self.send.instance_id))
        return calls

    async def unregister(self) -> None:
        for func, instance_id in self._unregister_calls():
            try:
                await self._call(func, instance_id)
                logger.info("unregistered %s", instance_id)
            except Exception:
                logger.warning("could not unregister %s", instance_id, exc_info=True)

    def unregister_sync(self) -> None:
        """For exit hooks, when no event loop runs any more."""
        for func, instance_id in self._unregister_calls():
            try:
                func(instance_id)
                logger.info("unregistered %s", instance_id)
            except Exception:
                logger.warning("could not unregister %s", instance_id, exc_info=True)


def build_agent() -> RegistryAgent | None:
    """The agent for this process's roles, or None when it registers nothing."""
    gateway = gateway_identity() if serves_gateway() else None
    send = send_identity() if serves_send() else None
    purge = carries_registry() and not settings.REGISTRY_URL
    if gateway is None and send is None and not purge:
        return None
    return RegistryAgent(client=registry_client(), gateway=gateway, send=send, purge=purge)


class RegistryLifecycleMiddleware:
    """ASGI wrapper that carries this process's registry duties (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.agent: RegistryAgent | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._locks: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}
        self._stopped = True
        self._closed_loop: asyncio.AbstractEventLoop | None = None
        self._atexit_hooked = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if settings.CHAT_BACKGROUND_TASKS and not self.running() and not self._shut_down_here():
            server = scope.get("server")
            await self.startup(port=server[1] if server and server[1] else None)
        await self.app(scope, receive, send)

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
        """Register this process's instances (awaited, so no request is served before its
        gateway record exists) and start the heartbeat task. Idempotent per loop."""
        async with self._lock():
            if self.running() or not settings.CHAT_BACKGROUND_TASKS:
                return
            if port:
                adopt_serving_port(port)
            loop = asyncio.get_running_loop()
            agent = build_agent()
            if agent is not None:
                await agent.register()
            # Only now does running() say so: requests arriving meanwhile wait on the lock.
            self.agent, self._loop, self._stopped, self._task = agent, loop, False, None
            if agent is None:
                return
            self._task = loop.create_task(agent.run(), name="registry-heartbeat")
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
        if serves_gateway():
            from gateway.delivery import engine

            with contextlib.suppress(Exception):
                await engine.shutdown(code=1001)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
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
