"""Writes of the send service: storing messages and resending them. Updates of stored messages
(edit, delete, reactions, pins) are `send.updates`; confirmations and devices `send.positions`."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import IntegrityError, connection, transaction
from django.db.models import TextField, Value
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from chatproject.bus import frame_publish, sync_publish
from chatproject.exceptions import Forbidden, InvalidInput, NotFound
from chatproject.timefmt import iso_utc, unix_ms
from meta.models import Membership, Role, Room, User
from meta.selectors import history_start_seq, room_sending_check
from send import metrics
from send.content import content_validate
from send.models import Mention, Message
from send.push import message_publish
from send.representation import MessageDetails, MessageObject, message_object, message_objects

logger = logging.getLogger(__name__)


def _existing_for_client_msg_id(*, sender_id: int, client_msg_id: str | None) -> Message | None:
    """The sender's message with this client_msg_id: looked up only when an insert collided."""
    if client_msg_id is None:
        return None
    return Message.objects.filter(sender_id=sender_id, client_msg_id=client_msg_id).first()


MENTIONS_MAX = 50


def message_send(
    *,
    sender: User,
    room_id: int,
    content: Any,
    client_msg_id: str | None = None,
    reply_to: int | None = None,
    mentions: Sequence[int] = (),
    mention_all: bool = False,
) -> MessageObject:
    """Store a message with the room's next seq and publish it after commit.

    Returns once the transaction has committed: the message then reaches every member of the
    room at this moment. With `client_msg_id`, a repeat by the same sender returns the first
    message and stores and delivers nothing. `reply_to` names a message of the room the sender
    can see, `mentions` members of the room (at most 50), `mention_all` (owner and admins only)
    everyone (API.md §8.2). Raises InvalidInput (content, mentions, a reply to another room's
    message), NotFound (room, a reply to a message the sender cannot see), Forbidden (not a
    member, muted, mention_all by a member). Emits a `deliver` event to the members' gateways.
    """
    content = content_validate(content)
    mentioned = sorted(set(mentions))
    if len(mentioned) > MENTIONS_MAX:
        raise InvalidInput(
            f"mentions: at most {MENTIONS_MAX} users", errors={"mentions": [f"at most {MENTIONS_MAX} users"]}
        )
    try:
        with transaction.atomic():
            room = _room_seq_next(room_id=room_id)  # locks the room row until commit
            if room is None:
                raise NotFound(f"room {room_id} does not exist")
            seq = room.seq
            message = Message(
                room_id=room_id,
                sender_id=sender.pk,
                seq=seq,
                client_msg_id=client_msg_id,
                content=content,
                created_at=timezone.now(),
                reply_to_id=reply_to,
                mention_all=mention_all,
            )
            # Sending reads (API.md §7.3): the sender's read position moves to this seq in the
            # statement that reads their role and mute; a refusal below rolls it back. It reads
            # the members the rules need too (under the room's lock): a private room's two, a
            # group's mentioned ones; the recipients are found with their gateways after
            # commit (`message_publish`), a big room's thousand ids never read here. A member's
            # message is stored then (on PostgreSQL by the same statement), before the rules
            # below: a refusal rolls it back with the rest, and a repeated client_msg_id fails
            # there on the unique (sender, client_msg_id), so a repeat of a message already
            # stored returns it whatever has changed since (a mute, say), as a retry must.
            sender_row = _sender_and_members(
                room_id=room_id,
                user_id=sender.pk,
                seq=seq,
                message=message,
                among=None if not room.is_group else mentioned,
            )
            if sender_row is None:
                raise Forbidden(f"you are not a member of room {room_id}")
            role, muted_until, members = sender_row
            if muted_until is not None and muted_until > timezone.now():
                raise Forbidden(f"you are muted in room {room_id} until {iso_utc(muted_until)}")
            room_sending_check(  # announcements only, blocks (API.md §9)
                room_id=room_id,
                sender_id=sender.pk,
                role=role,
                is_group=room.is_group,
                announcement_only=room.announcement_only,
                member_ids=members,
            )
            strangers = [user_id for user_id in mentioned if user_id not in members]
            if strangers:
                reason = f"users {strangers} are not members of room {room_id}"
                raise InvalidInput(f"mentions: {reason}", errors={"mentions": [reason]})
            if mention_all and role > Role.ADMIN:
                raise Forbidden(f"only the owner or an admin of room {room_id} can mention everyone")
            if reply_to is not None:
                _reply_target_check(sender=sender, room_id=room_id, message_id=reply_to)
            if mentioned:
                Mention.objects.bulk_create(
                    [Mention(room_id=room_id, message=message, user_id=user_id, seq=seq) for user_id in mentioned]
                )
            obj = message_object(message, MessageDetails(mentions={message.pk: mentioned}))
            sent_at_ms = unix_ms(message.created_at)
            transaction.on_commit(lambda: _message_committed(message=obj, sent_at_ms=sent_at_ms))
    except IntegrityError:
        existing = _existing_for_client_msg_id(sender_id=sender.pk, client_msg_id=client_msg_id)
        if existing is None:
            raise
        return message_objects([existing])[0]
    return obj


