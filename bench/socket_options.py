"""How every bench client opens its WebSocket (bench.clients, bench.roaming)."""

from __future__ import annotations

from typing import Any

# How every bench client opens its socket: no compression, no keepalive pings of its own, the
# caller's timeouts, a bounded queue of incoming frames.
SOCKET_OPTIONS: dict[str, Any] = {
    "compression": None,
    "proxy": None,
    "ping_interval": None,
    "open_timeout": None,
    "close_timeout": 2,
    "max_queue": 64,
}
