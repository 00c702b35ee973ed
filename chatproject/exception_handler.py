"""DRF's EXCEPTION_HANDLER: every error of every API view leaves through here, in the envelope."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response

from chatproject.envelope import error_body
from chatproject.exceptions import ApplicationError, RateLimited
from chatproject.postgres.breaker import DatabaseUnavailable

logger = logging.getLogger("chatproject.errors")

try:  # redis is optional at run time (the in-memory layer does not need it)
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover
    RedisError = ()  # type: ignore[assignment,misc]


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as `{"field": ["reason", ...]}` (nested fields dotted)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, sub in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", detail)
    return out


def _summary(errors: dict[str, list[str]]) -> str:
    parts = []
    for field, reasons in errors.items():
        reason = reasons[0] if reasons else "invalid"
        parts.append(reason if field == "non_field_errors" else f"{field}: {reason}")
    return "; ".join(parts) or "invalid input"


def exception_to_reply(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for any exception; shared by DRF views and plain Django code."""
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return exc.status, error_body(exc.status, exc.msg, exc.errors), headers
    if isinstance(exc, drf.ValidationError):
        errors = _flatten(exc.detail)
        return 400, error_body(400, _summary(errors), errors), headers
    if isinstance(exc, DjangoValidationError):
        errors = _flatten(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
        return 400, error_body(400, _summary(errors), errors), headers
    if isinstance(exc, Http404):
        return 404, error_body(404, "not found"), headers
    if isinstance(exc, PermissionDenied):
        return 403, error_body(403, "not allowed"), headers
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        headers["Retry-After"] = str(max(wait, 1))
        return 429, error_body(429, f"too many requests, retry in {max(wait, 1)} s"), headers
    if isinstance(exc, drf.UnsupportedMediaType):
        return 415, error_body(415, "the body must be JSON (Content-Type: application/json)"), headers
    if isinstance(exc, RecursionError):
        return 400, error_body(400, "the body is nested too deeply"), headers
    if isinstance(exc, drf.ParseError):
        return 400, error_body(400, "the body is not valid JSON"), headers
    if isinstance(exc, drf.MethodNotAllowed):
        return 405, error_body(405, str(exc.detail)), headers
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
        msg = str(exc.detail)
        if isinstance(exc, drf.NotAuthenticated) and msg == str(drf.NotAuthenticated.default_detail):
            msg = "authentication required: send the header 'Authorization: Bearer <access token>'"
        return 401, error_body(401, msg), headers
    if isinstance(exc, drf.APIException):
        status = exc.status_code
        detail = exc.detail
        msg = str(detail) if not isinstance(detail, (dict, list)) else _summary(_flatten(detail))
        return status, error_body(status, msg), headers
    if isinstance(exc, (OperationalError, InterfaceError)):
        error_id = uuid.uuid4().hex[:12]
        if isinstance(exc.__cause__, DatabaseUnavailable):
            # Refused at once by the breaker, which logged the outage once: one line, no traceback.
            logger.warning("database unavailable [error_id=%s]: %s", error_id, exc)
            headers["Retry-After"] = "1"
        else:
            logger.error("database unavailable [error_id=%s]", error_id, exc_info=exc)
        return 503, error_body(503, f"the database is unavailable, try again later (error id {error_id})"), headers
    if RedisError and isinstance(exc, RedisError):
        error_id = uuid.uuid4().hex[:12]
        logger.error("redis unavailable [error_id=%s]", error_id, exc_info=exc)
        return 503, error_body(503, f"redis is unavailable, try again later (error id {error_id})"), headers
    error_id = uuid.uuid4().hex[:12]
    kind = "database error" if isinstance(exc, DatabaseError) else "unexpected error"
    logger.error("%s [error_id=%s]", kind, error_id, exc_info=exc)
    return 500, error_body(500, f"internal server error (error id {error_id})"), headers


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    status, body, headers = exception_to_reply(exc)
    return Response(body, status=status, headers=headers)
