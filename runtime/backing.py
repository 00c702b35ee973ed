"""Checks of what `manage.py cluster` needs before it starts anything: the database and Redis
answer (within 3 s each), and the ports are free. Each returns a line saying what it found or
raises `unusable`: a `CommandError` with exit code 2 whose message is one line naming the
variable and the reason, e.g. "cannot reach PostgreSQL at 127.0.0.1:5432 (DATABASE_URL):
connection refused". Passwords in URLs are never part of a message."""

from __future__ import annotations

import contextlib
import math
import socket
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.management.base import CommandError

CHECK_TIMEOUT_SECONDS = 3.0
EXIT_UNUSABLE = 2
# libpq's words for a server that answers but turns the user away.
_LOGIN_REFUSED = ("password authentication failed", "role ", "no pg_hba.conf entry", "password is required")


def unusable(message: str) -> CommandError:
    """A one-line refusal to start (exit 2), printed without a traceback."""
    return CommandError(message, returncode=EXIT_UNUSABLE)


def _postgres_reason(error: Exception, *, timeout: float) -> str:
    text = str(error).strip()
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "timeout expired" in lowered or "timed out" in lowered:
        return f"no answer within {timeout:g} s"
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return "unknown host name"
    first = text.splitlines()[0] if text else type(error).__name__
    # "connection failed: connection to server at "h", port p failed: FATAL:  <reason>"
    reason = first.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    return reason or type(error).__name__


def _postgres_params(config: dict[str, Any], *, dbname: str, timeout: float) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "dbname": dbname,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        # libpq counts whole seconds and treats 1 as 2.
        "connect_timeout": max(2, math.ceil(timeout)),
        **(config.get("OPTIONS") or {}),
    }
    return {key: value for key, value in params.items() if value is not None}


def postgres_check(*, config: dict[str, Any], timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Connect to the PostgreSQL database of a parsed DATABASE_URL; create the database when
    the server answers but lacks it. Returns a line saying what was found or done; raises
    `unusable` with the reason (refused, no answer, login refused, ...) otherwise."""
    import psycopg
    from psycopg import sql

    host = config.get("HOST") or "the local socket"
    port = config.get("PORT") or 5432
    where = f"{host}:{port}" if config.get("HOST") else host
    name = config["NAME"]
    try:
        psycopg.connect(**_postgres_params(config, dbname=name, timeout=timeout)).close()
        return f'PostgreSQL database "{name}" at {where}'
    except psycopg.Error as error:
        reason = _postgres_reason(error, timeout=timeout)
        if f'database "{name}" does not exist' not in str(error):
            if any(marker in reason for marker in _LOGIN_REFUSED):
                raise unusable(f"PostgreSQL at {where} refused the login (DATABASE_URL): {reason}") from None
            raise unusable(f"cannot reach PostgreSQL at {where} (DATABASE_URL): {reason}") from None
    createdb = "createdb" + "".join(
        f" {flag} {value}"
        for flag, value in (("-h", config.get("HOST")), ("-p", config.get("PORT")), ("-U", config.get("USER")))
        if value
    )
    try:
        with psycopg.connect(**_postgres_params(config, dbname="postgres", timeout=timeout), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise unusable(
            f'PostgreSQL at {where} has no database "{name}" (DATABASE_URL) and it could not be created '
            f"({_postgres_reason(error, timeout=timeout)}): create it with `{createdb} {name}`"
        ) from None
    return f'PostgreSQL database "{name}" at {where} (created now)'


def sqlite_check(*, path: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Open the SQLite file of DATABASE_URL (created if its directory exists)."""
    if not path or path == ":memory:":
        raise unusable("DATABASE_URL names an in-memory SQLite database; the processes need one file to share")
    if not Path(path).parent.is_dir():
        raise unusable(f"cannot open SQLite database {path} (DATABASE_URL): directory {Path(path).parent} is missing")
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=timeout)) as db:
            db.execute("SELECT 1").fetchone()
    except sqlite3.Error as error:
        raise unusable(f"cannot open SQLite database {path} (DATABASE_URL): {error}") from None
    return f"SQLite database {path} (to try the cluster out; five processes share one file: use PostgreSQL)"


def database_check(*, url: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """Check the database a DATABASE_URL names (see `postgres_check`, `sqlite_check`)."""
    if not url.strip():
        raise unusable(
            "DATABASE_URL is not set: a cluster needs PostgreSQL, "
            "e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat"
        )
    try:
        config = dj_database_url.parse(url)
    except ValueError as error:
        raise unusable(f"DATABASE_URL is not a database URL: {error}") from None
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        return sqlite_check(path=str(config["NAME"]), timeout=timeout)
    if "postgresql" not in engine and "postgis" not in engine:
        raise unusable(f"DATABASE_URL names {engine}; a cluster runs on PostgreSQL (or SQLite to try it out)")
    return postgres_check(config=config, timeout=timeout)


def redis_check(*, url: str, timeout: float = CHECK_TIMEOUT_SECONDS) -> str:
    """PING the Redis of REDIS_URL. Returns a line naming it; raises `unusable` otherwise."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError as error:
        raise unusable(f"REDIS_URL is not a Redis URL: {error}") from None
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    try:
        client.ping()
    except redis.AuthenticationError as error:
        raise unusable(f"Redis at {where} refused the login (REDIS_URL): {error}") from None
    except redis.TimeoutError:
        raise unusable(f"cannot reach Redis at {where} (REDIS_URL): no answer within {timeout:g} s") from None
    except (redis.RedisError, OSError) as error:
        text = str(error)
        reason = "connection refused" if "refused" in text.lower() else text
        raise unusable(f"cannot reach Redis at {where} (REDIS_URL): {reason}") from None
    finally:
        client.close()
    return f"Redis at {where}"


def port_check(*, host: str, services: Iterable[tuple[str, int]]) -> None:
    """Raise `unusable` when one of the ports is taken on host."""
    for name, port in services:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host.strip("[]"), port))
            except OSError as error:
                raise unusable(
                    f"port {port} ({name}) on {host} is not free ({error.strerror or error}): "
                    "stop what listens there or shift every port with --base-port"
                ) from None
