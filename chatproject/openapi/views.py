"""The schema and docs views (`/api/schema/`, `/api/docs/`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http.response import HttpResponseBase
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class _EnvelopeErrors:
    """Errors of the schema and docs views (a wrong method, an unknown `?format=`) leave as the
    JSON envelope, not rendered as YAML or as an HTML page."""

    def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


# drf_spectacular.views builds its views' own schemas from DEFAULT_SCHEMA_CLASS (EnvelopeAutoSchema
# of this package): imported when this package loads, it would be a circular import.


def schema_view() -> Callable[..., HttpResponseBase]:
    """`/api/schema/`: OpenAPI 3 as YAML, or JSON with `?format=json`."""
    from drf_spectacular.views import SpectacularAPIView

    class SchemaView(_EnvelopeErrors, SpectacularAPIView):
        pass

    return SchemaView.as_view()


def docs_view(*, schema_url_name: str) -> Callable[..., HttpResponseBase]:
    """`/api/docs/`: Swagger UI, its assets served by this process (drf-spectacular-sidecar)."""
    from drf_spectacular.views import SpectacularSwaggerView

    class DocsView(_EnvelopeErrors, SpectacularSwaggerView):
        pass

    return DocsView.as_view(url_name=schema_url_name)