def _reply_target_check(*, sender: User, room_id: int, message_id: int) -> None:
    """`message_id` is a message of the room that the sender can see in history."""
    target = Message.objects.filter(pk=message_id).values_list("room_id", "seq").first()
    if target is None:
        raise NotFound(f"reply_to: message {message_id} does not exist")
    if target[0] != room_id:
        raise InvalidInput(
            f"reply_to: message {message_id} is not in room {room_id}",
            errors={"reply_to": [f"must be a message of room {room_id}"]},
        )
    membership = Membership.objects.select_related("room").get(room_id=room_id, user_id=sender.pk)
    if target[1] <= history_start_seq(membership=membership):
        raise NotFound(f"reply_to: message {message_id} does not exist")


def search_vector_of(content: dict[str, Any] | None) -> Any:
    """What a message's `search_vector` column holds: on PostgreSQL the `tsvector` of a text
    message's text (an SQL expression, computed in the statement that writes the content);
    None for other messages, for a deleted one, and on other databases."""
    if connection.vendor != "postgresql" or content is None or content.get("type") != "text":
        return None
    return SearchVector(Value(content["text"], output_field=TextField()), config=settings.MESSAGE_SEARCH_CONFIG)


@dataclass(frozen=True)
class _SeqTaken:
    seq: int
    is_group: bool
    announcement_only: bool


