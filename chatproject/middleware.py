"""HTTP middleware: request ids, the 1 MiB body limit, and envelope replies for errors that
happen outside DRF views."""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse

from chatproject import metrics
from chatproject.envelope import json_error
from chatproject.exception_handler import exception_to_reply
from chatproject.http_limits import body_limit_for, too_large_msg

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def request_id_for(incoming: str) -> str:
    """The client's `X-Request-ID` when well formed, else a new id."""
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]


class RequestIdMiddleware:
    """Tag each request with an id (the client's `X-Request-ID` when well formed), echo it in
    the reply and put it on every log line written while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


disallowed_host_logger = logging.getLogger("django.security.DisallowedHost")


class AllowedHostMiddleware:
    """A request for a host outside ALLOWED_HOSTS gets the envelope's 400 in every mode (with
    DEBUG on, Django would answer with its debug page, settings included) and writes one log
    line, not a traceback. Sits right inside RequestIdMiddleware, before anything reads the host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost as error:
            disallowed_host_logger.warning("refused %s %s: %s", request.method, request.path, error)
            return json_error(400, "this server does not serve the host named in the Host header")
        return self.get_response(request)


access_logger = logging.getLogger("chatproject.access")


class RequestMetricsMiddleware:
    """Time each request into `chat_http_request_duration_seconds` (labelled by the URL
    pattern, never the raw path) and write one access-log line with its request id. Sits
    just inside RequestIdMiddleware; the log line's query string is redacted like any other."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            if match is None:
                route = metrics.http_route_label(None)
            elif match.view_name == "chatproject.views.not_found":
                route = "<unmatched>"
            else:
                route = metrics.http_route_label(match.route)
            request_observed(
                method=request.method or "",
                full_path=request.get_full_path(),
                route=route,
                status=status,
                seconds=seconds,
            )


def request_observed(*, method: str, full_path: str, route: str, status: int, seconds: float) -> None:
    """A served request into `chat_http_request_duration_seconds` and the access log (with the
    request id of `request_id_var`)."""
    metrics.http_request_observed(method=method, route=route, status=status, seconds=seconds)
    access_logger.info(
        "%s %s %s %.1fms",
        method,
        full_path,
        status,
        seconds * 1000,
        extra={"http_method": method, "route": route, "status": status, "duration_ms": round(seconds * 1000, 1)},
    )


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_BODY_BYTES with 413 before anything parses them. The servers
    refuse them earlier, at the ASGI layer (chatproject.http_limits); this keeps the rule for
    every other way into Django (the test client, a WSGI server)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit_for(request.path)
        length = request.META.get("CONTENT_LENGTH") or ""
        if length:
            try:
                too_big = limit is not None and int(length) > limit
            except ValueError:
                return json_error(400, "the Content-Length header is not a number")
            if too_big:
                return json_error(413, too_large_msg(limit))
        return self.get_response(request)


class JsonErrorMiddleware:
    """Errors raised outside DRF views (Django views, middleware below) leave in the envelope
    too, except in the Django admin, whose pages are HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path.startswith("/admin/"):
            return None
        status, body, headers = exception_to_reply(exception)
        response = JsonResponse(body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response
