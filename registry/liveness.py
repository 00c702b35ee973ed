"""The fast liveness signal of gateways (API.md §4): a Redis sorted set in which each gateway
keeps its own entry a few seconds in the future.

A gateway writes `ZADD <prefix>:gateways:alive <now + TTL ms> <gateway_id>` every
REGISTRY_LIVENESS_BEAT_SECONDS from a beat thread that watches its event loop
(`runtime.liveness`), so a process that is killed or frozen drops out after
REGISTRY_LIVENESS_TTL_SECONDS, and its clients are sent to another gateway within seconds
instead of after the 30 s database heartbeat. Readers take the entries still in the future in
one `ZRANGEBYSCORE`, cached in the process for a fraction of a second (the route lookup of
every message reads it).

A gateway is alive when its database heartbeat is fresh and its entry has not expired. A gateway
with no entry (one registered over HTTP that does not beat, or any gateway without Redis) and
every gateway while Redis does not answer are judged by the database heartbeat alone, as before.
A registration removes the gateway's entry: a new life starts, and its beat thread writes again.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_CACHE_SECONDS = 0.25
_cache: tuple[float, frozenset[str]] = (0.0, frozenset())
_client = None
_last_error_log = 0.0


def key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:gateways:alive"


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.REGISTRY_LIVENESS_TTL_SECONDS > 0


def _redis():
    global _client
    if _client is None:
        import redis

        _client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    return _client


def dead_gateway_ids() -> frozenset[str]:
    """The gateways whose entry has expired: killed or frozen, whatever their database heartbeat
    says. Empty without Redis or while it does not answer."""
    global _cache
    if not enabled():
        return frozenset()
    now = time.monotonic()
    cached_at, dead = _cache
    if now - cached_at < _CACHE_SECONDS:
        return dead
    try:
        members = _redis().zrangebyscore(key(), "-inf", int(time.time() * 1000))
        dead = frozenset(m.decode() if isinstance(m, bytes) else m for m in members)
    except Exception:
        dead = frozenset()
        _log_unreachable()
    _cache = (now, dead)
    return dead


def forget_cache() -> None:
    """Read afresh at the next call (tests, and a gateway that has just beaten)."""
    global _cache
    _cache = (0.0, frozenset())


def _log_unreachable() -> None:
    global _last_error_log
    now = time.monotonic()
    if now - _last_error_log > 30:
        _last_error_log = now
        logger.warning("the gateways' liveness set in Redis does not answer: the database heartbeat decides alone")


def beat_entry(gateway_id: str) -> tuple[str, dict[str, int]]:
    """(key, mapping) of one beat: the gateway's entry, TTL seconds from now (for ZADD)."""
    expires_ms = int((time.time() + settings.REGISTRY_LIVENESS_TTL_SECONDS) * 1000)
    return key(), {gateway_id: expires_ms}


def forget(gateway_id: str) -> None:
    """Take a gateway out at once (it unregistered). Never raises."""
    if not enabled():
        return
    try:
        _redis().zrem(key(), gateway_id)
        forget_cache()
    except Exception:
        _log_unreachable()


def purge_expired(*, older_than_seconds: float = 3600.0) -> None:
    """Drop entries that expired long ago (a registry process does it with its purge)."""
    if not enabled():
        return
    try:
        _redis().zremrangebyscore(key(), "-inf", int((time.time() - older_than_seconds) * 1000))
    except Exception:
        _log_unreachable()
