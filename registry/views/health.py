"""`/health`: can this process reach the database and Redis? (no envelope)"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chatproject.envelope import json_error
from registry.health import health_report


@csrf_exempt
def health(request: HttpRequest) -> JsonResponse:
    """`/health`, without the envelope: 200 when the database and Redis (if configured)
    answer, else 503."""
    if request.method not in ("GET", "HEAD"):
        response = json_error(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
