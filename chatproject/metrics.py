"""Prometheus metrics of this process, all defined here, and the `/metrics` view.

Every process has its own registry and Prometheus scrapes each process (each gateway, each
send instance) and sums across them; nothing is shared between processes. Counters move on
the code paths that own them, never per frame per socket: the gateway counts a fan-out in a
local integer and adds it once per event (`gateway_event_delivered`). The connections gauge
is read from the hub at scrape time, not updated on every connect.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from chatproject.envelope import json_error

# No `*_created` series: they double the output and Prometheus does not need them.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Seconds; a message normally reaches its sockets in milliseconds, a gap fill or a slow
# channel layer in up to seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

MESSAGES_SENT = Counter(
    "chat_messages_sent",
    "Messages stored by this process's send path (counted after commit; idempotent repeats not counted).",
    registry=REGISTRY,
)
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
DELIVERY_LATENCY = Histogram(
    "chat_delivery_latency_seconds",
    "From a message's creation (a resend: the request) until this gateway finished writing it to its "
    "sockets; observed once per deliver event.",
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "chat_http_request_duration_seconds",
    "Time to serve an HTTP request, by method, route pattern and status class.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
CHANNEL_LAYER_ERRORS = Counter(
    "chat_channel_layer_errors",
    "Failed channel-layer operations (send: a push to a gateway; receive: a gateway's read).",
    ["operation"],
    registry=REGISTRY,
)

FRAME_TYPES = ("chat", "ack", "notice", "forward", "batch")
EVENT_TYPES = ("deliver", "notice", "forward", "sync", "close")
# Label children bound once: the gateway's per-event path does a dict lookup and one inc.
_frames = {kind: FRAMES_DELIVERED.labels(type=kind) for kind in FRAME_TYPES}
_events = {kind: GATEWAY_EVENTS_RECEIVED.labels(type=kind) for kind in (*EVENT_TYPES, "other")}
CHANNEL_LAYER_SEND_ERRORS = CHANNEL_LAYER_ERRORS.labels(operation="send")
CHANNEL_LAYER_RECEIVE_ERRORS = CHANNEL_LAYER_ERRORS.labels(operation="receive")


class GatewayCollector:
    """`chat_gateway_connections` and `chat_gateway_users` of this process's gateway, read from
    the hub when Prometheus scrapes (only in a process with the gateway role)."""

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        from gateway.hub import hub
        from registry.identity import serves_gateway

        connections, users = self._families()
        if serves_gateway():
            connections.add_metric([settings.GATEWAY_ID], hub.connection_count())
            users.add_metric([settings.GATEWAY_ID], hub.user_count())
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


REGISTRY.register(GatewayCollector())


# --- recording helpers for the hot paths --------------------------------------------------


def gateway_event_received(*, kind: object) -> None:
    """Count one channel-layer event of type `kind` received by this gateway."""
    counter = _events.get(kind) if isinstance(kind, str) else None
    (counter if counter is not None else _events["other"]).inc()


def gateway_event_delivered(*, frame_type: str, frames: int, sent_at_ms: float | None = None, acks: int = 0) -> None:
    """Record one event's fan-out: `frames` frames of `frame_type` (and `acks` ack frames)
    handed to local sockets. With `sent_at_ms` (Unix ms) and at least one frame written, observe
    the delivery latency once, now."""
    if frames:
        _frames[frame_type].inc(frames)
    if acks:
        _frames["ack"].inc(acks)
    if sent_at_ms is not None and (frames or acks):
        DELIVERY_LATENCY.observe(max(0.0, time.time() - sent_at_ms / 1000.0))


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_route_label(route: str | None) -> str:
    """A URL pattern as a label: "/registry/gateway/<gateway_id>", never a path with ids in it."""
    if route is None:
        return "<unresolved>"
    route = _NAMED_GROUP.sub(lambda m: f"<{m[1]}>", route).removeprefix("^").removesuffix("$")
    return "/" + route.lstrip("/")


def http_request_observed(*, method: str, route: str, status: int, seconds: float) -> None:
    """Observe one HTTP request; unknown methods share the label "other"."""
    HTTP_LATENCY.labels(
        method=method if method in _METHODS else "other", route=route, status=f"{status // 100}xx"
    ).observe(seconds)


# --- the endpoint -----------------------------------------------------------------------------


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), token.encode())


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: this process's metrics in the Prometheus text format (OpenMetrics when the
    scraper asks for it), no envelope. With METRICS_TOKEN set, `Authorization: Bearer <it>` is
    required (401 in the envelope otherwise)."""
    if request.method not in {"GET", "HEAD"}:
        response = json_error(405, f"method {request.method} is not allowed on /metrics; use GET")
        response["Allow"] = "GET, HEAD"
        return response
    token = settings.METRICS_TOKEN
    if token and not _authorized(request, token):
        response = json_error(401, "metrics need the header 'Authorization: Bearer <METRICS_TOKEN>'")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(REGISTRY), content_type=content_type)
