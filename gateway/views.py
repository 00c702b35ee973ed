"""HTTP endpoint of the gateway: `/center/forward` (API.md §5.5)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import json_error, ok, validated
from chatproject.frames import encode
from chatproject.permissions import InternalAPIView
from gateway.delivery import delivery_engine
from gateway.serializers import ForwardInput
from meta.serializers import IdField


async def _write_local(user_ids: list[int], text: str) -> tuple[list[int], list[int]]:
    delivered, not_here = [], []
    hub = delivery_engine().hub
    for user_id in user_ids:
        sockets = hub.sockets_of(user_id)
        if not sockets:
            not_here.append(user_id)
            continue
        for socket in sockets:
            await socket.write(text)
        delivered.append(user_id)
    return delivered, not_here


class ForwardView(InternalAPIView, APIView):
    """Write a frame to the sockets of `target_ids` that are on this gateway process."""

    @extend_schema(
        operation_id="center_forward",
        summary="Write a frame to users' sockets on this gateway",
        description=(
            "INTERNAL. `frame` is written as is to every socket on this process of each of "
            "`target_ids`; missing `id`, `room_id`, `sender_id` default to -1, 0, 0 and `payload` to null. "
            "The original flat form, the frame's fields beside `target_ids`, is accepted too."
        ),
        tags=["gateway"],
        request=PolymorphicProxySerializer(
            component_name="ForwardRequest",
            serializers=[
                ForwardInput,
                inline_serializer(
                    "ForwardFlatInput",
                    {
                        "target_ids": serializers.ListField(child=IdField(), min_length=1, max_length=10000),
                        "type": serializers.CharField(),
                        "id": serializers.IntegerField(required=False),
                        "room_id": serializers.IntegerField(required=False),
                        "sender_id": serializers.IntegerField(required=False),
                        "payload": serializers.JSONField(required=False, allow_null=True),
                    },
                ),
            ],
            resource_type_field_name=None,
        ),
        responses={
            200: inline_serializer(
                "ForwardData",
                {
                    "delivered": serializers.ListField(child=IdField(), help_text="users with a socket here"),
                    "not_here": serializers.ListField(child=IdField(), help_text="users with no socket here"),
                },
            ),
            503: None,
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ForwardInput, request.data)
        targets = list(dict.fromkeys(data["target_ids"]))
        # The hub belongs to the event loop: hop onto it for the writes.
        delivered, not_here = async_to_sync(_write_local)(targets, encode(data["frame"]))
        return ok({"delivered": delivered, "not_here": not_here})


@csrf_exempt
def websocket_over_http(request: HttpRequest) -> JsonResponse:
    """`/api/ws` reached without a WebSocket upgrade: 404 for GET (no such HTTP endpoint), 405
    with `Allow` for any other method, in the envelope."""
    if request.method in ("GET", "HEAD"):
        return json_error(404, "/api/ws is the WebSocket endpoint: open it with a WebSocket upgrade request")
    response = json_error(405, f"method {request.method} is not allowed on /api/ws; open a WebSocket with GET")
    response["Allow"] = "GET"
    return response
