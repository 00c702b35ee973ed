"""The chat list (API.md §2 and §7.3): every room the user is in, with what a chat list shows
on every screen: how far they read, how many messages wait for them and how many of those
mention them, the room's last message as it is now, and when the room was last active.

One request costs a fixed number of queries whatever the number of rooms: one statement for
the memberships with their counts and last message ids (correlated subqueries, each an index
range over `(room, seq)`), one for those messages, and two for their reactions and mentions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import BigIntegerField, Case, Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce

from meta.models import Membership
from send.models import Mention, Message
from send.representation import MessageObject, message_objects


@dataclass(frozen=True)
class JoinedRoom:
    id: int
    name: str
    is_group: bool
    role: int
    last_seq: int
    read_seq: int
    unread: int
    mentions: int
    last_message: MessageObject | None
    last_activity_at: datetime


def _count(messages: Q | None, user_id: int) -> Coalesce:
    """The number of the member's unread messages of the outer membership's room: above its
    `read_seq`, sent by someone else, not deleted; narrowed by `messages` when given."""
    rows = Message.objects.filter(room_id=OuterRef("room_id"), seq__gt=OuterRef("read_seq"), deleted_at__isnull=True)
    rows = rows.exclude(sender_id=user_id)
    if messages is not None:
        rows = rows.filter(messages)
    counted = rows.order_by().values("room_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def rooms_joined(*, user_id: int) -> list[JoinedRoom]:
    """The user's rooms, most recently active first (the room id breaks ties, newest first).

    `read_seq` is never below the member's join: what was there before they came is not unread.
    `last_message` is the room's last message the member may see (`history_start_seq`), deleted
    ones included (shown deleted), or None.
    """
    mentioned = Exists(Mention.objects.filter(message_id=OuterRef("pk"), user_id=user_id))
    last_visible = (
        Message.objects.filter(room_id=OuterRef("room_id"), seq__gt=OuterRef("history_start"))
        .order_by("-seq")
        .values("pk")[:1]
    )
    # Plain rows, not model instances: building a thousand Membership and Room objects would
    # cost more than the statement itself.
    memberships = list(
        Membership.objects.filter(user_id=user_id)
        .annotate(
            # meta.selectors.history_start_seq, as a column
            history_start=Case(
                When(room__history_visible=True, then=Value(0)), default=F("joined_seq"), output_field=BigIntegerField()
            ),
            activity=Coalesce("room__last_activity_at", "room__created_at"),
        )
        .annotate(
            unread=_count(None, user_id),
            mentions=_count(Q(mention_all=True) | Q(mentioned), user_id),
            last_message_id=Subquery(last_visible, output_field=IntegerField()),
        )
        .order_by("-activity", "-room_id")
        .values_list(
            "room_id",
            "room__name",
            "room__is_group",
            "role",
            "room__last_seq",
            "read_seq",
            "unread",
            "mentions",
            "last_message_id",
            "activity",
        )
    )
    last_ids = [row[8] for row in memberships if row[8] is not None]
    # The search vector is never shown: not fetched.
    messages = {m.pk: m for m in Message.objects.filter(pk__in=last_ids).defer("search_vector")}
    objects = {obj["id"]: obj for obj in message_objects([messages[pk] for pk in last_ids if pk in messages])}
    return [
        JoinedRoom(
            id=room_id,
            name=name,
            is_group=is_group,
            role=role,
            last_seq=last_seq,
            read_seq=read_seq,
            unread=unread,
            mentions=mentions,
            last_message=objects.get(last_id) if last_id is not None else None,
            last_activity_at=activity,
        )
        for room_id, name, is_group, role, last_seq, read_seq, unread, mentions, last_id, activity in memberships
    ]
