"""The registry's picture of the live gateways, kept in the process, for the choice of a gateway
(`services.gateway_choose`, on every client's `GET /registry/gateway/available`).

Counting each gateway's recorded routes on every request made a connect storm quadratic: each
client's choice cost a scan of every socket. Instead each process keeps a snapshot of the
gateways' records (one query of the small gateways table), taken again when it is older than
REGISTRY_SNAPSHOT_SECONDS or when a gateway registers, heartbeats or leaves through this process.
A gateway's load is what its last heartbeat reported (its socket count and its own figure) plus
the clients this process has sent it since that heartbeat, so that a burst spreads evenly
instead of landing on whichever gateway looked emptiest at its last heartbeat. Each process
counts only its own clients: with several registry processes each spreads its share.

Liveness is judged at each choice, not at the snapshot: the database heartbeat against the
registry's clock, and the fast signal (`registry.liveness`, cached for 0.25 s) for the set of
gateways whose entry expired. A dead gateway is therefore never handed out, however fresh the
snapshot; a gateway that registered in another process in the last second may be missed until
the next refresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from registry import clock, liveness
from registry.models import GatewayInstance
from registry.selectors import live_cutoff

_FIELDS = (
    "gateway_id",
    "address",
    "port",
    "ws_url",
    "capacity",
    "load",
    "connected_users",
    "last_heartbeat",
)


@dataclass(frozen=True)
class GatewayEntry:
    """One gateway as the snapshot saw it."""

    gateway_id: str
    address: str
    port: int
    ws_url: str
    capacity: int
    load: float
    connected_users: int
    last_heartbeat: datetime


class GatewaySnapshot:
    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, GatewayEntry] = {}
        self._taken_at: float | None = None
        # gateway id -> (the heartbeat the count started after, clients sent since)
        self._sent: dict[str, tuple[datetime, int]] = {}
        self.refreshes = 0

    def invalidate(self) -> None:
        """Take the snapshot again at the next choice (a gateway registered, heartbeat or left)."""
        with self._lock:
            self._taken_at = None

    def heard(self, gateway_id: str) -> None:
        """A gateway registered or heartbeat through this process: its report now covers the
        clients sent to it so far; take the snapshot again at the next choice."""
        with self._lock:
            self._taken_at = None
            self._sent.pop(gateway_id, None)

    def reset(self) -> None:
        """Forget everything, the counts too (tests)."""
        with self._lock:
            self._entries, self._taken_at, self._sent = {}, None, {}

    def live(self, *, now: datetime) -> dict[str, GatewayEntry]:
        """The gateways alive at `now`: a fresh database heartbeat, and an unexpired fast-signal
        entry (`registry.liveness`). Refreshes the snapshot first when it is due."""
        entries = self._current()
        cutoff = live_cutoff(now=now)
        dead = liveness.dead_gateway_ids()
        return {
            gateway_id: entry
            for gateway_id, entry in entries.items()
            if entry.last_heartbeat > cutoff and gateway_id not in dead
        }

    def in_use(self, entry: GatewayEntry) -> int:
        """The sockets `entry` reported at its last heartbeat plus the clients sent to it since."""
        with self._lock:
            counted = self._sent.get(entry.gateway_id)
        sent = counted[1] if counted is not None and counted[0] == entry.last_heartbeat else 0
        return entry.connected_users + sent

    def sent(self, entry: GatewayEntry) -> None:
        """Count one client sent to `entry` (until its next heartbeat reports it)."""
        with self._lock:
            counted = self._sent.get(entry.gateway_id)
            if counted is None or counted[0] != entry.last_heartbeat:
                counted = (entry.last_heartbeat, 0)
            self._sent[entry.gateway_id] = (counted[0], counted[1] + 1)

    def _current(self) -> dict[str, GatewayEntry]:
        with self._lock:
            taken_at = self._taken_at
            if taken_at is not None and self._monotonic() - taken_at < settings.REGISTRY_SNAPSHOT_SECONDS:
                return self._entries
        rows = GatewayInstance.objects.filter(last_heartbeat__gt=live_cutoff(now=clock.now())).values_list(*_FIELDS)
        entries = {row[0]: GatewayEntry(*row) for row in rows}
        with self._lock:
            self._entries, self._taken_at = entries, self._monotonic()
            # Counts whose gateway has heartbeaten since (or is gone) are covered by its report.
            self._sent = {
                gateway_id: counted
                for gateway_id, counted in self._sent.items()
                if gateway_id in entries and entries[gateway_id].last_heartbeat == counted[0]
            }
            self.refreshes += 1
        return entries


_snapshot = GatewaySnapshot()


def gateway_snapshot() -> GatewaySnapshot:
    """This process's snapshot of the live gateways."""
    return _snapshot
