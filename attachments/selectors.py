"""Reading attachments: the one behind a signed URL."""

from __future__ import annotations

from attachments.models import Attachment
from attachments.signing import UrlExpired, UrlInvalid, key_from_token
from chatproject.exceptions import Forbidden, NotFound

EXPIRED = "this link has expired: open the message again for a fresh one"
INVALID = "this link is not valid"
MAX_TOKEN_CHARS = 200


def attachment_for_token(*, token: str) -> Attachment:
    """The attachment a signed URL's `<key>/<timestamp>/<signature>` names.

    Raises Forbidden (an altered or foreign signature, or an expired URL) and NotFound (a file
    that was deleted).
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise Forbidden(INVALID)
    try:
        key = key_from_token(token)
    except UrlExpired:
        raise Forbidden(EXPIRED) from None
    except UrlInvalid:
        raise Forbidden(INVALID) from None
    attachment = Attachment.objects.filter(key=key).first()
    if attachment is None:
        raise NotFound("this file no longer exists")
    return attachment
