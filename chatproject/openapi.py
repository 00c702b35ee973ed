"""The OpenAPI 3 schema of the HTTP API (drf-spectacular), served at `/api/schema/`.

What the views declare with `@extend_schema` is the shape of `data` and the errors their
services raise; everything the project does the same way for every view is added here:

- every 2xx reply is wrapped in the `Envelope` (`{"code": 0, "msg", "data"}`), every 4xx/5xx
  reply is the `ErrorEnvelope` (`{"code", "msg", "errors"?}`), whatever the view declared;
- the errors every view of a kind can answer are added to what it declares: 400 (a body or a
  query), 401 (JWT or internal endpoints), 403 (internal endpoints: a wrong token), 413 and
  415 (a JSON body), 429 (throttled views) and 503 (the database or Redis is unreachable). A
  view marks a status it never answers with `None` in its `responses`
  (`responses={..., 503: None}`);
- the two auth schemes: `jwtAuth` (`Authorization: Bearer <access token>`) from DRF's
  authentication classes, and `internalToken` (`X-Internal-Token`) for views with IsInternal;
- schemas for the serializer fields the apps define themselves (ids, query integers, roles,
  times, message content, frames);
- the paths that are no DRF views (`/health`, `/metrics`, the client page `/`, the WebSocket
  `/api/ws`), added by a postprocessing hook; `tests/apidocs` fails when a URL has no docs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

MAX_ID = 2**53 - 1
ENVELOPE = "Envelope"
ERROR_ENVELOPE = "ErrorEnvelope"
JWT_SCHEME = "jwtAuth"
INTERNAL_SCHEME = "internalToken"
METRICS_SCHEME = "metricsToken"
WEBSOCKET_DOC = "docs/websocket.md"

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


@dataclass(frozen=True)
class _Reason:
    """Why a status comes back, and a `msg` the server really sends for it."""

    description: str
    msg: str
    errors: dict[str, list[str]] | None = None


# The statuses every endpoint of a kind can answer.
_INVALID = _Reason(
    "invalid input: `msg` says what is wrong, `errors` names each field and its reasons",
    "room_id: must be an integer id",
    {"room_id": ["must be an integer id"]},
)
_JWT_401 = _Reason(
    "the `Authorization: Bearer <access token>` header is missing or malformed, the token is expired "
    "or forged, or its user is banned or deleted",
    "authentication required: send the header 'Authorization: Bearer <access token>'",
)
_INTERNAL_401 = _Reason("the `X-Internal-Token` header is missing", "the X-Internal-Token header is required")
_INTERNAL_403 = _Reason("the `X-Internal-Token` header is wrong", "the X-Internal-Token header is wrong")
_TOO_LARGE = _Reason("the body is larger than 1 MiB", "the body is larger than 1048576 bytes")
_NOT_JSON = _Reason(
    "the body is not JSON (`Content-Type` must be `application/json`)",
    "the body must be JSON (Content-Type: application/json)",
)
_THROTTLED = _Reason("too many requests: try again after `Retry-After` seconds", "too many requests, retry in 42 s")
_UNAVAILABLE = _Reason(
    "a backing service (the database or Redis) is unreachable: try again later",
    "the database is unavailable, try again later (error id 3f2a9c1b7d4e)",
)
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _component(registry: Any, name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Register a hand-written schema component once and return its `$ref`."""
    component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
    registry.register_on_missing(component)
    return component.ref


