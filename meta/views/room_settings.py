"""HTTP views of group settings and invite links (API.md §9)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s


class GroupSettingsView(APIView):
    @extend_schema(
        operation_id="group_settings_read",
        summary="A room's settings",
        description="Members only (a private room answers too: it keeps the defaults).",
        tags=["meta"],
        parameters=[s.RoomIdQuery],
        responses={
            200: s.RoomSettingsOut,
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        data = validated(s.RoomIdQuery, request.query_params)
        membership = selectors.membership_get_for_member(user_id=request.user.pk, room_id=data["room_id"])
        return ok(s.RoomSettingsOut(membership.room).data)

    @extend_schema(
        operation_id="group_settings",
        summary="Change a group's settings",
        description=(
            "Owner and admins. Fields left out stay. `announcement_only`: only the owner and admins send "
            "(others 403). `history_visible`: every member, new ones included, sees the whole timeline. "
            'Members receive a `notice` with `event: "settings_changed"` when something changed.'
        ),
        tags=["meta"],
        request=s.GroupSettingsInput,
        responses={
            200: s.RoomSettingsOut,
            400: OpenApiResponse(description="a private room has no settings"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.GroupSettingsInput, request.data)
        room = services.room_settings_change(actor=request.user, **data)
        return ok(s.RoomSettingsOut(room).data, "settings saved")


class InviteCreateView(APIView):
    @extend_schema(
        operation_id="group_invite",
        summary="Create an invite link of a group",
        description=(
            "Owner and admins. Anyone with the `code` joins with `POST /api/chat/group/join` "
            '`{"invite_code"}`, approval groups too, until it expires (`expires_in` seconds, default 7 days, '
            "at most 30), is used `max_uses` times (null: unlimited) or is revoked."
        ),
        tags=["meta"],
        request=s.InviteCreateInput,
        responses={
            200: s.InviteOut,
            400: OpenApiResponse(description="a private room has no invite links"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def post(self, request: Request) -> Response:
        invite = services.invite_create(actor=request.user, **validated(s.InviteCreateInput, request.data))
        return ok(s.InviteOut(invite).data, "invite link created")


class InviteRevokeView(APIView):
    @extend_schema(
        operation_id="group_invite_revoke",
        summary="Revoke an invite link",
        description="Owner and admins of its room. Revoking it again changes nothing.",
        tags=["meta"],
        request=s.InviteRevokeInput,
        responses={
            200: s.InviteOut,
            403: OpenApiResponse(description="the caller is not owner or admin of the link's room"),
            404: OpenApiResponse(description="no invite link has this code (or the caller is not in its room)"),
        },
    )
    def post(self, request: Request) -> Response:
        invite = services.invite_revoke(actor=request.user, **validated(s.InviteRevokeInput, request.data))
        return ok(s.InviteOut(invite).data, "invite link revoked")


class InvitesView(APIView):
    @extend_schema(
        operation_id="group_invites",
        summary="A group's invite links that still admit someone",
        description="Owner and admins; not expired, used up or revoked, newest first.",
        tags=["meta"],
        parameters=[s.RoomIdQuery],
        responses={
            200: inline_serializer("InvitesData", {"invites": s.InviteOut(many=True)}),
            400: OpenApiResponse(description="a private room has no invite links"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        invites = selectors.invites_active(actor=request.user, **validated(s.RoomIdQuery, request.query_params))
        return ok({"invites": s.InviteOut(invites, many=True).data})
