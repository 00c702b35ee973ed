"""Hot GETs answered beside Django's request stack, for the common case only.

One request is on the critical path of every reconnect: a client asking the registry where to
open its socket (`GET /registry/gateway/available`). When a gateway dies, thousands of clients ask
at once, and each answer through Django's stack (thirteen middlewares, URL resolution, DRF's
negotiation and serializers) cost about three times the work of the answer itself (README,
Performance: the connect storm).

`FastRoutes` answers such a route without that stack, and hands everything else to it:

- the route's `prepare` looks at the request on the event loop (path, query string, headers)
  and returns the work to do, or None when the request is anything but the plain case (another
  method, a body, an unexpected query, an `Accept` that asks for something other than JSON, a
  host outside ALLOWED_HOSTS). Then Django answers it, with the errors and envelopes it always
  gives;
- the work runs in one of the request threads of `chatproject.asgi_handler` (the database is
  synchronous), and returns the reply's `data`, or raises: any exception also hands the request
  to Django, which answers it as it would have (an error in the envelope, a 503, a 500 logged);
- the reply is what Django's stack writes for the same request, byte for byte in the body and
  header for header (tests/chatproject/test_fast_http.py compares the two): the envelope, the
  request id, the security headers of SecurityMiddleware and XFrameOptionsMiddleware, DRF's
  `Allow`, the access-log line and the request-duration metric of `chatproject.middleware`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host

from chatproject import metrics
from chatproject.middleware import request_id_for, request_id_var, request_observed

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
# The work of one request, run in a request thread: the reply's `data`.
Work = Callable[[], dict[str, Any]]
RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]

logger = logging.getLogger("chatproject.fast_http")


@dataclass(frozen=True)
class Request:
    """What a route's `prepare` may look at: the query string and the headers (names lower case)."""

    query: str
    headers: dict[str, str]


@dataclass(frozen=True)
class FastRoute:
    """A GET route: its URL pattern as Django names it (the metric's label), the methods DRF's
    view allows (its `Allow` header), and `prepare`, which returns the work or None."""

    pattern: str
    allow: str
    prepare: Callable[[Request], Work | None]


def security_headers() -> list[tuple[bytes, bytes]]:
    """The headers Django's SecurityMiddleware and XFrameOptionsMiddleware add to a reply over
    plain HTTP (HSTS only ever goes on a secure request, which `FastRoutes` leaves to Django)."""
    headers = []
    if settings.X_FRAME_OPTIONS:
        headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.upper().encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        value = ",".join(v.strip() for v in policy.split(",")) if isinstance(policy, str) else ",".join(policy)
        headers.append((b"referrer-policy", value.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers


def _wants_json(accept: str | None) -> bool:
    """DRF's JSONRenderer answers this `Accept` as it would with none (no `indent`, no other type)."""
    if accept is None:
        return True
    if "indent" in accept:
        return False
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ("application/json", "application/*", "*/*"):
            return True
    return False


def _host_allowed(host: str | None) -> bool:
    if host is None:
        return False
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _django_would_differ(headers: dict[str, str]) -> bool:
    """Settings under which Django's middleware answers otherwise: it would treat the request as
    secure (a proxy's header says so), redirect it to HTTPS, or check its User-Agent."""
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header and proxy_header[0].removeprefix("HTTP_").replace("_", "-").lower() in headers:
        return True
    return bool(settings.SECURE_SSL_REDIRECT or settings.DISALLOWED_USER_AGENTS)


def _plain_get(scope: Scope, headers: dict[str, str]) -> bool:
    """A GET over plain HTTP with no body, to an allowed host, asking for JSON, under settings
    with which Django's middleware answers it as `FastRoutes` does."""
    return (
        scope.get("method") == "GET"
        and scope.get("scheme", "http") == "http"
        and not _django_would_differ(headers)
        and "transfer-encoding" not in headers
        and headers.get("content-length", "0") == "0"
        and not settings.USE_X_FORWARDED_HOST
        and _host_allowed(headers.get("host"))
        and _wants_json(headers.get("accept"))
    )


class FastRoutes:
    """ASGI: the routes of `routes` (path → FastRoute) answered here when plain; the rest, and
    every other path, by `app` (Django's stack). See the module docstring."""

    def __init__(self, app: App, *, routes: dict[str, FastRoute], run_sync: RunSync) -> None:
        self.app = app
        self.routes = routes
        self.run_sync = run_sync
        self._labels = {path: metrics.http_route_label(route.pattern) for path, route in routes.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: dict[str, str] = {}
        for name, value in scope.get("headers", ()):
            key = name.decode("latin-1").lower()
            # A repeated header is as Django would read it: only one of them; leave it to Django.
            if key in headers:
                await self.app(scope, receive, send)
                return
            headers[key] = value.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        work = route.prepare(Request(query=query, headers=headers)) if _plain_get(scope, headers) else None
        if work is None:
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(headers.get("x-request-id", ""))
        token = request_id_var.set(request_id)  # on the log lines of the work and the access log
        try:
            try:
                data = await self.run_sync(_in_request_thread(work, contextvars.copy_context()))
            except Exception:
                logger.debug("handing %s to Django", scope["path"], exc_info=True)
                data = None
            if data is not None:
                await _reply(send, data, allow=route.allow, request_id=request_id)
                full_path = scope["path"] + (f"?{query}" if query else "")
                seconds = time.perf_counter() - started
                route_label = self._labels[scope["path"]]
                request_observed(method="GET", full_path=full_path, route=route_label, status=200, seconds=seconds)
        finally:
            request_id_var.reset(token)
        if data is None:  # the work failed: Django answers, as it would have from the start
            await self.app(scope, receive, send)


async def _reply(send: Send, data: dict[str, Any], *, allow: str, request_id: str) -> None:
    body = _json({"code": 0, "msg": "ok", "data": data})
    headers = [
        (b"content-type", b"application/json"),
        (b"allow", allow.encode()),
        *security_headers(),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json(body: dict[str, Any]) -> bytes:
    """As DRF's JSONRenderer writes it (compact, UTF-8, U+2028 and U+2029 escaped)."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


def _in_request_thread(work: Work, context: contextvars.Context) -> Callable[[], dict[str, Any]]:
    """`work` as Django runs a view: database connections past their age closed before and
    after (the request_started and request_finished signals' job), in the request's context
    (its request id on log lines)."""

    def run() -> dict[str, Any]:
        close_old_connections()
        try:
            return context.run(work)
        finally:
            close_old_connections()

    return run
