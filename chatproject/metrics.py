"""Prometheus metrics of this process: the registry every app registers its families in, the
families of the shared plumbing (HTTP requests, the channel layer), and the `/metrics` view.

Every process has its own registry and Prometheus scrapes each process (each gateway, each
send instance) and sums across them; nothing is shared between processes. The apps define
the families that describe them next to the code that moves them (`send.metrics`,
`gateway.metrics`) and register them in `REGISTRY` here. Counters move on the code paths that
own them, never per frame per socket.
"""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
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

# Seconds; a request or a message's delivery normally takes milliseconds, a gap fill or a slow
# channel layer up to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_LATENCY = Histogram(
    "chat_http_request_duration_seconds",
    "Time to serve an HTTP request, by method, route pattern and status class.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
CHANNEL_LAYER_ERRORS = Counter(
    "chat_channel_layer_errors",
    "Failed channel-layer operations (send: a push to a gateway; receive: a gateway's read).",
    ["operation"],
    registry=REGISTRY,
)

CHANNEL_LAYER_SEND_ERRORS = CHANNEL_LAYER_ERRORS.labels(operation="send")
CHANNEL_LAYER_RECEIVE_ERRORS = CHANNEL_LAYER_ERRORS.labels(operation="receive")


# --- recording helpers ------------------------------------------------------------------------


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