def _room_seq_next(*, room_id: int) -> _SeqTaken | None:
    """Take the room's next seq, and mark the room active now: one statement that also locks
    the room row until commit, so entries of one room are serialised and seqs have no gap, and
    reads what the sending rules need of the room. None when there is no such room."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1, last_activity_at = %s "  # noqa: S608
            "WHERE id = %s RETURNING last_seq, is_group, announcement_only",
            [timezone.now(), room_id],
        )
        row = cursor.fetchone()
    return _SeqTaken(seq=row[0], is_group=bool(row[1]), announcement_only=bool(row[2])) if row else None


# The send path's reads and writes of memberships are plain SQL: each runs on every message, and
# building the same ORM query each time cost more CPU than the round trip to the database.
_MEMBERSHIP = Membership._meta.db_table


_MESSAGE_INSERTED = [
    Message._meta.get_field(name)
    for name in ("room", "sender", "seq", "client_msg_id", "content", "created_at", "reply_to", "mention_all")
]
_MESSAGE_INSERT_SQL = (
    f"INSERT INTO {Message._meta.db_table} "  # noqa: S608
    f"({', '.join(field.column for field in _MESSAGE_INSERTED)}, search_vector) "
    f"VALUES ({', '.join('%s' for _ in _MESSAGE_INSERTED)}, {{vector}}) RETURNING id"
)


def _message_values(message: Message) -> tuple[list[Any], str]:
    """The values `_MESSAGE_INSERTED` of a new message, each prepared by its field as the ORM
    prepares it (the content's JSON, say), then those of its `search_vector` (`search_vector_of`),
    and the SQL of that vector."""
    values: list[Any] = [
        field.get_db_prep_save(getattr(message, field.attname), connection) for field in _MESSAGE_INSERTED
    ]
    content = message.content
    if connection.vendor == "postgresql" and content is not None and content.get("type") == "text":
        values += [settings.MESSAGE_SEARCH_CONFIG, content["text"]]
        return values, "to_tsvector(%s::regconfig, %s)"
    return values, "NULL"


def _message_stored(message: Message, pk: int) -> Message:
    message.pk = pk
    message._state.adding = False
    message._state.db = connection.alias
    return message


def _message_insert(message: Message) -> Message:
    """`message` (a new one, with every inserted field set) written, as `Message.objects.create`
    would write it, its `search_vector` included; returns it with its id."""
    values, vector = _message_values(message)
    with connection.cursor() as cursor:
        cursor.execute(_MESSAGE_INSERT_SQL.format(vector=vector), values)
        return _message_stored(message, cursor.fetchone()[0])


# One statement: the sender's read position moves up to the new seq (never down), and their
# role and mute come back; no row: not a member.
_SENDER_READ_SQL = (
    f"UPDATE {_MEMBERSHIP} SET read_seq = CASE WHEN read_seq < %s THEN %s ELSE read_seq END "  # noqa: S608
    "WHERE room_id = %s AND user_id = %s RETURNING role, muted_until"
)


# On PostgreSQL the members the rules need come back in the same statement: its snapshot is
# taken after the seq UPDATE locked the room, as a statement of their own would be. The same statement
# inserts the message when the sender is a member (one row of `me`); each value is cast to its
# column's type, as an INSERT's VALUES would take it.
_SENDER_READ_MEMBERS_AND_INSERT_SQL = (
    f"WITH me AS ({_SENDER_READ_SQL}), "  # noqa: S608
    f"stored AS (INSERT INTO {Message._meta.db_table} "
    f"({', '.join(field.column for field in _MESSAGE_INSERTED)}, search_vector) "
    "SELECT {values}, {vector} FROM me RETURNING id) "
    f"SELECT me.role, me.muted_until, ARRAY(SELECT user_id FROM {_MEMBERSHIP} WHERE room_id = %s{{among}}), "
    "(SELECT id FROM stored) FROM me"
)


_INSERTED_CAST = ", ".join(f"CAST(%s AS {field.db_type(connection)})" for field in _MESSAGE_INSERTED)


def _sender_and_members(
    *, room_id: int, user_id: int, seq: int, message: Message, among: Collection[int] | None
) -> tuple[int, datetime | None, set[int]] | None:
    """Move the member's read position up to `seq`; their role, the end of their mute (None: not
    muted) and the ids of the room's members (of those `among` them, when given), or None for a
    non-member. A member's new `message` is inserted too (its id set on it): on PostgreSQL in the
    same statement."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values, vector = _message_values(message)
            params = [seq, seq, room_id, user_id, *values, room_id]
            if among is None:
                condition = ""
            else:  # the ids as one array literal, as the route lookup sends them
                condition = " AND user_id = ANY(%s::bigint[])"
                params.append("{" + ",".join(map(str, among)) + "}")
            sql = _SENDER_READ_MEMBERS_AND_INSERT_SQL.format(values=_INSERTED_CAST, vector=vector, among=condition)
            cursor.execute(sql, params)
            row = cursor.fetchone()
            if row is None:
                return None
            role, muted_until, member_ids, message_id = row
            _message_stored(message, message_id)
        else:
            cursor.execute(_SENDER_READ_SQL, [seq, seq, room_id, user_id])
            row = cursor.fetchone()
            if row is None:
                return None
            role, muted_until = row
            cursor.execute(f"SELECT user_id FROM {_MEMBERSHIP} WHERE room_id = %s", [room_id])  # noqa: S608
            member_ids = [member[0] for member in cursor.fetchall()]
            if among is not None:
                wanted = set(among)
                member_ids = [member for member in member_ids if member in wanted]
            _message_insert(message)
    if isinstance(muted_until, str):  # SQLite hands back the stored text: naive UTC
        muted_until = parse_datetime(muted_until)
    if muted_until is not None and timezone.is_naive(muted_until):
        muted_until = timezone.make_aware(muted_until, UTC)
    return int(role), muted_until, set(member_ids)


def _message_committed(*, message: MessageObject, sent_at_ms: int) -> None:
    metrics.MESSAGES_SENT.inc()
    message_publish(message=message, sent_at_ms=sent_at_ms)


def message_resend(*, user: User, message_id: int) -> MessageObject:
    """Deliver a message again (same id and seq) to the members who were in the room when it was
    sent and have not confirmed it. Raises NotFound, or Forbidden when `user` is not its sender."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"message {message_id} does not exist")
    if message.sender_id != user.pk:
        raise Forbidden("only the sender of a message may resend it")
    obj = message_objects([message])[0]
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
    """A gateway could not hand `frame` to `target_id`. A stored timeline entry (a message or an
    update) stays owed (its member's confirmed seq never moved), so the user's gateways are
    asked to sync; any other frame is forwarded to wherever the user is online now."""
    if frame.get("type") in {"chat", "update", "batch", "ack"}:
        sync_publish(user_ids=[target_id])
    else:
        frame_publish(user_ids=[target_id], frame=frame)