def _id_schema(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
    if description:
        schema["description"] = description
    return schema


# --- Components -------------------------------------------------------------------------


def envelope_ref(registry: Any) -> dict[str, str]:
    return _component(
        registry,
        ENVELOPE,
        {
            "type": "object",
            "description": "The reply of every successful call; `data` is described by each operation.",
            "required": ["code", "msg"],
            "properties": {
                "code": {"type": "integer", "enum": [0], "description": "0 on success"},
                "msg": {"type": "string", "description": "human readable text", "example": "ok"},
            },
        },
    )


def error_envelope_ref(registry: Any) -> dict[str, str]:
    return _component(
        registry,
        ERROR_ENVELOPE,
        {
            "type": "object",
            "description": "The reply of every failed call (no `data`).",
            "required": ["code", "msg"],
            "properties": {
                "code": {"type": "integer", "description": "equals the HTTP status", "example": 400},
                "msg": {"type": "string", "description": "what went wrong, in plain words"},
                "errors": {
                    "type": "object",
                    "description": "validation errors only: each field and its reasons",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    )


def message_content_ref(registry: Any) -> dict[str, str]:
    """`content` of a message: one of four shapes, told apart by `type` (API.md §3)."""
    from send.services import FILE_NAME_MAX, NUMBER_MAX, TEXT_MAX, URL_MAX

    url = {"type": "string", "format": "uri", "maxLength": URL_MAX, "description": "an http(s) URL"}
    count = {"type": "integer", "minimum": 0, "maximum": NUMBER_MAX}

    def shape(kind: str, properties: dict[str, Any], required: list[str]) -> dict[str, str]:
        return _component(
            registry,
            f"{kind.capitalize()}Content",
            {
                "type": "object",
                "required": ["type", *required],
                "additionalProperties": False,
                "properties": {"type": {"type": "string", "enum": [kind]}, **properties},
            },
        )

    mapping = {
        "text": shape("text", {"text": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX}}, ["text"]),
        "image": shape("image", {"url": url, "width": count, "height": count}, ["url"]),
        "voice": shape(
            "voice",
            {"url": url, "duration": {"type": "number", "minimum": 0, "description": "seconds"}},
            ["url"],
        ),
        "file": shape(
            "file",
            {
                "url": url,
                "file_name": {"type": "string", "minLength": 1, "maxLength": FILE_NAME_MAX},
                "size": {**count, "description": "bytes"},
            },
            ["url", "file_name"],
        ),
    }
    return _component(
        registry,
        "MessageContent",
        {
            "oneOf": list(mapping.values()),
            "discriminator": {"propertyName": "type", "mapping": {k: v["$ref"] for k, v in mapping.items()}},
        },
    )


def message_ref(registry: Any) -> dict[str, str]:
    """The one message object of HTTP replies, history and `chat` frames (API.md §3)."""
    return _component(
        registry,
        "Message",
        {
            "type": "object",
            "required": ["id", "room_id", "sender_id", "seq", "client_msg_id", "created_at", "content"],
            "properties": {
                "id": _id_schema("the message id"),
                "room_id": _id_schema(),
                "sender_id": {"type": "integer", "format": "int64", "description": "0 when the sender was deleted"},
                "seq": {"type": "integer", "format": "int64", "minimum": 1, "description": "position in the room"},
                "client_msg_id": {"type": "string", "nullable": True, "maxLength": 64},
                "created_at": {"type": "string", "format": "date-time"},
                "content": message_content_ref(registry),
            },
        },
    )


def frame_ref(registry: Any) -> dict[str, str]:
    """A WebSocket frame from the server (API.md §5.2, `docs/websocket.md`)."""
    return _component(
        registry,
        "Frame",
        {
            "type": "object",
            "description": f"A frame as a gateway writes it to a socket; see `{WEBSOCKET_DOC}`.",
            "required": ["type"],
            "additionalProperties": True,
            "properties": {
                "id": {"type": "integer", "format": "int64", "description": "message id, or -1"},
                "type": {"type": "string", "minLength": 1, "example": "chat"},
                "room_id": {"type": "integer", "format": "int64", "description": "defaults to 0"},
                "sender_id": {"type": "integer", "format": "int64", "description": "defaults to 0"},
                "payload": {"description": "depends on `type`; defaults to null", "nullable": True},
            },
        },
    )


# --- Auth schemes -----------------------------------------------------------------------


def jwt_scheme() -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The access token (`data.token`) of `POST /login` or `POST /api/token/refresh`.",
    }


def internal_scheme() -> dict[str, Any]:
    return {
        "type": "apiKey",
        "in": "header",
        "name": "X-Internal-Token",
        "description": "The shared secret INTERNAL_API_TOKEN of the project's own processes.",
    }


def metrics_scheme() -> dict[str, Any]:
    return {"type": "http", "scheme": "bearer", "description": "The METRICS_TOKEN setting, when it is set."}


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "meta.authentication.JWTAuthentication"
    name = JWT_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return jwt_scheme()


# --- Fields the apps define -------------------------------------------------------------


class IdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.IdField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return _id_schema()


class QueryIntFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.QueryIntField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "integer",
            "format": "int64",
            "minimum": self.target.min_value,
            "maximum": self.target.max_value,
        }


class RoleFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.RoleField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return _component(
            auto_schema.registry,
            "Role",
            {
                "type": "integer",
                "enum": [0, 1, 2],
                "description": "0 owner, 1 admin, 2 member (a lower number is more power)",
            },
        )


class UtcDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.UtcDateTimeField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "readOnly": True, "example": "2026-11-23T10:04:05.123Z"}


class MessageContentFieldSchema(OpenApiSerializerFieldExtension):
    """`send.serializers.AnyJSONField` carries a message's `content`, checked by the service."""

    target_class = "send.serializers.AnyJSONField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return message_content_ref(auto_schema.registry)


class MessageObjectField(serializers.Field):
    """For reply shapes in `@extend_schema` only: one message object (the `Message` component)."""

    def to_representation(self, value: Any) -> Any:
        return value


class MessageObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = MessageObjectField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return message_ref(auto_schema.registry)


class FrameFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "send.serializers.FrameField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return frame_ref(auto_schema.registry)


# --- The schema class of every view -----------------------------------------------------


class EnvelopeAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the project's envelope, errors and internal auth."""

    def _is_internal(self) -> bool:
        from chatproject.permissions import IsInternal

        return any(isinstance(permission, IsInternal) for permission in self.view.get_permissions())

    def _takes_jwt(self) -> bool:
        from rest_framework.permissions import AllowAny

        from meta.authentication import JWTAuthentication

        authenticators = self.view.get_authenticators()
        return any(isinstance(a, JWTAuthentication) for a in authenticators) and not any(
            isinstance(p, AllowAny) for p in self.view.get_permissions()
        )

    def get_auth(self) -> list[dict[str, Any]]:
        if self._is_internal():
            self.registry.register_on_missing(
                ResolvedComponent(
                    name=INTERNAL_SCHEME,
                    type=ResolvedComponent.SECURITY_SCHEMA,
                    object=INTERNAL_SCHEME,
                    schema=internal_scheme(),
                )
            )
            return [{INTERNAL_SCHEME: []}]
        return super().get_auth()

    def _automatic_errors(self) -> dict[str, _Reason]:
        """The statuses this operation answers because of what kind of view it is."""
        has_body = self.method in _BODY_METHODS and self.get_request_serializer() is not None
        takes_query = any(
            not (isinstance(p, OpenApiParameter) and p.location == OpenApiParameter.PATH)
            for p in self.get_override_parameters()
        )
        errors: dict[str, _Reason] = {}
        if has_body or takes_query:
            errors["400"] = _INVALID
        if self._is_internal():
            errors["401"] = _INTERNAL_401
            errors["403"] = _INTERNAL_403
        elif self._takes_jwt():
            errors["401"] = _JWT_401
        if has_body:
            errors["413"] = _TOO_LARGE
            errors["415"] = _NOT_JSON
        if self.view.get_throttles():
            errors["429"] = _THROTTLED
        errors["503"] = _UNAVAILABLE
        return errors

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        declared = self.get_response_serializers()
        never: set[str] = set()
        reasons: dict[str, _Reason] = {}
        if isinstance(declared, dict):
            for code, value in declared.items():
                if int(code) < 400:
                    continue
                if value is None:
                    never.add(str(code))
                    continue
                text = str(value.description) if isinstance(value, OpenApiResponse) else ""
                text = text or HTTPStatus(int(code)).phrase.lower()
                reasons[str(code)] = _Reason(text, text)
        for code, reason in self._automatic_errors().items():
            if code in never:
                continue
            declared_reason = reasons.get(code)
            if declared_reason is None:
                reasons[code] = reason
            else:  # the view's own reason first, then the kind's
                reasons[code] = _Reason(f"{declared_reason.description}; or {reason.description}", declared_reason.msg)
        responses = {
            code: response for code, response in super()._get_response_bodies(direction).items() if int(code) < 400
        }
        for code, reason in reasons.items():
            responses[code] = self._error_response(code, reason)
        return dict(sorted(responses.items()))

    def _get_response_for_code(
        self, serializer: Any, status_code: str, media_types: Any = None, direction: str = "response"
    ) -> dict[str, Any]:
        if int(status_code) >= 400:  # replaced by _get_response_bodies
            return {"description": ""}
        response = super()._get_response_for_code(serializer, status_code, media_types, direction)
        response["description"] = response.get("description") or "success"
        envelope = envelope_ref(self.registry)
        content = response.get("content")
        if not content:
            response["content"] = {"application/json": {"schema": envelope}}
            return response
        for media in content.values():
            media["schema"] = {
                "allOf": [
                    envelope,
                    {"type": "object", "required": ["data"], "properties": {"data": media["schema"]}},
                ]
            }
        return response

    def _error_response(self, status_code: str, reason: _Reason) -> dict[str, Any]:
        example: dict[str, Any] = {"code": int(status_code), "msg": reason.msg}
        if reason.errors:
            example["errors"] = reason.errors
        response: dict[str, Any] = {
            "description": reason.description,
            "content": {"application/json": {"schema": error_envelope_ref(self.registry), "example": example}},
        }
        if status_code == "429":
            response["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
            }
        return response


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
    from gateway.consumers import MAX_FRAME_BYTES

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


def _is_routed(path: str) -> bool:
    """Whether `path` reaches a view of its own in the HTTP URLconf (not the catch-all)."""
    from chatproject.views import not_found

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
    _component(registry, "Health", copy.deepcopy(_HEALTH_SCHEMA))  # the enum hook rewrites it in place
    error_envelope_ref(registry)
    from meta.authentication import JWTAuthentication

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
    paths["/api/ws"] = {"get": _websocket_operation()}
    result["paths"] = dict(sorted(paths.items()))
    return result


# --- The schema and docs views ---------------------------------------------------------


class _EnvelopeErrors:
    """Errors of the schema and docs views (a wrong method, an unknown `?format=`) leave as the
    JSON envelope, not rendered as YAML or as an HTML page."""

    def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


# drf_spectacular.views builds its views' own schemas from DEFAULT_SCHEMA_CLASS, this module's
# EnvelopeAutoSchema: imported at module level here it would be a circular import.


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
