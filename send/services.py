"""Writes of the send service: storing messages and resending them (confirmations and devices
are `send.positions`)."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chatproject.bus import frame_publish, sync_publish
from chatproject.exceptions import Forbidden, NotFound
from chatproject.timefmt import iso_utc, unix_ms
from meta.models import Membership, Room, User
from meta.selectors import room_sending_check
from send import metrics
from send.content import content_validate
from send.models import Message
from send.push import message_publish
from send.representation import MessageObject, message_object

logger = logging.getLogger(__name__)


def _existing_for_client_msg_id(*, sender_id: int, client_msg_id: str | None) -> Message | None:
    """The sender's message with this client_msg_id: looked up only when an insert collided."""
    if client_msg_id is None:
        return None
    return Message.objects.filter(sender_id=sender_id, client_msg_id=client_msg_id).first()


def message_send(*, sender: User, room_id: int, content: Any, client_msg_id: str | None = None) -> MessageObject:
    """Store a message with the room's next seq and publish it after commit.

    Returns once the transaction has committed: the message then reaches every member of the
    room at this moment. With `client_msg_id`, a repeat by the same sender returns the first
    message and stores and delivers nothing. Raises InvalidInput (content), NotFound (room),
    Forbidden (not a member, or muted). Emits a `deliver` event to the members' gateways.
    """
    content = content_validate(content)
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
            room_sending_check(room_id=room_id, sender_id=sender.pk)  # announcements only, blocks (API.md §9)
            # A repeated client_msg_id fails here on the unique (sender, client_msg_id): the
            # transaction, the seq taken above included, is rolled back.
            message = Message.objects.create(
                room_id=room_id, sender=sender, seq=seq, client_msg_id=client_msg_id, content=content
            )
            # Sending reads the room up to the message (API.md §7.3).
            Membership.objects.filter(room_id=room_id, user_id=sender.pk, read_seq__lt=seq).update(read_seq=seq)
            obj = message_object(message)
            recipients, sent_at_ms = list(members), unix_ms(message.created_at)
            transaction.on_commit(lambda: _message_committed(message=obj, user_ids=recipients, sent_at_ms=sent_at_ms))
    except IntegrityError:
        existing = _existing_for_client_msg_id(sender_id=sender.pk, client_msg_id=client_msg_id)
        if existing is None:
            raise
        return message_object(existing)
    return obj


def _room_seq_next(*, room_id: int) -> int | None:
    """Take the room's next seq, and mark the room active now: one statement that also locks
    the room row until commit, so entries of one room are serialised and seqs have no gap. None
    when there is no such room."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1, last_activity_at = %s "  # noqa: S608
            "WHERE id = %s RETURNING last_seq",
            [timezone.now(), room_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _message_committed(*, message: MessageObject, user_ids: list[int], sent_at_ms: int) -> None:
    metrics.MESSAGES_SENT.inc()
    message_publish(message=message, user_ids=user_ids, sent_at_ms=sent_at_ms)


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
