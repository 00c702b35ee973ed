"""Writes of the send service: storing messages, resending them, recording confirmations."""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatproject import metrics
from chatproject.exceptions import Forbidden, InvalidInput, NotFound
from chatproject.timefmt import iso_utc
from meta.models import Membership, Room, User
from send.models import Message
from send.push import frame_publish, message_publish, sync_publish
from send.representation import MessageObject, message_object

logger = logging.getLogger(__name__)

TEXT_MAX = 4000
URL_MAX = 2048
FILE_NAME_MAX = 255
# Numbers in content stay exact for a browser's JSON.parse, like ids (API.md §1.1).
NUMBER_MAX = 2**53 - 1
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


def _existing_for_client_msg_id(*, sender_id: int, client_msg_id: str) -> Message | None:
    return Message.objects.filter(sender_id=sender_id, client_msg_id=client_msg_id).first()


def message_send(*, sender: User, room_id: int, content: Any, client_msg_id: str | None = None) -> MessageObject:
    """Store a message with the room's next seq and publish it after commit.

    Returns once the transaction has committed: the message then reaches every member of the
    room at this moment. With `client_msg_id`, a repeat by the same sender returns the first
    message and stores and delivers nothing. Raises InvalidInput (content), NotFound (room),
    Forbidden (not a member, or muted). Emits a `deliver` event to the members' gateways.
    """
    content = content_validate(content)
    if client_msg_id is not None:
        existing = _existing_for_client_msg_id(sender_id=sender.pk, client_msg_id=client_msg_id)
        if existing is not None:
            return message_object(existing)
    try:
        with transaction.atomic():
            seq = _room_seq_next(room_id=room_id)  # locks the room row until commit
            if seq is None:
                raise NotFound(f"room {room_id} does not exist")
            # The members at this moment: the recipients, and whether the sender is one of them.
            members = dict(Membership.objects.filter(room_id=room_id).values_list("user_id", "muted_until"))
            if sender.pk not in members:
                raise Forbidden(f"you are not a member of room {room_id}")
            muted_until = members[sender.pk]
            if muted_until is not None and muted_until > timezone.now():
                raise Forbidden(f"you are muted in room {room_id} until {iso_utc(muted_until)}")
            if client_msg_id is not None:
                existing = _existing_for_client_msg_id(sender_id=sender.pk, client_msg_id=client_msg_id)
                if existing is not None:
                    transaction.set_rollback(True)  # give the seq back
                    return message_object(existing)
            message = Message.objects.create(
                room_id=room_id, sender=sender, seq=seq, client_msg_id=client_msg_id, content=content
            )
            obj = message_object(message)
            recipients = list(members)
            transaction.on_commit(lambda: _message_committed(message=obj, user_ids=recipients))
    except IntegrityError:
        # The same client_msg_id raced in through another room: the first one wins.
        if client_msg_id is not None:
            existing = _existing_for_client_msg_id(sender_id=sender.pk, client_msg_id=client_msg_id)
            if existing is not None:
                return message_object(existing)
        raise
    return obj


def _room_seq_next(*, room_id: int) -> int | None:
    """Take the room's next seq: one statement that also locks the room row until commit, so
    sends to one room are serialised and seqs have no gap. None when there is no such room."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",  # noqa: S608
            [room_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _message_committed(*, message: MessageObject, user_ids: list[int]) -> None:
    metrics.MESSAGES_SENT.inc()
    message_publish(message=message, user_ids=user_ids)


def message_resend(*, user: User, message_id: int) -> MessageObject:
    """Deliver a message again (same id and seq) to the members who were in the room when it was
    sent and have not confirmed it. Raises NotFound, or Forbidden when `user` is not its sender."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"message {message_id} does not exist")
    if message.sender_id != user.pk:
        raise Forbidden("only the sender of a message may resend it")
    obj = message_object(message)
    recipients = list(
        Membership.objects.filter(
            room_id=message.room_id, joined_seq__lt=message.seq, acked_seq__lt=message.seq
        ).values_list("user_id", flat=True)
    )
    message_publish(message=obj, user_ids=recipients, resend=True)
    return obj


def confirmations_record(*, confirmed: Mapping[tuple[int, int], int]) -> int:
    """Raise members' confirmed seq: `{(user_id, room_id): seq}`; never lowers one. Returns the
    number of memberships changed.

    One transaction, one UPDATE per distinct (room, seq): the members of a room who read the
    same message (the usual case: a fan-out) are confirmed together, not one row at a time.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (user_id, room_id), seq in confirmed.items():
        groups[(room_id, seq)].append(user_id)
    changed = 0
    with transaction.atomic():
        for (room_id, seq), user_ids in groups.items():
            changed += Membership.objects.filter(room_id=room_id, user_id__in=user_ids, acked_seq__lt=seq).update(
                acked_seq=seq
            )
    return changed


def user_owed_deliver(*, user_id: int) -> None:
    """A user just came online (or a push to them failed): have their gateways deliver everything
    the database says they are owed. Emits a `sync` event."""
    sync_publish(user_ids=[user_id])


def pushback_accept(*, target_id: int, frame: dict[str, Any]) -> None:
    """A gateway could not hand `frame` to `target_id`. A stored message stays owed (its member's
    confirmed seq never moved), so the user's gateways are asked to sync; any other frame is
    forwarded to wherever the user is online now."""
    if frame.get("type") in {"chat", "batch", "ack"}:
        sync_publish(user_ids=[target_id])
    else:
        frame_publish(user_ids=[target_id], frame=frame)
