"""The shape of `POST /api/chat/report` (API.md §9)."""

from __future__ import annotations

from rest_framework import serializers

from meta.serializers import IdField, StrictCharField
from reports.models import Reason, Report

COMMENT_MAX = Report._meta.get_field("comment").max_length


class ReportInput(serializers.Serializer):
    message_id = IdField()
    reason = serializers.ChoiceField(
        choices=Reason.choices, error_messages={"invalid_choice": "must be one of spam, abuse, illegal, other"}
    )
    comment = StrictCharField(required=False, allow_blank=True, max_length=COMMENT_MAX, default="")
