"""The schema's description and tags, and the paths served outside DRF (`/health`, `/metrics`,
the client page `/`, the WebSocket `/api/ws`), added by a postprocessing hook."""

from __future__ import annotations

import copy
from typing import Any

from django.urls import Resolver404, resolve
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings

from chatproject.frames import MAX_FRAME_BYTES
from chatproject.openapi.components import (
    ERROR_ENVELOPE,
    INTERNAL_SCHEME,
    JWT_SCHEME,
    METRICS_SCHEME,
    WEBSOCKET_DOC,
    component,
    error_envelope_ref,
    internal_scheme,
    jwt_scheme,
    metrics_scheme,
)
from chatproject.views import not_found
from meta.authentication import JWTAuthentication

API_DESCRIPTION = f"""\
The HTTP API of the chat backend: accounts and rooms (`meta`), messages (`send`), the
gateway's forwarding endpoint (`gateway`) and service discovery (`registry`). The WebSocket
protocol of `/api/ws` is described in `{WEBSOCKET_DOC}` in the repository.

**Envelope.** Every JSON reply but `/health` is `{{"code": 0, "msg": "...", "data": {{...}}}}`.
Success is HTTP 200 with `code` 0 (`notify_online` answers 202); `data` is always an object and
is left out when there is nothing to return. Errors carry `code` = the HTTP status and no
`data`; validation errors add `"errors": {{"field": ["reason", ...]}}`. Unknown paths and wrong
methods answer 404 / 405 in the envelope too.

**Authentication.** User endpoints take `Authorization: Bearer <access token>` (`token` from
`POST /login`, renewed with `POST /api/token/refresh`). INTERNAL endpoints, for the project's
own processes and operators, take `X-Internal-Token: <INTERNAL_API_TOKEN>`.

**Values.** Ids are JSON integers from 1 to 2^53 - 1; times are ISO 8601 strings in UTC
(`2026-11-23T10:04:05.123Z`). Bodies over 1 MiB are refused with 413.
"""

TAGS = [
    {"name": "meta", "description": "Accounts, tokens, rooms, members, roles and join requests."},
    {"name": "send", "description": "Sending, resending and reading messages; INTERNAL delivery hooks."},
    {
        "name": "gateway",
        "description": f"The WebSocket endpoint (protocol: `{WEBSOCKET_DOC}`) and INTERNAL forwarding.",
    },
    {"name": "registry", "description": "Gateway and send instances, user routes and health."},
]


# --- Paths that are no DRF views --------------------------------------------------------

_HEALTH_SCHEMA = {
    "type": "object",
    "description": "The health report (no envelope).",
    "required": ["status", "database", "redis", "gateways", "send_instances"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "database": {"type": "string", "enum": ["ok", "error"]},
        "redis": {"type": "string", "enum": ["ok", "error", "not configured"]},
        "gateways": {"type": "integer", "minimum": 0, "description": "live gateway instances"},
        "send_instances": {"type": "integer", "minimum": 0, "description": "live send instances"},
    },
}


def _health_operation() -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}
    return {
        "operationId": "health",
        "summary": "Health of this process's database and Redis",
        "description": (
            "Not in the envelope. `status` is `ok` when the database answers and Redis (if "
            "configured) answers, else `degraded` with HTTP 503. Also answers HEAD."
        ),
        "tags": ["registry"],
        "security": [{}],
        "responses": {
            "200": {"description": "every configured backing service answers", "content": content},
            "503": {"description": "the database or Redis does not answer", "content": content},
        },
    }


