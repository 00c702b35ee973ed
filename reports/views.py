"""HTTP view of reporting a message (API.md §9); staff handle reports in the Django admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatproject.envelope import ok, validated
from meta.serializers import IdField
from reports import services
from reports.serializers import ReportInput


class ReportView(APIView):
    @extend_schema(
        operation_id="report",
        summary="Report a message to the moderators",
        description=(
            "Members who can see the message. `reason`: spam, abuse, illegal or other; `comment` optional "
            "(at most 1000 characters). While your report of a message is open, reporting it again answers "
            "the open report's id. Staff see open reports in the Django admin and act on them there."
        ),
        tags=["send"],
        request=ReportInput,
        responses={
            200: inline_serializer("ReportData", {"report_id": IdField()}),
            400: OpenApiResponse(description="your own message, or a bad reason or comment"),
            404: OpenApiResponse(description="no such message, or not one you can see"),
            409: OpenApiResponse(description="the message was deleted"),
        },
    )
    def post(self, request: Request) -> Response:
        report = services.report_create(reporter=request.user, **validated(ReportInput, request.data))
        return ok({"report_id": report.pk}, "reported: thank you, the moderators will look at it")
