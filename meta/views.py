"""HTTP views of the meta service (API.md §2): validate, call one service or selector, reply."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s
from meta.throttles import LoginThrottle, RegisterThrottle, client_address
from meta.tokens import token_pair_for_user, token_pair_from_refresh


class _PublicView(APIView):
    """No user authentication: a stray or stale Authorization header must not get in the way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(_PublicView):
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        operation_id="register",
        summary="Create an account",
        tags=["meta"],
        request=s.RegisterInput,
        responses={
            200: inline_serializer("RegisterData", {"user_id": s.IdField(), "username": serializers.CharField()}),
            409: OpenApiResponse(description="the username is taken (compared without regard to case)"),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**validated(s.RegisterInput, request.data))
        return ok({"user_id": user.pk, "username": user.username}, "registered")


class LoginView(_PublicView):
    throttle_classes = [LoginThrottle]

    @extend_schema(
        operation_id="login",
        summary="Log in: an access token and a refresh token",
        tags=["meta"],
        request=s.LoginInput,
        responses={
            200: inline_serializer(
                "LoginData",
                {
                    "token": serializers.CharField(help_text="the access token (JWT)"),
                    "refresh": serializers.CharField(help_text="the refresh token, for POST /api/token/refresh"),
                    "user_id": s.IdField(),
                    "username": serializers.CharField(),
                    "expires_in": serializers.IntegerField(help_text="seconds the access token lives"),
                },
            ),
            401: OpenApiResponse(description="wrong username or password (the same reply either way)"),
            403: OpenApiResponse(description="the user is banned"),
            429: OpenApiResponse(
                description="too many attempts, or this address or account is locked out after failed logins"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.user_authenticate(**validated(s.LoginInput, request.data), address=client_address(request.META))
        pair = token_pair_for_user(user=user)
        return ok(
            {
                "token": pair.access,
                "refresh": pair.refresh,
                "user_id": user.pk,
                "username": user.username,
                "expires_in": pair.expires_in,
            },
            "logged in",
        )


class TokenRefreshView(_PublicView):
    @extend_schema(
        operation_id="token_refresh",
        summary="A new access token and a new refresh token for a refresh token (which is then spent)",
        tags=["meta"],
        request=s.RefreshInput,
        responses={
            200: inline_serializer(
                "TokenRefreshData",
                {
                    "token": serializers.CharField(help_text="the new access token (JWT)"),
                    "refresh": serializers.CharField(
                        help_text="the new refresh token: the one sent is spent (refresh tokens work once)"
                    ),
                    "expires_in": serializers.IntegerField(help_text="seconds the access token lives"),
                },
            ),
            401: OpenApiResponse(
                description="the refresh token is invalid, expired, used already or revoked (password change, "
                "ban), or its user is deleted or banned"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        pair = token_pair_from_refresh(raw=validated(s.RefreshInput, request.data)["refresh"])
        return ok({"token": pair.access, "refresh": pair.refresh, "expires_in": pair.expires_in}, "token refreshed")


class GroupCreateView(APIView):
    @extend_schema(
        operation_id="group_create",
        summary="Create a group or a private (1:1) room",
        description=(
            "The caller becomes owner, everyone else member. `is_group` defaults to false: a private room "
            "has exactly one other member, and creating one for a pair that has one returns that room."
        ),
        tags=["meta"],
        request=s.GroupCreateInput,
        responses={
            200: inline_serializer("GroupCreateData", {"room_id": s.IdField()}),
            400: OpenApiResponse(description="a private room needs exactly one other member and takes no join_policy"),
            404: OpenApiResponse(description="a member id names no user"),
        },
    )
    def post(self, request: Request) -> Response:
        room = services.room_create(actor=request.user, **validated(s.GroupCreateInput, request.data))
        return ok({"room_id": room.pk}, "room ready")


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


class JoinRequestView(APIView):
    @extend_schema(
        operation_id="group_join_request",
        summary="Ask to join a group",
        description=(
            "A second request while one is pending returns the pending one. The group's online owner "
            "and admins get a `notice` frame."
        ),
        tags=["meta"],
        request=s.JoinRequestInput,
        responses={
            200: inline_serializer("JoinRequestData", {"request_id": s.IdField()}),
            400: OpenApiResponse(description="the room is a private room"),
            404: OpenApiResponse(description="no such room"),
            409: OpenApiResponse(description="the caller is a member already"),
        },
    )
    def post(self, request: Request) -> Response:
        join_request = services.join_request_create(actor=request.user, **validated(s.JoinRequestInput, request.data))
        return ok({"request_id": join_request.pk}, "join request filed")


class JoinRequestsView(APIView):
    @extend_schema(
        operation_id="group_join_requests",
        summary="Pending join requests of a group, oldest first",
        description="Owner or admin only.",
        tags=["meta"],
        parameters=[s.RoomIdQuery],
        responses={
            200: inline_serializer("JoinRequestsData", {"requests": s.JoinRequestOut(many=True)}),
            400: OpenApiResponse(description="the room is a private room"),
            403: OpenApiResponse(description="the caller is not owner or admin of the group"),
            404: OpenApiResponse(description="no such room"),
        },
    )
    def get(self, request: Request) -> Response:
        pending = selectors.join_requests_pending(actor=request.user, **validated(s.RoomIdQuery, request.query_params))
        return ok({"requests": s.JoinRequestOut(pending, many=True).data})


class JoinRespondView(APIView):
    @extend_schema(
        operation_id="group_join_respond",
        summary="Approve or reject a join request",
        description="Owner or admin of the request's room. Approval makes the applicant a member.",
        tags=["meta"],
        request=s.JoinRespondInput,
        responses={
            200: inline_serializer(
                "JoinRespondData",
                {"request_id": s.IdField(), "status": serializers.ChoiceField(choices=["approved", "rejected"])},
            ),
            403: OpenApiResponse(description="the caller is not owner or admin of the request's room"),
            404: OpenApiResponse(description="no such join request"),
            409: OpenApiResponse(description="the request was answered already"),
        },
    )
    def post(self, request: Request) -> Response:
        join_request = services.join_request_respond(actor=request.user, **validated(s.JoinRespondInput, request.data))
        return ok({"request_id": join_request.pk, "status": join_request.status}, f"request {join_request.status}")


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


class SearchView(APIView):
    @extend_schema(
        operation_id="group_search",
        summary="Search groups by name",
        description="Case-insensitive substring match (`%` and `_` match themselves), ordered by id. Groups only.",
        tags=["meta"],
        parameters=[s.SearchQuery],
        responses={
            200: inline_serializer(
                "SearchData",
                {
                    "rooms": s.SearchRoomOut(many=True),
                    "total": serializers.IntegerField(help_text="matching groups in all"),
                },
            ),
        },
    )
    def get(self, request: Request) -> Response:
        page = selectors.room_search(**validated(s.SearchQuery, request.query_params))
        return ok({"rooms": s.SearchRoomOut(page.rooms, many=True).data, "total": page.total})


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