def _websocket_operation() -> dict[str, Any]:
    return {
        "operationId": "websocket_connect",
        "summary": "Open the WebSocket (ws:// or wss://)",
        "description": (
            f"The real-time channel: the protocol (frames, close codes, acks, reconnecting) is in "
            f"`{WEBSOCKET_DOC}`. Find the gateway to connect to with `GET /registry/gateway/available`.\n\n"
            "The access token comes from, in order: the `Authorization: Bearer` header, the "
            "subprotocols `Sec-WebSocket-Protocol: bearer, <token>` (browsers; the server selects "
            "`bearer`), or `?token=`. Right after opening the server sends the `system` welcome frame. "
            "Close codes: 4401 bad or missing token, 4403 banned user, 4409 too many sockets for this "
            f"user, 1008 origin not allowed, 1009 client frame over {MAX_FRAME_BYTES // 1024} KiB, "
            "1001 server going away, 1013 this process is not a gateway.\n\n"
            "A plain HTTP GET without the upgrade is answered 404."
        ),
        "tags": ["gateway"],
        "security": [{JWT_SCHEME: []}, {}],
        "parameters": [
            {
                "name": "token",
                "in": "query",
                "required": False,
                "description": "the access token, when neither the header nor the subprotocol carries it",
                "schema": {"type": "string"},
            },
            {
                "name": "ack",
                "in": "query",
                "required": False,
                "description": "`1`: this socket confirms messages with `ack` frames; `0`: it does not",
                "schema": {"type": "string", "enum": ["1", "0"]},
            },
            {
                "name": "Sec-WebSocket-Protocol",
                "in": "header",
                "required": False,
                "description": "`bearer, <access token>` (browsers, which cannot set headers)",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "101": {
                "description": (
                    "Switching Protocols: the socket is open (a refused token, origin or user is "
                    "closed right after with the close codes above)"
                )
            },
            "404": {"description": "not a WebSocket upgrade request: no such HTTP endpoint"},
        },
    }


def _metrics_operation() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_ENVELOPE}"}}}
    return {
        "operationId": "metrics",
        "summary": "This process's Prometheus metrics",
        "description": (
            "Not in the envelope: the Prometheus text format, or OpenMetrics when the `Accept` header "
            "asks for it. Each process has its own metrics; scrape every process. With the setting "
            "METRICS_TOKEN, `Authorization: Bearer <METRICS_TOKEN>` is required. Also answers HEAD."
        ),
        "tags": ["registry"],
        "security": [{METRICS_SCHEME: []}, {}],
        "responses": {
            "200": {
                "description": "the metrics",
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}},
                },
            },
            "401": {"description": "METRICS_TOKEN is set and the bearer token is missing or wrong", "content": error},
        },
    }


def _client_page_operation() -> dict[str, Any]:
    return {
        "operationId": "client_page",
        "summary": "The browser chat client",
        "description": "An HTML page (not in the envelope) that uses this HTTP API and `/api/ws`. Also answers HEAD.",
        "tags": ["gateway"],
        "security": [{}],
        "responses": {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}},
    }


def _attachment_file_operation() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_ENVELOPE}"}}}
    return {
        "operationId": "attachment_file",
        "summary": "An uploaded file, through its signed URL",
        "description": (
            "The `url` of `POST /api/chat/upload` (and of every message object carrying it, signed afresh). "
            "No header needed: the signature is the key; it expires after `UPLOAD_URL_SECONDS`. Not in the "
            "envelope: the file's bytes with its stored content type, `X-Content-Type-Options: nosniff`, a "
            "Content-Security-Policy that lets nothing run, and `Content-Disposition: inline` for PNG, JPEG, "
            "GIF and WebP images, `attachment` for everything else. Also answers HEAD."
        ),
        "tags": ["send"],
        "security": [{}],
        "parameters": [
            {
                "name": "token",
                "in": "path",
                "required": True,
                "description": "`<key>/<timestamp>/<signature>`, as the signed URL has it",
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "200": {
                "description": "the file",
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            },
            "403": {"description": "the link was altered, or has expired", "content": error},
            "404": {"description": "the file was deleted", "content": error},
        },
    }


def _is_routed(path: str) -> bool:
    """Whether `path` reaches a view of its own in the HTTP URLconf (not the catch-all)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is not not_found


def add_plain_endpoints(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: the description and tags, the paths served outside DRF (`/health`,
    `/metrics`, the client page `/`, the WebSocket route) and the security schemes."""
    result["info"]["description"] = API_DESCRIPTION
    result["tags"] = TAGS
    registry = generator.registry
    component(registry, "Health", copy.deepcopy(_HEALTH_SCHEMA))  # the enum hook rewrites it in place
    error_envelope_ref(registry)
    for name, identity, scheme in (
        (JWT_SCHEME, JWTAuthentication, jwt_scheme()),  # the identity drf-spectacular gives it
        (INTERNAL_SCHEME, INTERNAL_SCHEME, internal_scheme()),
        (METRICS_SCHEME, METRICS_SCHEME, metrics_scheme()),
    ):
        registry.register_on_missing(
            ResolvedComponent(name=name, type=ResolvedComponent.SECURITY_SCHEMA, object=identity, schema=scheme)
        )
    result["components"] = registry.build(spectacular_settings.APPEND_COMPONENTS)
    paths = dict(result.get("paths", {}))
    for path, operation in (
        ("/health", _health_operation),
        ("/metrics", _metrics_operation),
        ("/", _client_page_operation),
    ):
        if _is_routed(path):
            paths[path] = {"get": operation()}
    if _is_routed("/api/chat/files/key/0/signature"):
        paths["/api/chat/files/{token}"] = {"get": _attachment_file_operation()}
    paths["/api/ws"] = {"get": _websocket_operation()}
    result["paths"] = dict(sorted(paths.items()))
    return result
