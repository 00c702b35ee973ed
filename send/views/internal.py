"""The send service's internal endpoints, for gateways (API.md §3): a frame that could not be
handed to a user, a user who just connected."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from chatproject.permissions import InternalAPIView
from send import services
from send.serializers import NotifyOnlineInput, PushbackInput


class PushbackView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="internal_pushback",
        summary="A gateway could not hand a frame to a user",
        description=(
            "INTERNAL. A stored message stays owed to `target_id` and is delivered when they are next "
            "online, or at once if they are online on another gateway; other frames are forwarded there."
        ),
        tags=["send"],
        request=PushbackInput,
        responses={200: OpenApiResponse(description="kept for delivery; no `data`")},
    )
    def post(self, request: Request) -> Response:
        data = validated(PushbackInput, request.data)
        services.pushback_accept(target_id=data["target_id"], frame=data["forward_req"])
        return ok(msg="kept for delivery")


class NotifyOnlineView(InternalAPIView, APIView):
    @extend_schema(
        operation_id="internal_notify_online",
        summary="A user just connected: deliver what they are owed",
        description="INTERNAL. Answers 202 at once; the delivery happens after.",
        tags=["send"],
        request=NotifyOnlineInput,
        responses={202: OpenApiResponse(description="delivery scheduled; no `data`")},
    )
    def post(self, request: Request) -> Response:
        data = validated(NotifyOnlineInput, request.data)
        services.user_owed_deliver(user_id=data["target_id"])
        return ok(msg="delivery scheduled", status=202)
