"""The schema of the message object and its content (API.md §3) for the OpenAPI document, next
to the code that builds them; importing this module registers its field extensions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from chatproject.openapi.components import component, id_schema
from send.content import FILE_NAME_MAX, NUMBER_MAX, TEXT_MAX, URL_MAX


def message_content_ref(registry: Any) -> dict[str, str]:
    """`content` of a message: one of four shapes, told apart by `type` (API.md §3)."""
    url = {"type": "string", "format": "uri", "maxLength": URL_MAX, "description": "an http(s) URL"}
    count = {"type": "integer", "minimum": 0, "maximum": NUMBER_MAX}

    def shape(kind: str, properties: dict[str, Any], required: list[str]) -> dict[str, str]:
        return component(
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
    return component(
        registry,
        "MessageContent",
        {
            "oneOf": list(mapping.values()),
            "discriminator": {"propertyName": "type", "mapping": {k: v["$ref"] for k, v in mapping.items()}},
        },
    )


def message_ref(registry: Any) -> dict[str, str]:
    """The one message object of HTTP replies, history and `chat` frames (API.md §3)."""
    return component(
        registry,
        "Message",
        {
            "type": "object",
            "required": ["id", "room_id", "sender_id", "seq", "client_msg_id", "created_at", "content"],
            "properties": {
                "id": id_schema("the message id"),
                "room_id": id_schema(),
                "sender_id": {"type": "integer", "format": "int64", "description": "0 when the sender was deleted"},
                "seq": {"type": "integer", "format": "int64", "minimum": 1, "description": "position in the room"},
                "client_msg_id": {"type": "string", "nullable": True, "maxLength": 64},
                "created_at": {"type": "string", "format": "date-time"},
                "content": message_content_ref(registry),
            },
        },
    )


class MessageObjectField(serializers.Field):
    """For reply shapes in `@extend_schema` only: one message object (the `Message` component)."""

    def to_representation(self, value: Any) -> Any:
        return value


class MessageObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = MessageObjectField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return message_ref(auto_schema.registry)


class MessageContentFieldSchema(OpenApiSerializerFieldExtension):
    """`send.serializers.AnyJSONField` carries a message's `content`, checked by the service."""

    target_class = "send.serializers.AnyJSONField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return message_content_ref(auto_schema.registry)
