"""Request shapes of the send service (API.md §3). Rules live in send.services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chatproject.frames import encode
from chatproject.ids import MAX_ID
from meta.serializers import IdField, QueryIdField, QueryIntField, StrictBooleanField, StrictCharField
from send.selectors import (
    EVENTS_LIMIT_DEFAULT,
    HISTORY_LIMIT_DEFAULT,
    HISTORY_LIMIT_MAX,
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    SEARCH_OFFSET_MAX,
    SEARCH_QUERY_MAX,
)
from send.services import MENTIONS_MAX
from send.updates import REACTION_KEY_MAX

SEQ_MAX = MAX_ID


class AnyJSONField(serializers.Field):
    """Passed through as parsed; the service checks its shape."""

    def to_internal_value(self, data: Any) -> Any:
        return data


class SendMessageInput(serializers.Serializer):
    room_id = IdField()
    content = AnyJSONField()
    client_msg_id = StrictCharField(max_length=64, min_length=1, required=False, allow_null=True)
    reply_to = IdField(required=False, allow_null=True, help_text="a message of the room you can see")
    mentions = serializers.ListField(
        child=IdField(),
        required=False,
        max_length=MENTIONS_MAX,
        help_text=f"user ids of members of the room, at most {MENTIONS_MAX}",
        error_messages={"not_a_list": "must be a list of user ids"},
    )
    mention_all = StrictBooleanField(required=False, default=False, help_text="owner and admins only")


class MessageIdInput(serializers.Serializer):
    message_id = IdField()


class EditMessageInput(MessageIdInput):
    content = AnyJSONField()


class ReactInput(MessageIdInput):
    # The service checks the key (1 to 32 code points, no whitespace or control characters).
    key = StrictCharField(trim_whitespace=False, allow_blank=True, max_length=4 * REACTION_KEY_MAX)
    on = StrictBooleanField(required=False, default=True, help_text="false removes the reaction")


class PinInput(MessageIdInput):
    pinned = StrictBooleanField(required=False, default=True, help_text="false unpins")


class RoomQuery(serializers.Serializer):
    room_id = QueryIdField()


class EventsQuery(serializers.Serializer):
    room_id = QueryIdField()
    after_seq = QueryIntField(min_value=0, max_value=SEQ_MAX, required=False, default=0)
    limit = QueryIntField(
        min_value=1,
        max_value=SEQ_MAX,
        required=False,
        default=EVENTS_LIMIT_DEFAULT,
        help_text="more than 500 is taken as 500",
    )


class SearchQueryInput(serializers.Serializer):
    q = serializers.CharField(min_length=1, max_length=SEARCH_QUERY_MAX, trim_whitespace=False)
    room_id = QueryIdField(required=False)
    limit = QueryIntField(min_value=1, max_value=SEARCH_LIMIT_MAX, required=False, default=SEARCH_LIMIT_DEFAULT)
    offset = QueryIntField(min_value=0, max_value=SEARCH_OFFSET_MAX, required=False, default=0)


class ResendMessageInput(serializers.Serializer):
    message_id = IdField()


class HistoryQuery(serializers.Serializer):
    room_id = QueryIdField()
    after_seq = QueryIntField(min_value=0, max_value=SEQ_MAX, required=False)
    before_seq = QueryIntField(min_value=1, max_value=SEQ_MAX, required=False)
    limit = QueryIntField(min_value=1, max_value=HISTORY_LIMIT_MAX, required=False, default=HISTORY_LIMIT_DEFAULT)


def _integers_exact_in_browsers(value: Any) -> bool:
    """Every integer inside `value` is within ±(2^53 - 1), exact for a browser's JSON.parse."""
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -SEQ_MAX <= value <= SEQ_MAX
    if isinstance(value, dict):
        return all(_integers_exact_in_browsers(item) for item in value.values())
    if isinstance(value, list):
        return all(_integers_exact_in_browsers(item) for item in value)
    return True


class FrameField(serializers.Field):
    default_error_messages = {
        "invalid": "must be a frame object with a string `type`",
        "ids": "`id`, `room_id` and `sender_id` must be integers",
        "range": f"must hold only integers from -{SEQ_MAX} to {SEQ_MAX} (ids below 2^53)",
        "unencodable": "must hold only 64-bit integers and valid Unicode text",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str) or not data["type"]:
            self.fail("invalid")
        for name in ("id", "room_id", "sender_id"):
            if name in data and (isinstance(data[name], bool) or not isinstance(data[name], int)):
                self.fail("ids")
        if not _integers_exact_in_browsers(data):
            self.fail("range")
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
