"""The reply envelope of the wire contract: `{"code", "msg", "data"?}`."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from rest_framework import serializers
from rest_framework.response import Response


def ok(data: dict[str, Any] | None = None, msg: str = "ok", *, status: int = 200) -> Response:
    """A success reply from a DRF view. `data` is left out when None (never `"data": null`)."""
    body: dict[str, Any] = {"code": 0, "msg": msg}
    if data is not None:
        body["data"] = data
    return Response(body, status=status)


def error_body(status: int, msg: str, errors: dict[str, list[str]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "msg": msg}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def json_error(status: int, msg: str, **extra: Any) -> JsonResponse:
    """An error reply from plain Django code (middleware, catch-all views)."""
    return JsonResponse(error_body(status, msg, **extra), status=status)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """`data` checked by `serializer_class`; a ValidationError becomes the 400 envelope."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
