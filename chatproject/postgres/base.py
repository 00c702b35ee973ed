"""Django's PostgreSQL backend with a circuit breaker (`chatproject.postgres.breaker`).

settings.py selects it for every PostgreSQL DATABASE_URL. Differences from Django's backend:

- asking for a connection while the breaker is open raises at once (503 in the API) instead of
  waiting DB_POOL_TIMEOUT_SECONDS for a pool that cannot connect;
- the pool's connections tell the breaker when connecting fails (its `connection_class`), and a
  connection that broke in use makes it probe the database at once;
- when the breaker opens, the pool is dropped with its broken connections and its reconnection
  backoff (1 s doubling); when a probe connects again, a fresh pool connects at once. Without a
  pool (DB_POOL_MAX_SIZE=0) each failed connect tells the breaker directly.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base as postgresql

from chatproject.postgres.breaker import ConnectionBreaker

DEFAULT_PROBE_SECONDS = 0.5
_breakers: dict[str, ConnectionBreaker] = {}
_connection_classes: dict[str, type[psycopg.Connection]] = {}
_breakers_lock = threading.Lock()


def database_breaker(alias: str = DEFAULT_DB_ALIAS) -> ConnectionBreaker | None:
    """The breaker of a database alias, once a connection of it has been set up."""
    return _breakers.get(alias)


def _watched_connection_class(breaker: ConnectionBreaker) -> type[psycopg.Connection]:
    class WatchedConnection(psycopg.Connection):  # type: ignore[type-arg]
        """A pooled connection whose failures to connect reach the breaker."""

        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> WatchedConnection:  # type: ignore[override]
            try:
                return super().connect(conninfo, **kwargs)
            except psycopg.OperationalError as error:
                breaker.connect_failed(error)
                raise

    return WatchedConnection


class DatabaseWrapper(postgresql.DatabaseWrapper):
    """One thread's connection, as Django's, consulting the breaker of its alias."""

    def __init__(self, settings_dict: dict[str, Any], alias: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(settings_dict, alias)
        self.breaker = self._breaker()
        pool = settings_dict["OPTIONS"].get("pool")
        if pool and alias != NO_DB_ALIAS:  # Django pools no "no database" connection
            # The pool Django builds from these options makes its connections with this class
            # (the same one for every thread: set once per alias). The options are replaced,
            # not changed in place: copies of this settings dict share them.
            options = {} if pool is True else pool
            with _breakers_lock:
                connection_class = _connection_classes.get(alias)
                if connection_class is None:
                    connection_class = _connection_classes[alias] = _watched_connection_class(self.breaker)
            if options.get("connection_class") is not connection_class:
                pool_options = {**options, "connection_class": connection_class}
                settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "pool": pool_options}

    def _breaker(self) -> ConnectionBreaker:
        with _breakers_lock:
            breaker = _breakers.get(self.alias)
            if breaker is None:
                breaker = _breakers[self.alias] = ConnectionBreaker(
                    name=self.alias,
                    probe=self._probe,
                    probe_seconds=getattr(settings, "DB_BREAKER_PROBE_SECONDS", DEFAULT_PROBE_SECONDS),
                    on_open=self._drop_pool,
                    on_healthy=self._refresh_pool,
                )
            return breaker

    # --- what the breaker does through the wrapper that created it ----------------------------

    def _probe(self) -> None:
        """Connect to the server directly (not through the pool), and hang up."""
        params = self.get_connection_params()
        psycopg.Connection.connect(**params).close()

    def _drop_pool(self) -> None:
        """Close this alias's pool: waiting requests fail at once, broken connections go, and
        so do its reconnection attempts; the next request after the breaker closes builds a new
        one. Connections in use are closed when they are given back."""
        pool = self._connection_pools.pop(self.alias, None)
        if pool is not None:
            pool.close(timeout=1.0)

    def _refresh_pool(self) -> None:
        """The database answers: have the pool test its idle connections and replace the
        broken ones now, or open the new pool, which connects at once."""
        pool = self.pool
        if pool is None:
            return
        if pool.closed:  # never opened (Django builds it before its first use): connect now
            pool.open()
        else:
            pool.check()

    # --- Django's hooks --------------------------------------------------------------------

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        self.breaker.check()
        try:
            return super().get_new_connection(conn_params)
        except psycopg.OperationalError as error:
            # Without a pool this was a connect; with one, a wait (never an outage by itself).
            self.breaker.connect_failed(error)
            raise

    def _close(self) -> None:
        if self.connection is not None and self.connection.broken:
            self.breaker.connection_lost()
        super()._close()
