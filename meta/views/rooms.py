"""HTTP views of rooms (API.md §2): creating a group or a private room, finding groups by name."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s


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
