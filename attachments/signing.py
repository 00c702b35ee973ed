"""Signed, expiring URLs of attachments (API.md §10), and re-signing them in message content.

A URL is `<base>/api/chat/files/<key>/<timestamp>/<signature>`: `key` names the attachment,
the signature (HMAC of the key and the time with the server's secret, `django.core.signing`)
makes it impossible to guess or alter, the timestamp lets it expire after
`UPLOAD_URL_SECONDS`. Fetching needs no header, so `<img src>` works.

The base is `PUBLIC_BASE_URL` when set, else the scheme and host the request came in on.
Message objects carry such URLs re-signed on output (`content_with_signed_urls`), so a URL in
a message read a month later still works; URLs the server did not sign stay as sent.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

FILES_PATH = "/api/chat/files/"
_SALT = "attachments.url"
_SEP = "/"
_KEY = r"[A-Za-z0-9_-]{16,32}"
_SIGNED = re.compile(rf"/api/chat/files/(?P<token>{_KEY}/[0-9A-Za-z]{{1,12}}/[A-Za-z0-9_-]{{20,100}})$")
_KEY_IN_URL = re.compile(rf"/api/chat/files/(?P<key>{_KEY})/")


class UrlExpired(Exception):
    pass


class UrlInvalid(Exception):
    pass


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT, sep=_SEP)


def signed_path(key: str) -> str:
    """The path of a fresh signed URL of attachment `key`."""
    return FILES_PATH + _signer().sign(key)


def signed_url(key: str, *, base: str) -> str:
    """A fresh signed URL of attachment `key` on `base` (`PUBLIC_BASE_URL` wins when set)."""
    return (settings.PUBLIC_BASE_URL or base).rstrip("/") + signed_path(key)


def key_from_token(token: str) -> str:
    """The attachment key of the `<key>/<timestamp>/<signature>` part of a URL.

    Raises UrlInvalid (altered, or not signed here) or UrlExpired (older than
    UPLOAD_URL_SECONDS).
    """
    try:
        return _signer().unsign(token, max_age=settings.UPLOAD_URL_SECONDS)
    except signing.SignatureExpired:
        raise UrlExpired() from None
    except signing.BadSignature:
        raise UrlInvalid() from None


def key_in_url(url: str) -> str | None:
    """The attachment key a URL names (signed or not), for finding references to a file."""
    match = _KEY_IN_URL.search(url)
    return match.group("key") if match else None


def url_resigned(url: str) -> str | None:
    """`url` with a fresh signature when it is an attachment URL this server signed (however
    long ago), else None. The base stays as it was unless `PUBLIC_BASE_URL` is set."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    match = _SIGNED.search(parts.path)
    if match is None:
        return None
    try:
        key = _signer().unsign(match.group("token"))  # the signature only: its age does not matter here
    except signing.BadSignature:
        return None
    base = f"{parts.scheme}://{parts.netloc}{parts.path[: match.start()]}"
    return signed_url(key, base=base)


def content_with_signed_urls(content: Any) -> Any:
    """A message's content with its attachment URL re-signed (API.md §10); other content, and
    URLs this server did not sign, unchanged. The content given is never modified."""
    if not isinstance(content, dict):
        return content
    url = content.get("url")
    if not isinstance(url, str) or FILES_PATH not in url:
        return content
    fresh = url_resigned(url)
    return content if fresh is None else {**content, "url": fresh}
