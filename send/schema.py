"""The schema of the message object and its content (API.md §3) for the OpenAPI document, next
to the code that builds them; importing this module registers its field extensions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from chatproject.openapi.components import component, id_schema
from send.content import FILE_NAME_MAX, NUMBER_MAX, TEXT_MAX, URL_MAX
from send.representation import REACTION_USERS_SHOWN


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
            {"url": url, "duration": {"type": "number", "minimum": 0, "maximum": NUMBER_MAX, "description": "seconds"}},
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


def nullable(ref: dict[str, str], description: str = "") -> dict[str, Any]:
    """`ref` or null. (`{"allOf": [ref], "nullable": true}`, OpenAPI 3.0's usual spelling, is
    read by validators as "never null".)"""
    schema: dict[str, Any] = {"anyOf": [ref, {"type": "object", "nullable": True, "enum": [None]}]}
    if description:
        schema["description"] = description
    return schema


def message_ref(registry: Any) -> dict[str, str]:
    """The one message object of HTTP replies, history, events, search, pins and frames (API.md
    §3 and §8.1)."""
    time = {"type": "string", "format": "date-time"}
    reaction = component(
        registry,
        "ReactionSummary",
        {
            "type": "object",
            "required": ["key", "count", "user_ids"],
            "properties": {
                "key": {"type": "string", "minLength": 1, "maxLength": 32, "description": "an emoji or short token"},
                "count": {"type": "integer", "minimum": 1, "description": "how many users reacted so"},
                "user_ids": {
                    "type": "array",
                    "items": id_schema(),
                    "maxItems": REACTION_USERS_SHOWN,
                    "description": f"the first {REACTION_USERS_SHOWN} of them, by time of reaction",
                },
            },
        },
    )
    return component(
        registry,
        "Message",
        {
            "type": "object",
            "required": [
                "id",
                "room_id",
                "sender_id",
                "seq",
                "client_msg_id",
                "created_at",
                "content",
                "reply_to",
                "mentions",
                "mention_all",
                "edited_at",
                "deleted",
                "reactions",
                "pinned",
            ],
            "properties": {
                "id": id_schema("the message id"),
                "room_id": id_schema(),
                "sender_id": {"type": "integer", "format": "int64", "description": "0 when the sender was deleted"},
                "seq": {"type": "integer", "format": "int64", "minimum": 1, "description": "position in the room"},
                "client_msg_id": {"type": "string", "nullable": True, "maxLength": 64},
                "created_at": time,
                "content": nullable(message_content_ref(registry), "null once the message was deleted"),
                "reply_to": {**id_schema("the message this one answers"), "nullable": True},
                "mentions": {"type": "array", "items": id_schema(), "description": "mentioned user ids, ascending"},
                "mention_all": {"type": "boolean", "description": "the whole room is mentioned"},
                "edited_at": {**time, "nullable": True, "description": "time of the last edit"},
                "deleted": {"type": "boolean", "description": "deleted for everyone: `content` is null"},
                "reactions": {
                    "type": "array",
                    "items": reaction,
                    "description": "by time of each key's first reaction",
                },
                "pinned": {"type": "boolean"},
            },
        },
    )


def timeline_frame_ref(registry: Any) -> dict[str, str]:
    """A `chat` or `update` frame of a room's timeline (API.md §7.1), as `GET /api/chat/events`
    and the WebSocket carry them."""
    message = message_ref(registry)
    frame_fields = {
        "room_id": id_schema(),
        "seq": {"type": "integer", "format": "int64", "minimum": 1},
        "created_at": {"type": "string", "format": "date-time"},
    }
    chat = component(
        registry,
        "ChatFrame",
        {
            "type": "object",
            "description": "A message: every field of the message object but `content`, which is `payload`.",
            "required": [
                "id",
                "type",
                "room_id",
                "sender_id",
                "seq",
                "created_at",
                "client_msg_id",
                "reply_to",
                "mentions",
                "mention_all",
                "edited_at",
                "deleted",
                "reactions",
                "pinned",
                "payload",
            ],
            "properties": {
                "id": id_schema("the message id"),
                "type": {"type": "string", "enum": ["chat"]},
                **frame_fields,
                "sender_id": {"type": "integer", "format": "int64"},
                "client_msg_id": {"type": "string", "nullable": True, "maxLength": 64},
                "reply_to": {**id_schema(), "nullable": True},
                "mentions": {"type": "array", "items": id_schema()},
                "mention_all": {"type": "boolean"},
                "edited_at": {"type": "string", "format": "date-time", "nullable": True},
                "deleted": {"type": "boolean"},
                "reactions": {"type": "array", "items": {"$ref": "#/components/schemas/ReactionSummary"}},
                "pinned": {"type": "boolean"},
                "payload": nullable(message_content_ref(registry), "the content; null once deleted"),
            },
        },
    )
    update = component(
        registry,
        "UpdateFrame",
        {
            "type": "object",
            "description": (
                "An update of message `id`: `sender_id` did it (0: a staff moderator); `payload.message` is "
                "the message after it (a live frame) or as it is now (served later), null for a member who "
                "cannot see the message. `payload` also has `by` (delete), `key`, `user_id`, `on` "
                "(reaction) or `pinned` (pin)."
            ),
            "required": ["id", "type", "room_id", "sender_id", "seq", "created_at", "payload"],
            "properties": {
                "id": id_schema("the target message's id"),
                "type": {"type": "string", "enum": ["update"]},
                **frame_fields,
                "sender_id": {"type": "integer", "format": "int64", "minimum": 0},
                "payload": {
                    "type": "object",
                    "required": ["event", "message"],
                    "properties": {
                        "event": {"type": "string", "enum": ["edit", "delete", "reaction", "pin"]},
                        "message": nullable(message, "null for a member who cannot see the message"),
                        "by": {"type": "integer", "format": "int64", "minimum": 0},
                        "key": {"type": "string"},
                        "user_id": id_schema(),
                        "on": {"type": "boolean"},
                        "pinned": {"type": "boolean"},
                    },
                },
            },
        },
    )
    return component(
        registry,
        "TimelineFrame",
        {
            "oneOf": [chat, update],
            "discriminator": {"propertyName": "type", "mapping": {"chat": chat["$ref"], "update": update["$ref"]}},
        },
    )


class MessageObjectField(serializers.Field):
    """For reply shapes in `@extend_schema` only: one message object (the `Message` component)."""

    def to_representation(self, value: Any) -> Any:
        return value


class MessageObjectFieldSchema(OpenApiSerializerFieldExtension):
    target_class = MessageObjectField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        ref = message_ref(auto_schema.registry)
        return nullable(ref, self.target.help_text or "") if self.target.allow_null else ref


class TimelineFrameField(serializers.Field):
    """For reply shapes in `@extend_schema` only: one `chat` or `update` frame."""

    def to_representation(self, value: Any) -> Any:
        return value


class TimelineFrameFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TimelineFrameField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return timeline_frame_ref(auto_schema.registry)


class MessageContentFieldSchema(OpenApiSerializerFieldExtension):
    """`send.serializers.AnyJSONField` carries a message's `content`, checked by the service."""

    target_class = "send.serializers.AnyJSONField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return message_content_ref(auto_schema.registry)
