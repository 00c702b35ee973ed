"""The shapes of the meta service's requests and replies (API.md §2).

Input serializers check types and lengths only; every rule about users and rooms lives in
`meta.services` and `meta.selectors`. Ids are JSON integers (never bools, floats or strings)
from 1 to 2^53 - 1 in bodies, and digit strings in that range in query strings.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers
from rest_framework.fields import empty

from chatproject.ids import MAX_ID
from chatproject.timefmt import iso_utc
from meta.models import JoinPolicy, Role
from meta.usernames import MAX_NORMALISED_LENGTH, highly_restrictive, username_key, username_skeleton

MAX_IDS_PER_CALL = 1000

USERNAME_MIN, USERNAME_MAX = 3, 50
PASSWORD_MIN, PASSWORD_MAX = 6, 128
USER_NICKNAME_MAX = 50
ROOM_NAME_MAX = 100
ROOM_NICKNAME_MAX = 100
JOIN_MESSAGE_MAX = 500
SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100
SEARCH_QUERY_MAX = 100
USER_SEARCH_QUERY_MAX = 50
INVITE_EXPIRES_DEFAULT, INVITE_EXPIRES_MAX = 7 * 24 * 3600, 30 * 24 * 3600
INVITE_CODE_MAX = 64
INVITE_USES_MAX = 2_147_483_647  # the column's range
_INVITE_CODE = re.compile(r"[A-Za-z0-9_-]+")

_DIGITS = re.compile(r"[0-9]{1,16}")


# --- Fields -----------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A JSON string; DRF's CharField would also turn numbers into strings."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def refuse_control_characters(value: str) -> None:
    """Names shown to other users carry no control characters (terminal escapes, NUL, ...)."""
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise serializers.ValidationError("must not contain control characters")


class NameField(StrictCharField):
    """A name shown to others (room name, nickname): a string without control characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validators=[refuse_control_characters], **kwargs)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer (DRF's IntegerField also takes "5", 5.0 and true)."""

    default_error_messages = {"invalid": "A valid integer is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A JSON number (DRF's FloatField also takes strings and true)."""

    default_error_messages = {"invalid": "must be a number"}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false` only (DRF's BooleanField also takes "yes", 1, "on", ...)."""

    default_error_messages = {"invalid": "must be true or false"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class IdField(serializers.Field):
    """An id in a JSON body: an integer from 1 to 2^53 - 1."""

    default_error_messages = {
        "invalid": "must be an integer id",
        "range": f"must be an id from 1 to {MAX_ID}",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if not 1 <= data <= MAX_ID:
            self.fail("range")
        return data

    def to_representation(self, value: int) -> int:
        return value


class QueryIntField(serializers.Field):
    """A whole number in a query string, from `min_value` to `max_value` inclusive."""

    default_error_messages = {"invalid": "must be an integer from {min_value} to {max_value}"}

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def get_value(self, dictionary: Any) -> Any:
        # DRF reads an empty query parameter (`?limit=`) as absent, i.e. the default: no.
        return dictionary.get(self.field_name, empty)

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not _DIGITS.fullmatch(data):
            self.fail("invalid", min_value=self.min_value, max_value=self.max_value)
        value = int(data)
        if not self.min_value <= value <= self.max_value:
            self.fail("invalid", min_value=self.min_value, max_value=self.max_value)
        return value

    def to_representation(self, value: int) -> int:
        return value


class QueryIdField(QueryIntField):
    default_error_messages = {"invalid": "must be an integer id from {min_value} to {max_value}"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class RoleField(serializers.Field):
    default_error_messages = {"invalid": "must be 0 (owner), 1 (admin) or 2 (member)"}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int) or data not in Role.values:
            self.fail("invalid")
        return data

    def to_representation(self, value: int) -> int:
        return value


class UtcDateTimeField(serializers.Field):
    """Output only: the wire format of times, see chatproject.timefmt."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: datetime) -> str:
        return iso_utc(value)


def id_list_field() -> serializers.ListField:
    return serializers.ListField(
        child=IdField(),
        allow_empty=True,
        max_length=MAX_IDS_PER_CALL,
        error_messages={"not_a_list": "must be a list of user ids"},
    )


class _UsernameCharset(UnicodeUsernameValidator):
    message = "may contain only letters, digits and the characters @ . + - _"


def _username_unicode_rules(value: str) -> None:
    """API.md §9: TS #39 "highly restrictive" (one script, or Latin with Han, Japanese or
    Korean), and a normalised form of bounded length."""
    if not highly_restrictive(value):
        raise serializers.ValidationError(
            "must be written in one script (or Latin with Han, Japanese or Korean), "
            "not a mix such as Latin and Cyrillic"
        )
    if max(len(username_key(value)), len(username_skeleton(value))) > MAX_NORMALISED_LENGTH:
        raise serializers.ValidationError("is too long once normalised")


# --- Requests ---------------------------------------------------------------------------


class RegisterInput(serializers.Serializer):
    username = StrictCharField(
        trim_whitespace=False,
        min_length=USERNAME_MIN,
        max_length=USERNAME_MAX,
        validators=[_UsernameCharset(), _username_unicode_rules],
        error_messages={
            "min_length": f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long",
            "max_length": f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long",
        },
    )
    password = StrictCharField(
        trim_whitespace=False,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        error_messages={
            "min_length": f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
            "max_length": f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
        },
    )
    nickname = NameField(required=False, allow_blank=True, max_length=USER_NICKNAME_MAX, default="")


class LoginInput(serializers.Serializer):
    # Generous caps: the format rules of /register are not repeated here, a wrong name is a 401.
    username = StrictCharField(trim_whitespace=False, max_length=150)
    password = StrictCharField(trim_whitespace=False, max_length=1024)


class RefreshInput(serializers.Serializer):
    refresh = StrictCharField(min_length=1, max_length=4096)


class GroupCreateInput(serializers.Serializer):
    name = NameField(min_length=1, max_length=ROOM_NAME_MAX)
    is_group = StrictBooleanField(required=False, default=False)
    member_ids = id_list_field()
    join_policy = serializers.ChoiceField(
        choices=JoinPolicy.choices,
        required=False,
        default=None,
        error_messages={"invalid_choice": 'must be "open" or "approval"'},
    )


class AddMemberInput(serializers.Serializer):
    room_id = IdField()
    member_id = IdField()


class AddMembersInput(serializers.Serializer):
    room_id = IdField()
    member_ids = id_list_field()


class RemoveMemberInput(serializers.Serializer):
    room_id = IdField()
    target_user_id = IdField()


class RoomIdInput(serializers.Serializer):
    room_id = IdField()


class RoomIdQuery(serializers.Serializer):
    room_id = QueryIdField()


class JoinRequestInput(serializers.Serializer):
    room_id = IdField()
    message = StrictCharField(required=False, allow_blank=True, max_length=JOIN_MESSAGE_MAX, default="")


class JoinRespondInput(serializers.Serializer):
    request_id = IdField()
    approve = StrictBooleanField(required=False, default=False)


class ChangeNicknameInput(serializers.Serializer):
    room_id = IdField()
    nickname = NameField(min_length=1, max_length=ROOM_NICKNAME_MAX)


class ChangeRoleInput(serializers.Serializer):
    room_id = IdField()
    target_user_id = IdField()
    new_role = RoleField()


class SearchQuery(serializers.Serializer):
    q = StrictCharField(required=False, allow_blank=True, max_length=SEARCH_QUERY_MAX, default="")
    limit = QueryIntField(min_value=1, max_value=SEARCH_LIMIT_MAX, required=False, default=SEARCH_LIMIT_DEFAULT)
    offset = QueryIntField(min_value=0, max_value=MAX_ID, required=False, default=0)


# --- Replies ----------------------------------------------------------------------------


class JoinRequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    room_id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    nickname = serializers.CharField(source="user.nickname")
    message = serializers.CharField()
    created_at = UtcDateTimeField()


class SearchRoomOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    creator_id = serializers.IntegerField(allow_null=True)
    created_at = UtcDateTimeField()
    member_count = serializers.IntegerField()
    join_policy = serializers.CharField()


class RoomMemberOut(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    nickname = serializers.CharField()
    role = serializers.IntegerField()
    joined_at = UtcDateTimeField()
    online = serializers.BooleanField()
    last_seen = UtcDateTimeField(allow_null=True, help_text="when their last socket closed; null while online")
    read_seq = serializers.IntegerField(allow_null=True, help_text="how far they read; null when not shared")


# --- People and safety (API.md §9) ------------------------------------------------------


def _invite_code(value: str) -> None:
    if not _INVITE_CODE.fullmatch(value):
        raise serializers.ValidationError("is not an invite code")


class InviteCodeField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=INVITE_CODE_MAX, validators=[_invite_code], **kwargs)


class MeInput(serializers.Serializer):
    nickname = NameField(allow_blank=True, max_length=USER_NICKNAME_MAX)


class PasswordChangeInput(serializers.Serializer):
    old_password = StrictCharField(trim_whitespace=False, max_length=1024)
    new_password = StrictCharField(
        trim_whitespace=False,
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        error_messages={
            "min_length": f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
            "max_length": f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
        },
    )


class UserSearchQuery(serializers.Serializer):
    q = StrictCharField(trim_whitespace=False, min_length=1, max_length=USER_SEARCH_QUERY_MAX)
    limit = QueryIntField(min_value=1, max_value=SEARCH_LIMIT_MAX, required=False, default=SEARCH_LIMIT_DEFAULT)
    offset = QueryIntField(min_value=0, max_value=MAX_ID, required=False, default=0)


class BlockInput(serializers.Serializer):
    user_id = IdField()
    blocked = StrictBooleanField(required=False, default=True)


class GroupSettingsInput(serializers.Serializer):
    room_id = IdField()
    name = NameField(required=False, min_length=1, max_length=ROOM_NAME_MAX)
    join_policy = serializers.ChoiceField(
        choices=JoinPolicy.choices, required=False, error_messages={"invalid_choice": 'must be "open" or "approval"'}
    )
    announcement_only = StrictBooleanField(required=False)
    history_visible = StrictBooleanField(required=False)


class InviteCreateInput(serializers.Serializer):
    room_id = IdField()
    expires_in = StrictIntegerField(
        required=False, min_value=1, max_value=INVITE_EXPIRES_MAX, default=INVITE_EXPIRES_DEFAULT
    )
    max_uses = StrictIntegerField(required=False, min_value=1, max_value=INVITE_USES_MAX, allow_null=True, default=None)


class InviteRevokeInput(serializers.Serializer):
    code = InviteCodeField()


class JoinInput(serializers.Serializer):
    """`{"room_id"}` joins an open group, `{"invite_code"}` the group of an invite link."""

    room_id = IdField(required=False)
    invite_code = InviteCodeField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "room_id" not in attrs and "invite_code" not in attrs:
            raise serializers.ValidationError({"room_id": ["This field is required."]})
        if "room_id" in attrs and "invite_code" in attrs:
            raise serializers.ValidationError("send either room_id or invite_code, not both")
        return attrs


class UserOut(serializers.Serializer):
    user_id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    nickname = serializers.CharField()


class MeOut(UserOut):
    created_at = UtcDateTimeField(source="date_joined")


class RoomSettingsOut(serializers.Serializer):
    room_id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    join_policy = serializers.CharField()
    announcement_only = serializers.BooleanField()
    history_visible = serializers.BooleanField()


class InviteOut(serializers.Serializer):
    code = serializers.CharField()
    room_id = serializers.IntegerField()
    expires_at = UtcDateTimeField()
    max_uses = serializers.IntegerField(allow_null=True)
    uses = serializers.IntegerField()
    created_at = UtcDateTimeField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
