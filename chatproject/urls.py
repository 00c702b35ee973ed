"""Every HTTP path of the wire contract; each process answers all of them (API.md §6)."""

from django.contrib import admin
from django.urls import include, path, re_path

from chatproject import metrics, openapi, views

urlpatterns = [
    path("admin/", admin.site.urls),
    # The send service's paths first: they are the most frequent (a message, history, reads),
    # and each include tried before the one that matches costs Django a list of its patterns.
    path("", include("send.urls")),
    path("", include("meta.urls")),
    path("", include("gateway.urls")),
    path("", include("registry.urls")),
    path("", include("attachments.urls")),
    path("", include("reports.urls")),
    # The OpenAPI schema (YAML; ?format=json for JSON) and its browsable docs, public.
    path("api/schema/", openapi.schema_view(), name="schema"),
    path("api/docs/", openapi.docs_view(schema_url_name="schema"), name="docs"),
    # Prometheus metrics of this process (text format, no envelope; METRICS_TOKEN when set).
    path("metrics", metrics.metrics_view, name="metrics"),
    # Anything else, a newline in the path included: the envelope, not an HTML page.
    re_path(r"^[\s\S]*$", views.not_found),
]

handler400 = "chatproject.views.bad_request"
handler403 = "chatproject.views.permission_denied"
handler404 = "chatproject.views.not_found"
handler500 = "chatproject.views.server_error"
