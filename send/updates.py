"""Writes of the life of a message after it is sent (API.md §8.3): edit, delete for everyone,
reactions and pins.

Each change is an entry of the room's timeline (§7.1): in one transaction it locks the room row
and takes the room's next seq (the same statement the send path uses), checks its rules under
that lock (so two edits, a reaction and its removal, or two pins racing for the last place are
serialised), writes the change and its `MessageUpdate` row, and publishes the update frame to
the room's members after commit. A request that changes nothing rolls its transaction back,
seq included, and answers the message with `seq` None.

A user who is not a member of the message's room, or joined after it
(`meta.selectors.history_start_seq`), is told the message does not exist (404), whatever
they asked. `actor=None` is a staff moderator (the Django admin): deleting only, shown as
`by` 0 and `sender_id` 0 on the wire, as in notices.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from attachments.services import attachments_release
from chatproject.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from chatproject.timefmt import unix_ms
from meta.models import Membership, Role, Room, User
from meta.selectors import history_start_seq
from send.content import content_validate
from send.models import Mention, Message, MessageUpdate, Reaction, UpdateEvent
from send.push import update_publish
from send.representation import MessageObject, message_details, message_object, update_frame
from send.services import search_vector_of

REACTION_KEY_MAX = 32
REACTION_KEYS_MAX = 20
PINS_MAX = 50


@dataclass(frozen=True)
class UpdateResult:
    """The message after the request, and the seq its update took (None: nothing changed)."""

    message: MessageObject
    seq: int | None


class _Unchanged(Exception):
    """Nothing to change: rolls the transaction (and the seq it took) back."""

    def __init__(self, message: Message) -> None:
        super().__init__()
        self.message = message


@dataclass
class _Target:
    """A message under its room's lock, with the seq an update of it would take, the room's
    members (their room attached, for `history_start_seq`) and the actor's membership."""

    message: Message
    seq: int
    room: Room
    members: list[Membership]
    mine: Membership | None


def _not_found(message_id: int) -> NotFound:
    return NotFound(f"message {message_id} does not exist")


