"""`GET/POST /api/me/settings` (API.md §7.3): the caller's own settings."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta.models import User
from meta.services.settings import user_settings_update

_SETTINGS = inline_serializer("UserSettings", {"share_read_receipts": serializers.BooleanField()})


class SettingsInput(serializers.Serializer):
    share_read_receipts = serializers.BooleanField(
        required=False, help_text="false: others never see how far you read (your own devices still sync it)"
    )

    def validate_share_read_receipts(self, value: object) -> bool:
        if not isinstance(self.initial_data.get("share_read_receipts"), bool):
            raise serializers.ValidationError("Must be a JSON boolean.")
        return bool(value)


def _data(user: User) -> dict[str, bool]:
    return {"share_read_receipts": user.share_read_receipts}


class SettingsView(APIView):
    @extend_schema(
        operation_id="me_settings",
        summary="The caller's settings",
        tags=["meta"],
        responses={200: _SETTINGS},
    )
    def get(self, request: Request) -> Response:
        return ok(_data(request.user))

    @extend_schema(
        operation_id="me_settings_update",
        summary="Change the caller's settings",
        description="Settings left out stay as they are. `share_read_receipts` defaults to true.",
        tags=["meta"],
        request=SettingsInput,
        responses={200: _SETTINGS},
    )
    def post(self, request: Request) -> Response:
        data = validated(SettingsInput, request.data)
        user = user_settings_update(user=request.user, **data)
        return ok(_data(user), "settings saved")
