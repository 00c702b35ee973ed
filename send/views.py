"""HTTP endpoints of the send service (API.md §3)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok
from chatproject.permissions import InternalAPIView
from send import selectors, services
from send.serializers import HistoryQuery, NotifyOnlineInput, PushbackInput, ResendMessageInput, SendMessageInput


class SendMessageView(APIView):
    def post(self, request: Request) -> Response:
        data = _valid(SendMessageInput, request.data)
        message = services.message_send(
            sender=request.user,
            room_id=data["room_id"],
            content=data["content"],
            client_msg_id=data.get("client_msg_id"),
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
    def post(self, request: Request) -> Response:
        data = _valid(ResendMessageInput, request.data)
        message = services.message_resend(user=request.user, message_id=data["message_id"])
        return ok({"msgID": message["id"]}, "message resent")


class MessageHistoryView(APIView):
    def get(self, request: Request) -> Response:
        query = _valid(HistoryQuery, request.query_params)
        page = selectors.message_history(
            user_id=request.user.pk,
            room_id=query["room_id"],
            after_seq=query.get("after_seq"),
            before_seq=query.get("before_seq"),
            limit=query["limit"],
        )
        return ok({"messages": page.messages, "has_more": page.has_more})


class PushbackView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        data = _valid(PushbackInput, request.data)
        services.pushback_accept(target_id=data["target_id"], frame=data["forward_req"])
        return ok(msg="kept for delivery")


class NotifyOnlineView(InternalAPIView, APIView):
    def post(self, request: Request) -> Response:
        data = _valid(NotifyOnlineInput, request.data)
        services.user_owed_deliver(user_id=data["target_id"])
        return ok(msg="delivery scheduled", status=202)


def _valid(serializer_class: type, data: object) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