def _lock(*, actor: User | None, message_id: int) -> _Target:
    """Take the next seq of the message's room (locking the room row until commit; an update is
    activity, so the room's `last_activity_at` moves too) and read the message under that lock.
    Raises NotFound: no such message, or the actor may not see it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + 1, last_activity_at = %s "  # noqa: S608
            f"WHERE id = (SELECT room_id FROM {Message._meta.db_table} WHERE id = %s) RETURNING id, last_seq",
            [timezone.now(), message_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise _not_found(message_id)
    room_id, seq = row
    message = Message.objects.get(pk=message_id)
    room = Room.objects.get(pk=room_id)
    members = list(Membership.objects.filter(room_id=room_id))
    for membership in members:
        membership.room = room
    mine = None
    if actor is not None:
        mine = next((m for m in members if m.user_id == actor.pk), None)
        if mine is None or message.seq <= history_start_seq(membership=mine):
            raise _not_found(message_id)
    return _Target(message=message, seq=seq, room=room, members=members, mine=mine)


def _record(
    target: _Target,
    *,
    event: UpdateEvent,
    actor: User | None,
    payload: dict[str, Any],
    by_staff: bool = False,
    previous_content: Any = None,
) -> UpdateResult:
    """Store the update (seq `target.seq`) of the already changed `target.message` and publish
    it after commit: the full frame to the members who may see the message, one without it
    (`payload.message` None) to the others."""
    message = target.message
    update = MessageUpdate.objects.create(
        room_id=target.room.pk,
        seq=target.seq,
        message=message,
        actor=actor,
        by_staff=by_staff,
        event=event,
        payload=payload,
        previous_content=previous_content,
    )
    obj = message_object(message, message_details([message.pk]))
    everyone = [m.user_id for m in target.members]
    hidden = [m.user_id for m in target.members if message.seq <= history_start_seq(membership=m)]
    frame, hidden_frame = update_frame(update, obj), update_frame(update, None)
    sent_at_ms = unix_ms(update.created_at)

    def publish() -> None:
        update_publish(
            room_id=update.room_id,
            seq=update.seq,
            msg_id=message.pk,
            actor_id=frame["sender_id"],
            frame=frame,
            hidden_frame=hidden_frame,
            user_ids=everyone,
            hidden_user_ids=hidden,
            sent_at_ms=sent_at_ms,
        )

    transaction.on_commit(publish)
    return UpdateResult(message=obj, seq=update.seq)


def _unchanged_result(message: Message) -> UpdateResult:
    return UpdateResult(message=message_object(message, message_details([message.pk])), seq=None)


def _window_passed(message: Message, seconds: int) -> bool:
    return seconds > 0 and timezone.now() - message.created_at > timedelta(seconds=seconds)


# --- edit -------------------------------------------------------------------------------------


def message_edit(*, actor: User, message_id: int, content: Any) -> UpdateResult:
    """Replace the content of the actor's own message (API.md §8.3), keeping the replaced one
    for the admin's history.

    Raises InvalidInput (content, or another content type), NotFound (no message the actor may
    see), Forbidden (not the sender, or MESSAGE_EDIT_WINDOW_SECONDS passed), Conflict (deleted).
    The same content again changes nothing. Emits an `edit` update.
    """
    content = content_validate(content)
    try:
        with transaction.atomic():
            target = _lock(actor=actor, message_id=message_id)
            message = target.message
            if message.sender_id != actor.pk:
                raise Forbidden("only the sender of a message may edit it")
            if message.deleted:
                raise Conflict(f"message {message_id} was deleted")
            if _window_passed(message, settings.MESSAGE_EDIT_WINDOW_SECONDS):
                raise Forbidden(
                    f"a message can be edited within {settings.MESSAGE_EDIT_WINDOW_SECONDS} seconds of sending"
                )
            kind = message.content["type"]
            if content["type"] != kind:
                reason = f"must stay {kind!r}: an edit keeps the message's type"
                raise InvalidInput(f"content.type: {reason}", errors={"content.type": [reason]})
            if content == message.content:
                raise _Unchanged(message)
            previous = message.content
            message.content, message.edited_at = content, timezone.now()
            Message.objects.filter(pk=message.pk).update(
                content=content, edited_at=message.edited_at, search_vector=search_vector_of(content)
            )
            attachments_release(content=previous)
            return _record(target, event=UpdateEvent.EDIT, actor=actor, payload={}, previous_content=previous)
    except _Unchanged as unchanged:
        return _unchanged_result(unchanged.message)


# --- delete for everyone ------------------------------------------------------------------------


def message_delete(*, actor: User | None, message_id: int, moderator: User | None = None) -> UpdateResult:
    """Delete a message for everyone (API.md §8.3): its sender within
    MESSAGE_DELETE_WINDOW_SECONDS, a member who outranks its sender at any time (the owner
    anyone's, an admin plain members'; a sender who left counts as a plain member), or staff
    (`actor=None`, recorded as `moderator`).

    The content is erased from the database, not hidden: the message's content and search
    vector, the content its edits replaced, its mentions, its reactions and its pin go; it keeps
    its place (id, seq, sender, times). Raises NotFound (no message the actor may see) and
    Forbidden. Deleting a deleted message changes nothing. Emits a `delete` update (`by`: the
    actor, 0 for staff).
    """
    try:
        with transaction.atomic():
            target = _lock(actor=actor, message_id=message_id)
            message = target.message
            if message.deleted:
                raise _Unchanged(message)
            if actor is not None:
                _delete_permission_check(target, actor=actor)
            attachments_release(content=message.content)
            message.content, message.deleted_at = None, timezone.now()
            message.mention_all, message.pinned_seq = False, None
            Message.objects.filter(pk=message.pk).update(
                content=None, deleted_at=message.deleted_at, search_vector=None, mention_all=False, pinned_seq=None
            )
            MessageUpdate.objects.filter(message_id=message.pk, previous_content__isnull=False).update(
                previous_content=None
            )
            Reaction.objects.filter(message_id=message.pk).delete()
            Mention.objects.filter(message_id=message.pk).delete()
            return _record(
                target,
                event=UpdateEvent.DELETE,
                actor=actor if actor is not None else moderator,
                by_staff=actor is None,
                payload={"by": actor.pk if actor is not None else 0},
            )
    except _Unchanged as unchanged:
        return _unchanged_result(unchanged.message)


def _delete_permission_check(target: _Target, *, actor: User) -> None:
    message, mine = target.message, target.mine
    assert mine is not None  # `_lock` found the actor's membership
    if message.sender_id == actor.pk and not _window_passed(message, settings.MESSAGE_DELETE_WINDOW_SECONDS):
        return
    sender = next((m for m in target.members if m.user_id == message.sender_id), None)
    sender_role = sender.role if sender is not None else Role.MEMBER
    if mine.role < sender_role:
        return
    if message.sender_id == actor.pk:
        raise Forbidden(
            f"a message can be deleted by its sender within {settings.MESSAGE_DELETE_WINDOW_SECONDS} seconds of sending"
        )
    raise Forbidden("only the sender, or a member whose role is above the sender's, may delete a message")


# --- reactions ---------------------------------------------------------------------------------


def reaction_key_validate(key: Any) -> str:
    """A reaction key: one emoji or a short token, 1 to 32 code points, no whitespace or
    control characters; raises InvalidInput."""
    if not isinstance(key, str) or not 1 <= len(key) <= REACTION_KEY_MAX:
        reason = f"must be 1 to {REACTION_KEY_MAX} characters"
        raise InvalidInput(f"key: {reason}", errors={"key": [reason]})
    if any(char.isspace() or unicodedata.category(char) in {"Cc", "Cs", "Zs", "Zl", "Zp"} for char in key):
        reason = "must not contain whitespace or control characters"
        raise InvalidInput(f"key: {reason}", errors={"key": [reason]})
    return key


def message_react(*, actor: User, message_id: int, key: Any, on: bool = True) -> UpdateResult:
    """Add (`on`) or remove the actor's reaction `key` to a message they may see (API.md §8.3).

    Raises InvalidInput (key), NotFound (no message the actor may see), Conflict (deleted, or a
    21st distinct key). Adding a reaction that is there, or removing one that is not, changes
    nothing. Emits a `reaction` update (`key`, `user_id`, `on`).
    """
    key = reaction_key_validate(key)
    try:
        with transaction.atomic():
            target = _lock(actor=actor, message_id=message_id)
            message = target.message
            if message.deleted:
                raise Conflict(f"message {message_id} was deleted")
            mine = Reaction.objects.filter(message_id=message.pk, user_id=actor.pk, key=key)
            if on:
                if mine.exists():
                    raise _Unchanged(message)
                keys = set(Reaction.objects.filter(message_id=message.pk).values_list("key", flat=True).distinct())
                if key not in keys and len(keys) >= REACTION_KEYS_MAX:
                    raise Conflict(f"a message has at most {REACTION_KEYS_MAX} different reactions")
                Reaction.objects.create(room_id=target.room.pk, message=message, user=actor, key=key)
            elif not mine.delete()[0]:
                raise _Unchanged(message)
            payload = {"key": key, "user_id": actor.pk, "on": on}
            return _record(target, event=UpdateEvent.REACTION, actor=actor, payload=payload)
    except _Unchanged as unchanged:
        return _unchanged_result(unchanged.message)


# --- pins ----------------------------------------------------------------------------------------


def message_pin(*, actor: User, message_id: int, pinned: bool = True) -> UpdateResult:
    """Pin (or unpin) a message of the room; owner and admins only, at most 50 pinned per room
    (API.md §8.3).

    Raises NotFound (no message the actor may see), Forbidden (not owner or admin), Conflict
    (pinning a deleted message, or a 51st). Pinning a pinned message, or unpinning one that is
    not, changes nothing. Emits a `pin` update (`pinned`).
    """
    try:
        with transaction.atomic():
            target = _lock(actor=actor, message_id=message_id)
            message, mine = target.message, target.mine
            assert mine is not None
            if mine.role > Role.ADMIN:
                raise Forbidden(f"only the owner or an admin of room {target.room.pk} can pin messages")
            if (message.pinned_seq is not None) == pinned:
                raise _Unchanged(message)
            if pinned:
                if message.deleted:
                    raise Conflict(f"message {message_id} was deleted")
                count = Message.objects.filter(room_id=target.room.pk, pinned_seq__isnull=False).count()
                if count >= PINS_MAX:
                    raise Conflict(f"a room has at most {PINS_MAX} pinned messages: unpin one first")
            message.pinned_seq = target.seq if pinned else None
            Message.objects.filter(pk=message.pk).update(pinned_seq=message.pinned_seq)
            return _record(target, event=UpdateEvent.PIN, actor=actor, payload={"pinned": pinned})
    except _Unchanged as unchanged:
        return _unchanged_result(unchanged.message)
