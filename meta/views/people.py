"""HTTP views of a user's own account and of other people (API.md §9): profile, password,
settings (§7.3), finding users by name, blocking."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s
from meta.models import User
from meta.services.settings import user_settings_update
from meta.throttles import client_address
from meta.tokens import token_pair_for_user


class MeView(APIView):
    @extend_schema(
        operation_id="me",
        summary="Your account",
        tags=["meta"],
        responses={200: s.MeOut},
    )
    def get(self, request: Request) -> Response:
        return ok(s.MeOut(request.user).data)

    @extend_schema(
        operation_id="me_update",
        summary="Change your nickname",
        description="The nickname's rules are those of `/register`: at most 50 characters, may be empty.",
        tags=["meta"],
        request=s.MeInput,
        responses={200: s.MeOut},
    )
    def post(self, request: Request) -> Response:
        user = services.user_nickname_change(user=request.user, **validated(s.MeInput, request.data))
        return ok(s.MeOut(user).data, "profile changed")


class MePasswordView(APIView):
    @extend_schema(
        operation_id="me_password",
        summary="Change your password",
        description=(
            "Every refresh token issued before stops working (other devices log in again once their "
            "access token expires); the reply carries a new pair for this device. A wrong "
            "`old_password` counts as a failed login of the account."
        ),
        tags=["meta"],
        request=s.PasswordChangeInput,
        responses={
            200: inline_serializer(
                "PasswordChangeData",
                {
                    "token": serializers.CharField(help_text="a new access token (JWT)"),
                    "refresh": serializers.CharField(help_text="a new refresh token"),
                    "expires_in": serializers.IntegerField(help_text="seconds the access token lives"),
                },
            ),
            400: OpenApiResponse(description="`errors.old_password`: the old password is wrong"),
            429: OpenApiResponse(description="too many wrong passwords: the account or address is locked out"),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.user_password_change(
            user=request.user, **validated(s.PasswordChangeInput, request.data), address=client_address(request.META)
        )
        pair = token_pair_for_user(user=user)
        return ok({"token": pair.access, "refresh": pair.refresh, "expires_in": pair.expires_in}, "password changed")


class UserSearchView(APIView):
    @extend_schema(
        operation_id="users_search",
        summary="Find people by name",
        description=(
            "Users whose username starts with `q` (compared as usernames are: NFKC and case folding) or "
            "whose nickname contains it, without regard to case; banned users never. Ordered by username."
        ),
        tags=["meta"],
        parameters=[s.UserSearchQuery],
        responses={
            200: inline_serializer(
                "UserSearchData",
                {"users": s.UserOut(many=True), "has_more": serializers.BooleanField()},
            ),
        },
    )
    def get(self, request: Request) -> Response:
        page = selectors.user_search(**validated(s.UserSearchQuery, request.query_params))
        return ok({"users": s.UserOut(page.users, many=True).data, "has_more": page.has_more})


class BlockView(APIView):
    @extend_schema(
        operation_id="users_block",
        summary="Block or unblock a user",
        description=(
            "`blocked` defaults to true. While either of two users blocks the other, their private room is "
            "frozen: neither can send in it, and the blocked one cannot create it. Groups are unaffected. "
            "Nobody is told."
        ),
        tags=["meta"],
        request=s.BlockInput,
        responses={
            200: inline_serializer("BlockData", {"user_id": s.IdField(), "blocked": serializers.BooleanField()}),
            400: OpenApiResponse(description="you cannot block yourself"),
            404: OpenApiResponse(description="no such user"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.BlockInput, request.data)
        blocked = services.user_block_set(actor=request.user, user_id=data["user_id"], blocked=data["blocked"])
        return ok({"user_id": data["user_id"], "blocked": blocked}, "blocked" if blocked else "unblocked")


class BlockedView(APIView):
    @extend_schema(
        operation_id="users_blocked",
        summary="The users you block",
        description="Most recently blocked first.",
        tags=["meta"],
        responses={200: inline_serializer("BlockedData", {"users": s.UserOut(many=True)})},
    )
    def get(self, request: Request) -> Response:
        users = selectors.users_blocked_by(user_id=request.user.pk)
        return ok({"users": s.UserOut(users, many=True).data})


# --- The caller's settings (API.md §7.3) -------------------------------------------------

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
