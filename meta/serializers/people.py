"""People and safety (API.md §9): the caller's own profile and password, finding users by name,
blocking."""

from __future__ import annotations

from rest_framework import serializers

from chatproject.ids import MAX_ID
from meta.serializers.fields import (
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    IdField,
    NameField,
    QueryIntField,
    StrictBooleanField,
    StrictCharField,
    UtcDateTimeField,
)
from meta.serializers.users import PASSWORD_MAX, PASSWORD_MIN, USER_NICKNAME_MAX

USER_SEARCH_QUERY_MAX = 50


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


class UserOut(serializers.Serializer):
    user_id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    nickname = serializers.CharField()


class MeOut(UserOut):
    created_at = UtcDateTimeField(source="date_joined")
