"""Request shapes of the send service (API.md §3). Rules live in send.services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chatproject.frames import encode
from chatproject.ids import MAX_ID
from meta.serializers import IdField, QueryIdField, QueryIntField, StrictCharField
from send.selectors import HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX

SEQ_MAX = MAX_ID


class AnyJSONField(serializers.Field):
    """Passed through as parsed; the service checks its shape."""

    def to_internal_value(self, data: Any) -> Any:
        return data


class SendMessageInput(serializers.Serializer):
    room_id = IdField()
    content = AnyJSONField()
    client_msg_id = StrictCharField(max_length=64, min_length=1, required=False, allow_null=True)


class ResendMessageInput(serializers.Serializer):
    message_id = IdField()


class HistoryQuery(serializers.Serializer):
    room_id = QueryIdField()
    after_seq = QueryIntField(min_value=0, max_value=SEQ_MAX, required=False)
    before_seq = QueryIntField(min_value=1, max_value=SEQ_MAX, required=False)
    limit = QueryIntField(min_value=1, max_value=HISTORY_LIMIT_MAX, required=False, default=HISTORY_LIMIT_DEFAULT)


class FrameField(serializers.Field):
    default_error_messages = {
        "invalid": "must be a frame object with a string `type`",
        "unencodable": "must hold only 64-bit integers and valid Unicode text",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
            self.fail("invalid")
        try:  # the frame travels encoded: refuse here what the encoder would refuse after the reply
            encode(data)
        except TypeError:
            self.fail("unencodable")
        return data


class PushbackInput(serializers.Serializer):
    target_id = IdField()
    forward_req = FrameField()


class NotifyOnlineInput(serializers.Serializer):
    target_id = IdField()
