"""The `/health` report: can this process reach the database and Redis?"""

from __future__ import annotations

import logging
from typing import TypedDict

from django.conf import settings
from django.db import DatabaseError, connection

from registry import selectors

logger = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 1.0


class HealthReport(TypedDict):
    status: str
    database: str
    redis: str
    gateways: int
    send_instances: int


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("health: the database does not answer", exc_info=True)
        return False
    return True


def _redis_state() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        logger.warning("health: redis does not answer", exc_info=True)
        return "error"
    finally:
        client.close()
    return "ok"


def health_report() -> HealthReport:
    """Database and Redis state and the number of live instances; `status` is "ok" only when
    every configured backing service answers. Blocking: call it from sync code."""
    database_ok = _database_ok()
    gateways = sends = 0
    if database_ok:
        try:
            gateways = selectors.gateway_live_queryset().count()
            sends = selectors.send_instance_live_queryset().count()
        except DatabaseError:
            logger.warning("health: counting instances failed", exc_info=True)
            database_ok = False
    redis_state = _redis_state()
    healthy = database_ok and redis_state != "error"
    return HealthReport(
        status="ok" if healthy else "degraded",
        database="ok" if database_ok else "error",
        redis=redis_state,
        gateways=gateways,
        send_instances=sends,
    )
