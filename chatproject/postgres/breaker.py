"""A circuit breaker in front of PostgreSQL: while the database is known to be unreachable,
asking for a connection fails at once instead of waiting out the pool's timeout.

States:

- closed (normal): connections are asked of the pool (or the server), which may wait
  DB_POOL_TIMEOUT_SECONDS under load: a busy database is not an outage.
- open: a new connection failed the way an unreachable server fails (refused, reset, no answer
  within the connect timeout, "the database system is shutting down"). `check` raises
  `DatabaseUnavailable` at once. A prober thread drops the pool (its connections are broken and
  its own reconnection backs off for seconds), then tries a fresh connection every
  DB_BREAKER_PROBE_SECONDS; the first that succeeds closes the breaker and warms a new pool.

A connection that breaks while in use (`connection_lost`) is not proof of an outage (a backend
can be terminated alone): it starts a probe at once; a failed probe opens the breaker, a good one
has the pool test its idle connections and replace the broken ones now.

Refusals from a server that answers (wrong password, unknown database, too many clients) never
open it: they reach the caller as before. The breaker knows nothing of Django; the backend
(`chatproject.postgres.base`) gives it its probe and what to do when it opens and heals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
import psycopg_pool

logger = logging.getLogger(__name__)

# SQLSTATE classes of a server that cannot serve at all: 08 connection exception, 57P
# (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now: starting up).
_OUTAGE_SQLSTATES = ("08", "57P")


class DatabaseUnavailable(psycopg.OperationalError):
    """Raised instead of waiting for a connection while the database is known to be down.
    Django wraps it in its own `OperationalError` (the API answers 503)."""


def is_outage(error: BaseException) -> bool:
    """Whether a failed connection attempt means the server is unreachable (as opposed to a
    server that answered and refused: password, unknown database, too many clients), or
    the pool simply had no free connection in time."""
    if isinstance(error, psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed | psycopg_pool.TooManyRequests):
        return False
    if not isinstance(error, psycopg.OperationalError):
        return False
    sqlstate = error.sqlstate
    return sqlstate is None or sqlstate.startswith(_OUTAGE_SQLSTATES)


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class ConnectionBreaker:
    """The breaker of one database alias. Thread-safe; its prober is a daemon thread that runs
    only while there is something to find out."""

    def __init__(
        self,
        *,
        name: str,
        probe: Callable[[], None],
        probe_seconds: float,
        on_open: Callable[[], None] = lambda: None,
        on_healthy: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = name
        self.probe_seconds = probe_seconds
        self._probe = probe
        self._on_open = on_open
        self._on_healthy = on_healthy
        self._lock = threading.Lock()
        self._open_since: float | None = None
        self._reason = ""
        self._prober: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def is_open(self) -> bool:
        return self._open_since is not None

    def check(self) -> None:
        """Raise `DatabaseUnavailable` while the breaker is open; return at once otherwise."""
        if self._open_since is not None:
            raise DatabaseUnavailable(f"the database is unreachable ({self._reason}); not waiting for a connection")

    def connect_failed(self, error: BaseException) -> None:
        """A new connection could not be made: open the breaker if that was an outage."""
        if is_outage(error):
            self._open(_reason(error))

    def connection_lost(self) -> None:
        """A connection broke while in use: find out now whether the database is still there."""
        self._start_prober()

    def stop(self) -> None:
        """Stop probing (tests); the breaker stays in its state."""
        self._stop.set()
        prober = self._prober
        if prober is not None and prober is not threading.current_thread():
            prober.join(timeout=5)

    # --- state ------------------------------------------------------------------------------

    def _open(self, reason: str) -> None:
        with self._lock:
            newly = self._open_since is None
            if newly:
                self._open_since = time.monotonic()
                self._reason = reason
        if newly:
            logger.warning(
                "the database is unreachable (%s): answering 503 at once, trying to connect every %g s",
                reason,
                self.probe_seconds,
            )
        self._start_prober()

    def _start_prober(self) -> None:
        with self._lock:
            if self._stop.is_set() or self._prober is not None:
                return
            self._prober = threading.Thread(target=self._run, name=f"db-breaker-{self.name}", daemon=True)
            self._prober.start()

    def _try_probe(self) -> BaseException | None:
        try:
            self._probe()
        except Exception as error:
            return error
        return None

    def _run(self) -> None:
        """Probe until the database answers, keeping the breaker open (and the pool dropped)
        while it does not. After a lost connection, a probe that fails in a way that is no
        outage ends the probing quietly. The prober unregisters itself under the lock as it
        decides to end, so that an `_open` racing with its end starts a new one."""
        dropped = False
        while not self._stop.is_set():
            if self.is_open and not dropped:
                self._call(self._on_open, "dropping the pool")
                dropped = True
            error = self._try_probe()
            with self._lock:
                since = self._open_since
                if error is None:
                    self._open_since = None
                    self._prober = None
                elif since is None and not is_outage(error):
                    self._prober = None
                    return
            if error is None:
                if since is not None:
                    logger.warning(
                        "the database answers again after %.1f s: serving requests", time.monotonic() - since
                    )
                self._call(self._on_healthy, "refreshing the pool")
                return
            if since is None:
                self._open(_reason(error))  # this thread stays the prober: drops the pool next
            else:
                self._stop.wait(self.probe_seconds)
        with self._lock:
            self._prober = None

    def _call(self, action: Callable[[], None], what: str) -> None:
        try:
            action()
        except Exception:
            logger.warning("database breaker %s: %s failed", self.name, what, exc_info=True)
