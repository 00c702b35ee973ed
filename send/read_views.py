"""`POST /api/chat/read` (API.md §7.3): the caller has read a room up to a seq."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from chatproject.ids import MAX_ID
from meta.serializers import IdField
from send import reading


class ReadInput(serializers.Serializer):
    room_id = IdField()
    seq = serializers.IntegerField(min_value=0, max_value=MAX_ID)

    def validate_seq(self, value: int) -> int:
        if isinstance(self.initial_data.get("seq"), bool) or not isinstance(self.initial_data.get("seq"), int):
            raise serializers.ValidationError("Must be a JSON integer.")
        return value


class ReadView(APIView):
    @extend_schema(
        operation_id="read",
        summary="Mark a room read up to a seq",
        description=(
            "Cumulative: a seq at or below the caller's read position changes nothing. The caller's "
            "sockets (every device) get a `read` frame, and so do the other members' when the room "
            "has at most READ_RECEIPTS_MAX_MEMBERS members (100) and the caller shares receipts. "
            "`unread` counts the messages above the position that someone else sent."
        ),
        tags=["send"],
        request=ReadInput,
        responses={
            200: inline_serializer(
                "ReadData",
                {
                    "room_id": IdField(),
                    "read_seq": serializers.IntegerField(min_value=0),
                    "unread": serializers.IntegerField(min_value=0),
                },
            ),
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ReadInput, request.data)
        result = reading.room_read(user=request.user, room_id=data["room_id"], seq=data["seq"])
        return ok({"room_id": result.room_id, "read_seq": result.read_seq, "unread": result.unread})
