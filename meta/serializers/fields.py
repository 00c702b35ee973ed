"""The fields the meta service's serializers share, and the other apps' too: strict JSON types,
names shown to others, ids, query-string integers, roles, times.

Ids are JSON integers (never bools, floats or strings) from 1 to 2^53 - 1 in bodies, and digit
strings in that range in query strings.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from rest_framework import serializers
from rest_framework.fields import empty

from chatproject.ids import MAX_ID
from chatproject.timefmt import iso_utc
from meta.models import Role

MAX_IDS_PER_CALL = 1000
# The page size of a search, of groups and of users alike.
SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100
_DIGITS = re.compile(r"[0-9]{1,16}")


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
