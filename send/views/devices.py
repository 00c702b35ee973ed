"""The caller's devices (API.md §7.2): `GET /api/me/devices`, `DELETE /api/me/devices/<id>`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok
from chatproject.timefmt import iso_utc
from meta.serializers import UtcDateTimeField
from send import positions

_DEVICE = inline_serializer("Device", {"device_id": serializers.CharField(), "last_seen": UtcDateTimeField()})


class DevicesView(APIView):
    @extend_schema(
        operation_id="me_devices",
        summary="The caller's devices",
        description=(
            "Devices are named by their clients (`?device_id=` on the socket). Each keeps its own "
            "confirmed position per room, so every device gets everything. Most recently seen first."
        ),
        tags=["send"],
        responses={200: inline_serializer("DevicesData", {"devices": _DEVICE.__class__(many=True)})},
    )
    def get(self, request: Request) -> Response:
        devices = positions.devices_list(user_id=request.user.pk)
        return ok({"devices": [{"device_id": d.device_id, "last_seen": iso_utc(d.last_seen)} for d in devices]})


class DeviceView(APIView):
    @extend_schema(
        operation_id="me_device_forget",
        summary="Forget one of the caller's devices",
        description=(
            "Its positions go: its next socket starts at the user's positions of that moment. "
            "200 whether or not there was such a device."
        ),
        tags=["send"],
        parameters=[OpenApiParameter("device_id", str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9._-]{1,64}$")],
        responses={
            200: inline_serializer("DeviceForgetData", {"forgotten": serializers.BooleanField()}),
            404: OpenApiResponse(description="the path holds no valid device id"),
        },
    )
    def delete(self, request: Request, device_id: str) -> Response:
        forgotten = positions.device_forget(user_id=request.user.pk, device_id=device_id)
        return ok({"forgotten": forgotten}, "device forgotten" if forgotten else "no such device")
