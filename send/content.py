"""A message's content object (API.md §3): its four shapes and their limits, checked in one place."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from chatproject.exceptions import InvalidInput
from chatproject.ids import MAX_ID

TEXT_MAX = 4000
URL_MAX = 2048
FILE_NAME_MAX = 255
# Numbers in content stay exact for a browser's JSON.parse, like ids (API.md §1.1).
NUMBER_MAX = MAX_ID
_CONTENT_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    # type → {field: accepted JSON types}; "url" is required for every media type.
    "text": {"text": (str,)},
    "image": {"url": (str,), "width": (int,), "height": (int,)},
    "voice": {"url": (str,), "duration": (int, float)},
    "file": {"url": (str,), "file_name": (str,), "size": (int,)},
}
_REQUIRED = {"text": ("text",), "image": ("url",), "voice": ("url",), "file": ("url", "file_name")}


def content_validate(content: Any) -> dict[str, Any]:
    """The content object of a message, checked against API.md §3; raises InvalidInput."""

    def bad(field: str, reason: str) -> InvalidInput:
        return InvalidInput(f"content.{field}: {reason}", errors={f"content.{field}": [reason]})

    if not isinstance(content, dict):
        raise InvalidInput("content: must be an object", errors={"content": ["must be an object"]})
    kind = content.get("type")
    if not isinstance(kind, str) or kind not in _CONTENT_FIELDS:
        raise bad("type", "must be one of text, image, voice, file")
    allowed = _CONTENT_FIELDS[kind]
    unknown = sorted(set(content) - set(allowed) - {"type"})
    if unknown:
        raise bad(unknown[0], f"is not a field of a {kind} message")
    for field in _REQUIRED[kind]:
        if field not in content:
            raise bad(field, "is required")
    for field, value in content.items():
        if field == "type":
            continue
        types = allowed[field]
        if isinstance(value, bool) or not isinstance(value, types):
            reason = {(str,): "must be a string", (int,): "must be a whole number"}.get(types, "must be a number")
            raise bad(field, reason)
        if isinstance(value, (int, float)) and value < 0:
            raise bad(field, "must not be negative")
        # 1e400 parses as infinity, which no JSON can carry; larger ints break the frame encoder.
        if isinstance(value, (int, float)) and (not math.isfinite(value) or value > NUMBER_MAX):
            raise bad(field, f"must be at most {NUMBER_MAX}")
        # PostgreSQL's jsonb refuses NUL, and no encoder writes an unpaired surrogate.
        if isinstance(value, str) and ("\x00" in value or not _utf8_encodable(value)):
            raise bad(field, "must not contain NUL or unpaired surrogate characters")
    if kind == "text":
        if not 1 <= len(content["text"]) <= TEXT_MAX:
            raise bad("text", f"must be 1 to {TEXT_MAX} characters")
    else:
        url = content["url"]
        try:
            parts = urlsplit(url)
        except ValueError:  # e.g. "http://[::1": an unclosed IPv6 bracket
            raise bad("url", f"must be an http(s) URL of at most {URL_MAX} characters") from None
        if len(url) > URL_MAX or parts.scheme not in {"http", "https"} or not parts.netloc:
            raise bad("url", f"must be an http(s) URL of at most {URL_MAX} characters")
        if kind == "file" and not 1 <= len(content["file_name"]) <= FILE_NAME_MAX:
            raise bad("file_name", f"must be 1 to {FILE_NAME_MAX} characters")
    return dict(content)


def _utf8_encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
