"""The browser client's page at `/` (the HTML shell; the client itself is the ES modules in
`gateway/static/gateway/`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from chatproject.envelope import json_error

# The client talks to this origin over HTTP and to whichever gateway the registry names over
# WebSocket (another port or host in a cluster), hence ws:/wss: in connect-src. No inline
# script or style, so a message that slipped past escaping still could not run.
CLIENT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@csrf_exempt  # a POST gets the enveloped 405, not the CSRF failure page
def client_page(request: HttpRequest) -> HttpResponse:
    """The browser client: one static page whose ES modules use the HTTP API and `/api/ws`
    with JWTs in headers and the socket subprotocol (no cookies, so no CSRF)."""
    if request.method not in ("GET", "HEAD"):
        response = json_error(405, f"method {request.method} not allowed on /; the client page is read with GET")
        response["Allow"] = "GET, HEAD"
        return response
    response = render(request, "gateway/index.html")
    response["Content-Security-Policy"] = CLIENT_CSP
    response["Cache-Control"] = "no-cache"
    return response
