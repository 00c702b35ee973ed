"""Metrics of this process's gateway, registered in the process's registry (`chatproject.metrics`).

Counters move once per event, never per frame per socket: the engine counts a fan-out in a
local integer and records it with `event_delivered`. The connection gauges are read from the
engine's hub when Prometheus scrapes, and only in a process that serves as a gateway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from chatproject.bus import EVENT_TYPES
from chatproject.metrics import LATENCY_BUCKETS, REGISTRY

FRAMES_DELIVERED = Counter(
    "chat_frames_delivered",
    "Frames this gateway handed to its local sockets, by frame type (chat, ack, notice, forward, batch).",
    ["type"],
    registry=REGISTRY,
)
REDELIVERIES = Counter(
    "chat_redeliveries",
    "Unconfirmed messages this gateway wrote again to an ack-mode socket after the redelivery timeout.",
    registry=REGISTRY,
)
GATEWAY_EVENTS_RECEIVED = Counter(
    "chat_gateway_events_received",
    "Channel-layer events this gateway received, by event type.",
    ["type"],
    registry=REGISTRY,
)
SLOW_CONSUMERS = Counter(
    "chat_slow_consumers",
    "Sockets this gateway cut off (close 4008) because they did not read what they were sent.",
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "chat_delivery_latency_seconds",
    "From a message's creation (a resend: the request) until this gateway finished writing it to its "
    "sockets; observed once per deliver event.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

FRAME_TYPES = ("chat", "ack", "notice", "forward", "batch", "live")
# Label children bound once: the per-event path does a dict lookup and one inc.
_frames = {kind: FRAMES_DELIVERED.labels(type=kind) for kind in FRAME_TYPES}
_events = {kind: GATEWAY_EVENTS_RECEIVED.labels(type=kind) for kind in (*EVENT_TYPES, "other")}


def event_received(*, kind: object) -> None:
    """Count one channel-layer event of type `kind` received by this gateway."""
    counter = _events.get(kind) if isinstance(kind, str) else None
    (counter if counter is not None else _events["other"]).inc()


def event_delivered(*, frame_type: str, frames: int, sent_at_ms: float | None = None, acks: int = 0) -> None:
    """Record one event's fan-out: `frames` frames of `frame_type` (and `acks` ack frames)
    handed to local sockets. With `sent_at_ms` (Unix ms) and at least one frame written, observe
    the delivery latency once, now."""
    if frames:
        _frames[frame_type].inc(frames)
    if acks:
        _frames["ack"].inc(acks)
    if sent_at_ms is not None and (frames or acks):
        DELIVERY_LATENCY.observe(max(0.0, time.time() - sent_at_ms / 1000.0))


# (gateway id or None when this process is no gateway, connections, distinct users)
GatewayFigures = Callable[[], tuple[str | None, int, int]]


class GatewayCollector:
    """`chat_gateway_connections` and `chat_gateway_users`, read at scrape time."""

    def __init__(self, figures: GatewayFigures) -> None:
        self._figures = figures

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        connections, users = self._families()
        gateway_id, connection_count, user_count = self._figures()
        if gateway_id is not None:
            connections.add_metric([gateway_id], connection_count)
            users.add_metric([gateway_id], user_count)
        yield connections
        yield users

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "chat_gateway_connections", "WebSocket connections open on this gateway.", labels=["gateway"]
            ),
            GaugeMetricFamily(
                "chat_gateway_users", "Distinct users with a WebSocket open on this gateway.", labels=["gateway"]
            ),
        )


def register_collector(figures: GatewayFigures) -> None:
    """Register the connection gauges (once per process, from `gateway.apps`)."""
    REGISTRY.register(GatewayCollector(figures))
