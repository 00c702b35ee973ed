"""Rooms (API.md §2, §9): creating and finding them, members, join requests, settings and
invite links."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from chatproject.ids import MAX_ID
from meta.models import JoinPolicy
from meta.serializers.fields import (
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    IdField,
    NameField,
    QueryIdField,
    QueryIntField,
    RoleField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    UtcDateTimeField,
    id_list_field,
)

ROOM_NAME_MAX = 100
ROOM_NICKNAME_MAX = 100
JOIN_MESSAGE_MAX = 500
SEARCH_QUERY_MAX = 100
INVITE_EXPIRES_DEFAULT, INVITE_EXPIRES_MAX = 7 * 24 * 3600, 30 * 24 * 3600
INVITE_CODE_MAX = 64
INVITE_USES_MAX = 2_147_483_647  # the column's range
_INVITE_CODE = re.compile(r"[A-Za-z0-9_-]+")


# --- Requests ---------------------------------------------------------------------------


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


# --- Settings and invite links (API.md §9) ----------------------------------------------


def _invite_code(value: str) -> None:
    if not _INVITE_CODE.fullmatch(value):
        raise serializers.ValidationError("is not an invite code")


class InviteCodeField(StrictCharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=INVITE_CODE_MAX, validators=[_invite_code], **kwargs)


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
