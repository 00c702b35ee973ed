"""HTTP views of the meta service (API.md §2): validate, call one service or selector, reply."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok
from meta import selectors, services
from meta import serializers as s
from meta.throttles import LoginThrottle, RegisterThrottle
from meta.tokens import access_token_from_refresh, token_pair_for_user


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class _PublicView(APIView):
    """No user authentication: a stray or stale Authorization header must not get in the way."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


class RegisterView(_PublicView):
    throttle_classes = [RegisterThrottle]

    def post(self, request: Request) -> Response:
        user = services.user_register(**_valid(s.RegisterInput, request.data))
        return ok({"user_id": user.pk, "username": user.username}, "registered")


class LoginView(_PublicView):
    throttle_classes = [LoginThrottle]

    def post(self, request: Request) -> Response:
        user = services.user_authenticate(**_valid(s.LoginInput, request.data))
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
    def post(self, request: Request) -> Response:
        pair = access_token_from_refresh(raw=_valid(s.RefreshInput, request.data)["refresh"])
        return ok({"token": pair.access, "expires_in": pair.expires_in}, "token refreshed")


class GroupCreateView(APIView):
    def post(self, request: Request) -> Response:
        room = services.room_create(actor=request.user, **_valid(s.GroupCreateInput, request.data))
        return ok({"room_id": room.pk}, "room ready")


class AddMemberView(APIView):
    def post(self, request: Request) -> Response:
        data = _valid(s.AddMemberInput, request.data)
        membership = services.member_add(actor=request.user, room_id=data["room_id"], user_id=data["member_id"])
        return ok({"room_id": membership.room_id, "user_id": membership.user_id}, "member added")


class AddMembersView(APIView):
    def post(self, request: Request) -> Response:
        data = _valid(s.AddMembersInput, request.data)
        result = services.members_add(actor=request.user, room_id=data["room_id"], user_ids=data["member_ids"])
        return ok({"added": result.added, "already_members": result.already_members}, "members added")


class RemoveMemberView(APIView):
    def post(self, request: Request) -> Response:
        services.member_remove(actor=request.user, **_valid(s.RemoveMemberInput, request.data))
        return ok(msg="member removed")


class JoinView(APIView):
    def post(self, request: Request) -> Response:
        membership = services.room_join(actor=request.user, **_valid(s.RoomIdInput, request.data))
        return ok({"room_id": membership.room_id, "role": membership.role}, "joined")


class JoinRequestView(APIView):
    def post(self, request: Request) -> Response:
        join_request = services.join_request_create(actor=request.user, **_valid(s.JoinRequestInput, request.data))
        return ok({"request_id": join_request.pk}, "join request filed")


class JoinRequestsView(APIView):
    def get(self, request: Request) -> Response:
        pending = selectors.join_requests_pending(actor=request.user, **_valid(s.RoomIdQuery, request.query_params))
        return ok({"requests": s.JoinRequestOut(pending, many=True).data})


class JoinRespondView(APIView):
    def post(self, request: Request) -> Response:
        join_request = services.join_request_respond(actor=request.user, **_valid(s.JoinRespondInput, request.data))
        return ok({"request_id": join_request.pk, "status": join_request.status}, f"request {join_request.status}")


class ChangeNicknameView(APIView):
    def post(self, request: Request) -> Response:
        membership = services.member_nickname_change(actor=request.user, **_valid(s.ChangeNicknameInput, request.data))
        return ok({"room_id": membership.room_id, "nickname": membership.nickname}, "nickname changed")


class ChangeMemberRoleView(APIView):
    def post(self, request: Request) -> Response:
        membership = services.member_role_change(actor=request.user, **_valid(s.ChangeRoleInput, request.data))
        return ok(
            {"room_id": membership.room_id, "user_id": membership.user_id, "role": membership.role}, "role changed"
        )


class SearchView(APIView):
    def get(self, request: Request) -> Response:
        page = selectors.room_search(**_valid(s.SearchQuery, request.query_params))
        return ok({"rooms": s.SearchRoomOut(page.rooms, many=True).data, "total": page.total})


class JoinedRoomsView(APIView):
    def get(self, request: Request) -> Response:
        memberships = selectors.user_rooms(user_id=request.user.pk)
        return ok(
            {
                "room_ids": [m.room_id for m in memberships],
                "rooms": s.JoinedRoomOut(memberships, many=True).data,
            }
        )


class MembersView(APIView):
    def get(self, request: Request) -> Response:
        data = _valid(s.RoomIdQuery, request.query_params)
        members = selectors.room_members_list(user_id=request.user.pk, room_id=data["room_id"])
        return ok({"members": s.RoomMemberOut(members, many=True).data})
