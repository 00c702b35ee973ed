"""HTTP views of a room's members (API.md §2, §9): adding, removing, joining, nicknames, roles,
the member list."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s


class AddMemberView(APIView):
    @extend_schema(
        operation_id="group_add_member",
        summary="Add one user to a group",
        description="Owner or admin only. Adding a member again is not an error.",
        tags=["meta"],
        request=s.AddMemberInput,
        responses={
            200: inline_serializer("AddMemberData", {"room_id": s.IdField(), "user_id": s.IdField()}),
            400: OpenApiResponse(description="the room is a private room"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room or user"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AddMemberInput, request.data)
        membership = services.member_add(actor=request.user, room_id=data["room_id"], user_id=data["member_id"])
        return ok({"room_id": membership.room_id, "user_id": membership.user_id}, "member added")


class AddMembersView(APIView):
    @extend_schema(
        operation_id="group_add_members",
        summary="Add several users to a group, all or none",
        description="Owner or admin only. `member_ids` `[]` is a no-op.",
        tags=["meta"],
        request=s.AddMembersInput,
        responses={
            200: inline_serializer(
                "AddMembersData",
                {
                    "added": serializers.ListField(child=s.IdField()),
                    "already_members": serializers.ListField(child=s.IdField()),
                },
            ),
            400: OpenApiResponse(description="the room is a private room"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room, or an id names no user (nobody is added)"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.AddMembersInput, request.data)
        result = services.members_add(actor=request.user, room_id=data["room_id"], user_ids=data["member_ids"])
        return ok({"added": result.added, "already_members": result.already_members}, "members added")


class RemoveMemberView(APIView):
    @extend_schema(
        operation_id="group_remove_member",
        summary="Remove a member, or leave (target = yourself)",
        description="The caller must outrank the target (owner > admin > member). Nobody removes the owner.",
        tags=["meta"],
        request=s.RemoveMemberInput,
        responses={
            200: OpenApiResponse(description="removed; no `data`"),
            400: OpenApiResponse(description="the room is a private room"),
            403: OpenApiResponse(description="the caller does not outrank the target, or the target is the owner"),
            404: OpenApiResponse(description="no such room, or the target is not a member"),
            409: OpenApiResponse(description="the owner cannot leave before handing ownership on"),
        },
    )
    def post(self, request: Request) -> Response:
        services.member_remove(actor=request.user, **validated(s.RemoveMemberInput, request.data))
        return ok(msg="member removed")


class JoinView(APIView):
    @extend_schema(
        operation_id="group_join",
        summary="Join an open group, or a group through an invite link",
        description=(
            'Either `{"room_id"}` (open groups) or `{"invite_code"}` (the group of an invite link, approval '
            "groups too). A member already gets 200 and no change."
        ),
        tags=["meta"],
        request=s.JoinInput,
        responses={
            200: inline_serializer("JoinData", {"room_id": s.IdField(), "role": s.RoleField()}),
            400: OpenApiResponse(
                description="the room is a private room, or neither or both of room_id and invite_code"
            ),
            403: OpenApiResponse(description="the group admits members by approval: file a join request"),
            404: OpenApiResponse(
                description="no such room, or the invite link is unknown, expired, used up or revoked"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(s.JoinInput, request.data)
        if "invite_code" in data:
            membership = services.room_join_by_invite(actor=request.user, code=data["invite_code"])
        else:
            membership = services.room_join(actor=request.user, room_id=data["room_id"])
        return ok({"room_id": membership.room_id, "role": membership.role}, "joined")


class ChangeNicknameView(APIView):
    @extend_schema(
        operation_id="group_change_nickname",
        summary="Set your own nickname in a room",
        tags=["meta"],
        request=s.ChangeNicknameInput,
        responses={
            200: inline_serializer("ChangeNicknameData", {"room_id": s.IdField(), "nickname": serializers.CharField()}),
            404: OpenApiResponse(description="no such room, or the caller is not a member"),
        },
    )
    def post(self, request: Request) -> Response:
        membership = services.member_nickname_change(
            actor=request.user, **validated(s.ChangeNicknameInput, request.data)
        )
        return ok({"room_id": membership.room_id, "nickname": membership.nickname}, "nickname changed")


class ChangeMemberRoleView(APIView):
    @extend_schema(
        operation_id="group_change_member_role",
        summary="Make a member admin or member, or hand ownership on",
        description="Owner only. `new_role` 0 hands ownership to the target; the old owner becomes admin.",
        tags=["meta"],
        request=s.ChangeRoleInput,
        responses={
            200: inline_serializer(
                "ChangeMemberRoleData", {"room_id": s.IdField(), "user_id": s.IdField(), "role": s.RoleField()}
            ),
            400: OpenApiResponse(description="the room is a private room, or the owner changes their own role"),
            403: OpenApiResponse(description="the caller is not the owner"),
            404: OpenApiResponse(description="no such room, or the target is not a member"),
        },
    )
    def post(self, request: Request) -> Response:
        membership = services.member_role_change(actor=request.user, **validated(s.ChangeRoleInput, request.data))
        return ok(
            {"room_id": membership.room_id, "user_id": membership.user_id, "role": membership.role}, "role changed"
        )


class MembersView(APIView):
    @extend_schema(
        operation_id="group_members",
        summary="The members of a room",
        tags=["meta"],
        parameters=[s.RoomIdQuery],
        responses={
            200: inline_serializer("MembersData", {"members": s.RoomMemberOut(many=True)}),
            403: OpenApiResponse(description="the caller is not a member of the room"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        data = validated(s.RoomIdQuery, request.query_params)
        members = selectors.room_members_list(user_id=request.user.pk, room_id=data["room_id"])
        return ok({"members": s.RoomMemberOut(members, many=True).data})
