"""Project-level views: the envelope for unknown paths and for Django's error handlers."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chatproject.envelope import json_error


@csrf_exempt
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return json_error(404, f"no such endpoint: {request.method} {request.path}")


def server_error(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return json_error(500, "internal server error")


def bad_request(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return json_error(400, "bad request")


def permission_denied(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return json_error(403, "not allowed")
