"""The timeline (API.md §7.1, §8): edits, deletes, reactions and pins of messages, a room's pins,
its events, message search."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from send import selectors, updates
from send.schema import MessageObjectField, TimelineFrameField
from send.serializers import (
    EditMessageInput,
    EventsQuery,
    MessageIdInput,
    PinInput,
    ReactInput,
    RoomQuery,
    SearchQueryInput,
)


def _update_reply(name: str) -> Any:
    return inline_serializer(
        name,
        {
            "message": MessageObjectField(help_text="the message after the request"),
            "seq": serializers.IntegerField(
                allow_null=True, help_text="the update's seq in the room's timeline; null when nothing changed"
            ),
        },
    )


def _updated(result: updates.UpdateResult, changed: str, unchanged: str) -> Response:
    return ok({"message": result.message, "seq": result.seq}, changed if result.seq is not None else unchanged)


_UPDATE_404 = OpenApiResponse(
    description="no such message, or one the caller cannot see (not a member of its room, or joined after it)"
)


class EditMessageView(APIView):
    @extend_schema(
        operation_id="edit_message",
        summary="Edit your message",
        description=(
            "The sender only, within `MESSAGE_EDIT_WINDOW_SECONDS` of sending (default a day; 0: no limit), "
            "with content of the same `type`. Takes the room's next seq: every member receives an `update` "
            'frame with `payload.event` "edit". The same content again changes nothing (`seq` null).'
        ),
        tags=["send"],
        request=EditMessageInput,
        responses={
            200: _update_reply("EditMessageData"),
            403: OpenApiResponse(description="not the sender, or the edit window has passed"),
            404: _UPDATE_404,
            409: OpenApiResponse(description="the message was deleted"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(EditMessageInput, request.data)
        result = updates.message_edit(actor=request.user, message_id=data["message_id"], content=data["content"])
        return _updated(result, "message edited", "nothing to change")


class DeleteMessageView(APIView):
    @extend_schema(
        operation_id="delete_message",
        summary="Delete a message for everyone",
        description=(
            "Its sender within `MESSAGE_DELETE_WINDOW_SECONDS` (default a day; 0: no limit), or at any time "
            "a member who outranks the sender (the owner anyone's, an admin plain members'). The content is "
            "erased from the database (with its search entry, edit history, mentions, reactions and pin); "
            "the message keeps its place with `deleted` true. Every member receives an `update` frame with "
            '`payload.event` "delete" and `payload.by`. Deleting a deleted message changes nothing.'
        ),
        tags=["send"],
        request=MessageIdInput,
        responses={
            200: _update_reply("DeleteMessageData"),
            403: OpenApiResponse(description="neither the sender within the window nor someone who outranks them"),
            404: _UPDATE_404,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(MessageIdInput, request.data)
        result = updates.message_delete(actor=request.user, message_id=data["message_id"])
        return _updated(result, "message deleted", "already deleted")


class ReactView(APIView):
    @extend_schema(
        operation_id="react",
        summary="Add or remove your reaction to a message",
        description=(
            "`key`: one emoji or a short token, 1 to 32 code points, no whitespace or control characters; "
            "`on` false removes it. At most 20 different keys per message. Every member receives an `update` "
            'frame with `payload.event` "reaction" (`key`, `user_id`, `on`). A reaction already there (or '
            "already gone) changes nothing."
        ),
        tags=["send"],
        request=ReactInput,
        responses={
            200: _update_reply("ReactData"),
            404: _UPDATE_404,
            409: OpenApiResponse(description="the message was deleted, or has 20 different reactions already"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ReactInput, request.data)
        result = updates.message_react(
            actor=request.user, message_id=data["message_id"], key=data["key"], on=data["on"]
        )
        return _updated(result, "reaction recorded", "nothing to change")


class PinView(APIView):
    @extend_schema(
        operation_id="pin",
        summary="Pin or unpin a message",
        description=(
            "Owner and admins only; at most 50 pinned messages per room. Every member receives an `update` "
            'frame with `payload.event` "pin" (`pinned`). Pinning a pinned message changes nothing.'
        ),
        tags=["send"],
        request=PinInput,
        responses={
            200: _update_reply("PinData"),
            403: OpenApiResponse(description="the caller is neither owner nor admin of the room"),
            404: _UPDATE_404,
            409: OpenApiResponse(description="the message was deleted, or the room has 50 pinned messages"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(PinInput, request.data)
        result = updates.message_pin(actor=request.user, message_id=data["message_id"], pinned=data["pinned"])
        return _updated(result, "message pinned" if data["pinned"] else "message unpinned", "nothing to change")


class PinsView(APIView):
    @extend_schema(
        operation_id="pins",
        summary="A room's pinned messages",
        description="Most recently pinned first; only messages the caller can see.",
        tags=["send"],
        parameters=[RoomQuery],
        responses={
            200: inline_serializer("PinsData", {"messages": serializers.ListField(child=MessageObjectField())}),
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        query = validated(RoomQuery, request.query_params)
        return ok({"messages": selectors.pins_list(user_id=request.user.pk, room_id=query["room_id"])})


class EventsView(APIView):
    @extend_schema(
        operation_id="events",
        summary="A room's timeline: messages and updates, in seq order",
        description=(
            "The `chat` and `update` frames (as on the WebSocket, docs/websocket.md) with seq above "
            "`after_seq`, oldest first, from the caller's join onward, each message as it is now (an "
            "update of a message the caller cannot see has `payload.message` null). `last_seq` is the "
            "room's newest seq (updates count); `has_more` tells whether entries up to it remain: ask "
            "again with `after_seq` the last event's seq."
        ),
        tags=["send"],
        parameters=[EventsQuery],
        responses={
            200: inline_serializer(
                "EventsData",
                {
                    "events": serializers.ListField(child=TimelineFrameField()),
                    "last_seq": serializers.IntegerField(min_value=0),
                    "has_more": serializers.BooleanField(),
                },
            ),
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        query = validated(EventsQuery, request.query_params)
        page = selectors.room_events(
            user_id=request.user.pk,
            room_id=query["room_id"],
            after_seq=query["after_seq"],
            limit=min(query["limit"], selectors.EVENTS_LIMIT_MAX),
        )
        return ok({"events": page.events, "last_seq": page.last_seq, "has_more": page.has_more})


class SearchView(APIView):
    @extend_schema(
        operation_id="search_messages",
        summary="Full-text search of your rooms' text messages",
        description=(
            "Text messages of the caller's rooms (of `room_id` only, when given), from the caller's join "
            "onward, never deleted ones, newest first. On PostgreSQL `q` is a web search query (words match "
            'whole words in the forms the text search configuration knows, "quoted phrases", `or`, '
            "`-word`); on SQLite every word of `q` must occur in the text."
        ),
        tags=["send"],
        parameters=[SearchQueryInput],
        responses={
            200: inline_serializer(
                "SearchMessagesData",
                {"messages": serializers.ListField(child=MessageObjectField()), "has_more": serializers.BooleanField()},
            ),
            403: OpenApiResponse(description="the caller is not a member of `room_id`"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        query = validated(SearchQueryInput, request.query_params)
        page = selectors.message_search(
            user_id=request.user.pk,
            q=query["q"],
            room_id=query.get("room_id"),
            limit=query["limit"],
            offset=query["offset"],
        )
        return ok({"messages": page.messages, "has_more": page.has_more})
