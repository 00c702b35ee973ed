"""HTTP views of join requests (API.md §2): asking to join a group, listing and answering the
requests."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta import selectors, services
from meta import serializers as s


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
