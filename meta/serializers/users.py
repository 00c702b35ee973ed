"""Accounts (API.md §2, §9): registering, logging in, refreshing tokens."""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from meta.serializers.fields import NameField, StrictCharField
from meta.usernames import MAX_NORMALISED_LENGTH, highly_restrictive, username_key, username_skeleton

USERNAME_MIN, USERNAME_MAX = 3, 50
PASSWORD_MIN, PASSWORD_MAX = 6, 128
USER_NICKNAME_MAX = 50


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
