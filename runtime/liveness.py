"""This gateway's fast liveness signal (`registry.liveness`), written from a thread of its own
that watches the event loop.

Every REGISTRY_LIVENESS_BEAT_SECONDS the beat thread writes the gateway's entry
REGISTRY_LIVENESS_TTL_SECONDS ahead, as long as the event loop shows progress: a task on the loop
ticks every beat, and a loop that has not ticked for REGISTRY_LIVENESS_STALL_SECONDS (hung, not
merely busy) gets no more beats. So:
- a killed or stopped process (SIGKILL, SIGSTOP, a swapped-out VM) stops beating at once: the
  registry stops handing it out within the TTL (3 s);
- a process whose loop hangs is dead STALL + TTL seconds after its last tick (13 s);
- a loop that is only slow (a connect storm makes it lag by seconds) keeps its entry alive, so
  the gateway is not counted dead for being busy, and keeps its sockets.

Beating from the loop itself, as before, turned loop lag into death: under a storm the beat came
late, the gateway found more than the TTL since its last beat and fenced itself, closing every
socket with 1012 (measured: 83 of 5,000 storm clients).

Each write is one Lua script: it refreshes the entry only if it has not expired. An entry found
expired means readers may have counted the gateway dead and sent its users elsewhere, whatever
the reason (the process was stopped, the loop hung, Redis was out of reach): the thread writes
nothing and asks the loop to fence. Fencing closes the sockets with 1012 (their clients
reconnect through the registry and are sent what they are owed, in order) and registers again
with no routes, which removes the expired entry; only then does beating resume, so no stale
route comes back to life (a registration that failed is retried by the heartbeat loop, as
before). A missing entry (a new life: registration removes it) is written.
A write that fails (Redis away) is retried at the next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable

from django.conf import settings

from registry import liveness

logger = logging.getLogger(__name__)

CLOSE_SECONDS = 2.0
LAG_LOG_SECONDS = 1.0

# KEYS[1] the set; ARGV: gateway id, now (ms), new expiry (ms), "1" to write whatever the entry
# holds. 1: written; 0: the entry had expired (readers count the gateway dead), nothing written.
_REFRESH = """
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[4] ~= '1' and old and tonumber(old) <= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

BEAT = "beat"
LAPSED = "lapsed"
STALLED = "stalled"
FAILED = "failed"


class LivenessBeat:
    def __init__(self, *, gateway_id: str, fence: Callable[[], Awaitable[None]]) -> None:
        self.gateway_id = gateway_id
        self.fence = fence
        self.fences = 0
        self.beats = 0
        self.max_lag = 0.0
        self._tick = time.monotonic()
        self._lapsed = threading.Event()
        self._stop = threading.Event()
        self._fenced = threading.Event()  # the next write is unconditional
        self._script = None

    # --- the beat thread ------------------------------------------------------------------

    def _refresh_script(self):
        if self._script is None:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0)
            self._script = client.register_script(_REFRESH)
        return self._script

    def beat_once(self) -> str:
        """One beat (from the beat thread): BEAT written, STALLED (the loop shows no progress:
        nothing written), LAPSED (the entry had expired: nothing written, fence first) or
        FAILED (Redis did not answer)."""
        if self._lapsed.is_set():
            return LAPSED  # the loop has not fenced yet
        if time.monotonic() - self._tick > settings.REGISTRY_LIVENESS_STALL_SECONDS:
            return STALLED
        key, mapping = liveness.beat_entry(self.gateway_id)
        force = "1" if self._fenced.is_set() else "0"
        try:
            written = self._refresh_script()(
                keys=[key], args=[self.gateway_id, int(time.time() * 1000), mapping[self.gateway_id], force]
            )
        except Exception:
            logger.warning("liveness beat of gateway %s failed", self.gateway_id, exc_info=True)
            return FAILED
        if not written:
            self._lapsed.set()
            return LAPSED
        self._fenced.clear()
        self.beats += 1
        return BEAT

    def _thread_main(self, wake: Callable[[], None]) -> None:
        stalled = False
        while not self._stop.is_set():
            outcome = self.beat_once()
            if outcome == LAPSED:
                wake()
            if (outcome == STALLED) != stalled:
                stalled = not stalled
                if stalled:
                    logger.error(
                        "gateway %s: the event loop made no progress for %.0f s; no more liveness beats",
                        self.gateway_id,
                        settings.REGISTRY_LIVENESS_STALL_SECONDS,
                    )
            self._stop.wait(settings.REGISTRY_LIVENESS_BEAT_SECONDS)

    # --- the event loop ---------------------------------------------------------------------

    async def run(self) -> None:
        """Tick until cancelled, beating from a thread; fence when the thread finds the entry
        expired."""
        loop = asyncio.get_running_loop()
        lapsed = asyncio.Event()
        self._tick = time.monotonic()
        thread = threading.Thread(
            target=self._thread_main,
            args=(lambda: loop.call_soon_threadsafe(lapsed.set),),
            name=f"liveness-{self.gateway_id}",
            daemon=True,
        )
        thread.start()
        try:
            while True:
                period = settings.REGISTRY_LIVENESS_BEAT_SECONDS
                self._tick = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lapsed.wait(), period)
                self._note_lag(time.monotonic() - self._tick - period)
                if self._lapsed.is_set():
                    await self._fence()
                    lapsed.clear()
        finally:
            self._stop.set()
            # Bounded: a beat in flight waits at most its socket timeout.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(thread.join, CLOSE_SECONDS), CLOSE_SECONDS + 1)

    async def _fence(self) -> None:
        self.fences += 1
        logger.warning("gateway %s: its liveness entry expired (it was counted dead): fencing itself", self.gateway_id)
        try:
            await self.fence()
            # Its sockets are closed and it registered again (which removes the entry), or will
            # at its next heartbeat: beat again whatever the entry holds.
            self._fenced.set()
        except Exception:
            logger.exception("fencing gateway %s failed", self.gateway_id)
        finally:
            self._tick = time.monotonic()
            self._lapsed.clear()

    def _note_lag(self, lag: float) -> None:
        if lag > self.max_lag:
            self.max_lag = lag
            if lag > LAG_LOG_SECONDS:
                logger.warning("gateway %s: event loop lag %.1f s (the highest so far)", self.gateway_id, lag)
