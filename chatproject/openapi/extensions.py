"""drf-spectacular extensions: the JWT auth scheme and schemas of the serializer fields the
apps define themselves (ids, query integers, roles, times, frames). The message object and its
content are `send.schema`'s."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema

from chatproject.openapi.components import (
    JWT_SCHEME,
    component,
    frame_ref,
    id_schema,
    jwt_scheme,
)


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "meta.authentication.JWTAuthentication"
    name = JWT_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return jwt_scheme()


# --- Fields the apps define -------------------------------------------------------------


class IdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.fields.IdField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return id_schema()


class QueryIntFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.fields.QueryIntField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            "type": "integer",
            "format": "int64",
            "minimum": self.target.min_value,
            "maximum": self.target.max_value,
        }


class RoleFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.fields.RoleField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return component(
            auto_schema.registry,
            "Role",
            {
                "type": "integer",
                "enum": [0, 1, 2],
                "description": "0 owner, 1 admin, 2 member (a lower number is more power)",
            },
        )


class UtcDateTimeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "meta.serializers.fields.UtcDateTimeField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = {"type": "string", "format": "date-time", "readOnly": True, "example": "2026-11-23T10:04:05.123Z"}
        if getattr(self.target, "allow_null", False):
            schema["nullable"] = True
        return schema


class FrameFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "send.serializers.FrameField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return frame_ref(auto_schema.registry)
