"""The one canonical representation of a message (API.md §3 and §8.1) and the frames built from
it (§5.2, §7.1).

HTTP replies, history, events, search, pins, live `chat` and `update` frames and `batch` frames
all come from `message_objects` / `message_object`, so they cannot drift apart. What a message
row does not hold itself (its reactions, its mentions) is read for a whole page at once
(`message_details`: two queries, whatever the number of messages). Frames are encoded to text
once per event, never once per socket (`chatproject.frames.encode`); the frames that are not
about a message live there too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from attachments.signing import content_with_signed_urls
from chatproject.timefmt import iso_utc
from send.models import Mention, Message, MessageUpdate, Reaction

# A reaction summary names at most this many reactors (the first ones).
REACTION_USERS_SHOWN = 20


class ReactionSummary(TypedDict):
    key: str
    count: int
    user_ids: list[int]


class MessageObject(TypedDict):
    id: int
    room_id: int
    sender_id: int
    seq: int
    client_msg_id: str | None
    created_at: str
    content: dict[str, Any] | None
    reply_to: int | None
    mentions: list[int]
    mention_all: bool
    edited_at: str | None
    deleted: bool
    reactions: list[ReactionSummary]
    pinned: bool


@dataclass(frozen=True)
class MessageDetails:
    """What message rows do not hold, per message id: reaction summaries (keys in the order of
    their first reaction) and mentioned user ids (ascending)."""

    reactions: dict[int, list[ReactionSummary]] = field(default_factory=dict)
    mentions: dict[int, list[int]] = field(default_factory=dict)


NO_DETAILS = MessageDetails()


def message_details(message_ids: Iterable[int]) -> MessageDetails:
    """Reactions and mentions of these messages: two queries for any number of them (none for
    no message)."""
    ids = sorted(set(message_ids))
    if not ids:
        return NO_DETAILS
    per_key = [F("message_id"), F("key")]
    reactions = (
        Reaction.objects.filter(message_id__in=ids)
        .annotate(
            rank=Window(RowNumber(), partition_by=per_key, order_by=F("id").asc()),
            total=Window(Count("id"), partition_by=per_key),
        )
        .filter(rank__lte=REACTION_USERS_SHOWN)
        .order_by("message_id", "id")
        .values_list("message_id", "key", "user_id", "total")
    )
    summaries: dict[int, dict[str, ReactionSummary]] = defaultdict(dict)
    for message_id, key, user_id, total in reactions:
        summary = summaries[message_id].get(key)
        if summary is None:
            summary = summaries[message_id][key] = {"key": key, "count": total, "user_ids": []}
        summary["user_ids"].append(user_id)
    mentions: dict[int, list[int]] = defaultdict(list)
    rows = Mention.objects.filter(message_id__in=ids).order_by("message_id", "user_id")
    for message_id, user_id in rows.values_list("message_id", "user_id"):
        mentions[message_id].append(user_id)
    return MessageDetails(
        reactions={message_id: list(keys.values()) for message_id, keys in summaries.items()},
        mentions=dict(mentions),
    )


def message_object(message: Message, details: MessageDetails = NO_DETAILS) -> MessageObject:
    """The message as it is now. `details` must hold its reactions and mentions when it has any
    (`message_details`); a message just sent has none to read."""
    deleted = message.deleted_at is not None
    return {
        "id": message.pk,
        "room_id": message.room_id,
        "sender_id": message.sender_id if message.sender_id is not None else 0,
        "seq": message.seq,
        "client_msg_id": message.client_msg_id,
        "created_at": iso_utc(message.created_at),
        # attachment URLs re-signed (API.md §10); a deleted message has no content
        "content": None if deleted else content_with_signed_urls(message.content),
        "reply_to": message.reply_to_id,
        "mentions": list(details.mentions.get(message.pk, ())),
        "mention_all": message.mention_all,
        "edited_at": iso_utc(message.edited_at) if message.edited_at is not None else None,
        "deleted": deleted,
        "reactions": list(details.reactions.get(message.pk, ())),
        "pinned": message.pinned_seq is not None,
    }


def message_objects(messages: Sequence[Message]) -> list[MessageObject]:
    """Message objects of a page of messages, in the same order: two queries for any number."""
    details = message_details(m.pk for m in messages)
    return [message_object(m, details) for m in messages]


@dataclass(frozen=True, slots=True)
class TimelineFrame:
    """One entry of a room's timeline as a frame for one member: a `chat` frame, or an update
    frame about message `msg_id` (confirmed by a cumulative ack, or by an ack of its id and
    seq, never by an ack of the message id alone)."""

    seq: int
    msg_id: int
    update: bool
    frame: dict[str, Any]


def chat_frame(obj: MessageObject) -> dict[str, Any]:
    """Every field of the message object at the top level, but `content`, which is `payload`
    (API.md §7.1). The fields of the original design come first, unchanged."""
    frame: dict[str, Any] = {
        "id": obj["id"],
        "type": "chat",
        "room_id": obj["room_id"],
        "sender_id": obj["sender_id"],
        "seq": obj["seq"],
        "created_at": obj["created_at"],
        "client_msg_id": obj["client_msg_id"],
    }
    for name, value in obj.items():
        if name not in frame and name != "content":
            frame[name] = value
    frame["payload"] = obj["content"]
    return frame


def update_actor_id(update: MessageUpdate) -> int:
    """Who did it, on the wire: 0 for a staff moderator (as in notices) or a deleted user."""
    if update.by_staff or update.actor_id is None:
        return 0
    return update.actor_id


def update_frame(update: MessageUpdate, target: MessageObject | None) -> dict[str, Any]:
    """The `update` frame of one update (API.md §7.1): `id` is the target message's, `payload`
    the event, its own fields and the target `message` (None for a member who cannot see it)."""
    return {
        "id": update.message_id,
        "type": "update",
        "room_id": update.room_id,
        "sender_id": update_actor_id(update),
        "seq": update.seq,
        "created_at": iso_utc(update.created_at),
        "payload": {"event": update.event, **update.payload, "message": target},
    }


def ack_frame(obj: MessageObject) -> dict[str, Any]:
    return {
        "id": obj["id"],
        "type": "ack",
        "room_id": obj["room_id"],
        "sender_id": 0,
        "seq": obj["seq"],
        "client_msg_id": obj["client_msg_id"],
        "payload": None,
    }
