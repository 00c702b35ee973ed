"""Sending messages and reading history (API.md §3): `send_message`, `resend_message`,
`messages`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta.serializers import IdField, UtcDateTimeField
from send import selectors, services
from send.schema import MessageObjectField
from send.serializers import HistoryQuery, ResendMessageInput, SendMessageInput


class SendMessageView(APIView):
    @extend_schema(
        operation_id="send_message",
        summary="Send a message to a room",
        description=(
            "The message is stored with the room's next `seq` before the 200: it then reaches every "
            "member of the room at this moment (as `chat` frames; the sender's sockets also get an `ack` "
            "frame). The same `client_msg_id` from the same sender again returns the first message and "
            "stores nothing. `reply_to` names a message of the room the sender can see (another room's: "
            "400; one the sender cannot see: 404); `mentions` members of the room (others: 400); "
            "`mention_all` the whole room (owner and admins only: else 403)."
        ),
        tags=["send"],
        request=SendMessageInput,
        responses={
            200: inline_serializer(
                "SendMessageData",
                {
                    "msgID": IdField(help_text="the message id"),
                    "seq": serializers.IntegerField(min_value=1, help_text="the message's position in the room"),
                    "room_id": IdField(),
                    "created_at": UtcDateTimeField(),
                    "client_msg_id": serializers.CharField(allow_null=True),
                },
            ),
            403: OpenApiResponse(
                description="the caller is not a member of the room, is muted in it, or may not mention everyone"
            ),
            404: OpenApiResponse(description="no such room, or `reply_to` names no message the caller can see"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(SendMessageInput, request.data)
        message = services.message_send(
            sender=request.user,
            room_id=data["room_id"],
            content=data["content"],
            client_msg_id=data.get("client_msg_id"),
            reply_to=data.get("reply_to"),
            mentions=data.get("mentions") or (),
            mention_all=data["mention_all"],
        )
        return ok(
            {
                "msgID": message["id"],
                "seq": message["seq"],
                "room_id": message["room_id"],
                "created_at": message["created_at"],
                "client_msg_id": message["client_msg_id"],
            },
            "message sent",
        )


class ResendMessageView(APIView):
    @extend_schema(
        operation_id="resend_message",
        summary="Deliver a message again",
        description=(
            "Same id and seq, to the members who were in the room when it was sent and have not "
            "confirmed it; never to later joiners."
        ),
        tags=["send"],
        request=ResendMessageInput,
        responses={
            200: inline_serializer("ResendMessageData", {"msgID": IdField(help_text="the message id")}),
            403: OpenApiResponse(description="the caller is not the sender of the message"),
            404: OpenApiResponse(description="no such message"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ResendMessageInput, request.data)
        message = services.message_resend(user=request.user, message_id=data["message_id"])
        return ok({"msgID": message["id"]}, "message resent")


class MessageHistoryView(APIView):
    @extend_schema(
        operation_id="messages",
        summary="A page of a room's history, in seq order",
        description=(
            "Every message as it is now (edited, reacted to, pinned; a deleted one keeps its place "
            "with `deleted` true and `content` null). With `after_seq` (and no `before_seq`): the oldest "
            "`limit` messages after it, `has_more` when newer ones follow. Otherwise the newest `limit` "
            "messages (below `before_seq` when given), `has_more` when older ones exist. Never before "
            "the caller joined."
        ),
        tags=["send"],
        parameters=[HistoryQuery],
        responses={
            200: inline_serializer(
                "MessagesData",
                {
                    "messages": serializers.ListField(child=MessageObjectField()),
                    "has_more": serializers.BooleanField(),
                },
            ),
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        query = validated(HistoryQuery, request.query_params)
        page = selectors.message_history(
            user_id=request.user.pk,
            room_id=query["room_id"],
            after_seq=query.get("after_seq"),
            before_seq=query.get("before_seq"),
            limit=query["limit"],
        )
        return ok({"messages": page.messages, "has_more": page.has_more})
