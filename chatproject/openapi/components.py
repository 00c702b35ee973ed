"""Hand-written parts of the schema shared by every app: the envelopes, ids, frames and the
security schemes, registered as components once per generation. An app's own shapes (the
message object: `send.schema`) live in that app and use `component` from here."""

from __future__ import annotations

from typing import Any

from drf_spectacular.plumbing import ResolvedComponent

from chatproject.ids import MAX_ID

ENVELOPE = "Envelope"
ERROR_ENVELOPE = "ErrorEnvelope"
JWT_SCHEME = "jwtAuth"
INTERNAL_SCHEME = "internalToken"
METRICS_SCHEME = "metricsToken"
WEBSOCKET_DOC = "docs/websocket.md"


def component(registry: Any, name: str, schema: dict[str, Any]) -> dict[str, str]:
    """Register a hand-written schema component once and return its `$ref`."""
    component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
    registry.register_on_missing(component)
    return component.ref


def id_schema(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}
    if description:
        schema["description"] = description
    return schema


# --- Components -------------------------------------------------------------------------


def envelope_ref(registry: Any) -> dict[str, str]:
    return component(
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
    return component(
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


def frame_ref(registry: Any) -> dict[str, str]:
    """A WebSocket frame from the server (API.md §5.2, `docs/websocket.md`)."""
    return component(
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
