"""This gateway's fast liveness signal (`registry.liveness`), kept fresh from the event loop.

Every REGISTRY_LIVENESS_BEAT_SECONDS the loop writes the gateway's entry REGISTRY_LIVENESS_TTL_
SECONDS ahead. A process that is killed stops writing, and the registry stops handing out the
gateway within the TTL. A process that was frozen (a debugger, a stop signal, a swapped-out VM)
finds on waking that more than the TTL passed since its last beat: the others have counted it
dead and sent its users elsewhere, so it fences itself before writing again: it closes its
sockets with 1012 (their clients reconnect through the registry and are sent what they are owed,
in order) and registers again with no routes, so no stale route comes back to life.
A Redis that does not answer is retried at the next beat; readers then fall back to the
database heartbeat (see `registry.liveness`), so that is no reason to fence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from django.conf import settings

from registry import liveness

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 2.0


class LivenessBeat:
    def __init__(self, *, gateway_id: str, fence: Callable[[], Awaitable[None]]) -> None:
        self.gateway_id = gateway_id
        self.fence = fence
        self.fences = 0
        self._redis = None

    def _client(self):
        if self._redis is None:
            import redis.asyncio

            self._redis = redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
            )
        return self._redis

    async def beat(self) -> None:
        key, mapping = liveness.beat_entry(self.gateway_id)
        await self._client().zadd(key, mapping)

    async def run(self) -> None:
        """Beat until cancelled; fence first after a lapse of the loop itself."""
        period = settings.REGISTRY_LIVENESS_BEAT_SECONDS
        ttl = settings.REGISTRY_LIVENESS_TTL_SECONDS
        last = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now - last > ttl:
                    self.fences += 1
                    logger.warning(
                        "gateway %s did not beat for %.1f s (over the %.1f s TTL): fencing itself",
                        self.gateway_id,
                        now - last,
                        ttl,
                    )
                    try:
                        await self.fence()
                    except Exception:
                        logger.exception("fencing gateway %s failed", self.gateway_id)
                last = now
                try:
                    await self.beat()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.warning("liveness beat of gateway %s failed", self.gateway_id, exc_info=True)
                await asyncio.sleep(period)
        finally:
            if self._redis is not None:
                redis, self._redis = self._redis, None
                # Bounded: closing a connection whose command was cancelled can wait forever on
                # the socket's close (redis-py #3941), which would hang the server's shutdown.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(redis.aclose(), CLOSE_SECONDS)
