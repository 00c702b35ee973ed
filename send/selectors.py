"""Reads of the send service: room history, the timeline (events, what each member is owed),
search and pins.

Whether a member sees a message is decided in one place, `meta.selectors.history_start_seq`:
they see the room's timeline after that seq. Every reader here goes through it, and every read
of a page is a fixed number of queries, whatever its length (the representation reads the
reactions and mentions of a whole page at once).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Q

from meta.models import Membership
from meta.selectors import history_start_seq, membership_get_for_member
from send.models import Message, MessageUpdate
from send.representation import (
    MessageObject,
    TimelineFrame,
    chat_frame,
    message_details,
    message_object,
    message_objects,
    update_frame,
)

HISTORY_LIMIT_DEFAULT = 50
HISTORY_LIMIT_MAX = 200
EVENTS_LIMIT_DEFAULT = 100
EVENTS_LIMIT_MAX = 500
SEARCH_LIMIT_DEFAULT = 20
SEARCH_LIMIT_MAX = 100
SEARCH_QUERY_MAX = 200
SEARCH_OFFSET_MAX = 100_000


@dataclass(frozen=True)
class HistoryPage:
    messages: list[MessageObject]
    has_more: bool


def message_history(
    *, user_id: int, room_id: int, after_seq: int | None, before_seq: int | None, limit: int
) -> HistoryPage:
    """A page of a room's history for a member, in seq order, every message as it is now (a
    deleted one keeps its place without content), never from before they may see.

    With `after_seq` (and no `before_seq`): the oldest `limit` messages after it, `has_more`
    telling whether newer ones follow (paging forward). Otherwise: the newest `limit` messages
    (below `before_seq` when given), `has_more` telling whether older ones exist (scrolling back).
    Raises NotFound (no such room) or Forbidden (not a member). Four queries.
    """
    membership = membership_get_for_member(user_id=user_id, room_id=room_id)
    rows = Message.objects.filter(room_id=room_id, seq__gt=history_start_seq(membership=membership))
    if after_seq is not None:
        rows = rows.filter(seq__gt=after_seq)
    if before_seq is not None:
        rows = rows.filter(seq__lt=before_seq)
    if after_seq is not None and before_seq is None:
        page = list(rows.order_by("seq")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
    else:
        page = list(rows.order_by("-seq")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit][::-1]
    return HistoryPage(messages=message_objects(page), has_more=has_more)


# --- the timeline ------------------------------------------------------------------------------


def _timeline_frames(
    *, room_id: int, visible_after: int, after_seq: int, upto_seq: int | None, limit: int
) -> list[TimelineFrame]:
    """The room's timeline entries with `after_seq < seq (<= upto_seq)` as frames, oldest first,
    at most `limit`, every message as it is now; an update's target is shown only when its seq
    is above `visible_after` (else `payload.message` is None). At most five queries."""
    seqs = Q(room_id=room_id, seq__gt=after_seq)
    if upto_seq is not None:
        seqs &= Q(seq__lte=upto_seq)
    messages = list(Message.objects.filter(seqs).order_by("seq")[:limit])
    updates = list(MessageUpdate.objects.filter(seqs).order_by("seq")[:limit])
    entries: list[Message | MessageUpdate] = sorted([*messages, *updates], key=lambda entry: entry.seq)[:limit]
    by_id = {m.pk: m for m in messages}
    missing = {u.message_id for u in updates if u.message_id not in by_id}
    if missing:
        by_id.update((m.pk, m) for m in Message.objects.filter(pk__in=missing))
    shown = [m for m in by_id.values() if m.seq > visible_after]
    details = message_details(m.pk for m in shown)
    objects = {m.pk: message_object(m, details) for m in shown}
    frames = []
    for entry in entries:
        if isinstance(entry, Message):
            frame = chat_frame(objects[entry.pk])
            frames.append(TimelineFrame(seq=entry.seq, msg_id=entry.pk, update=False, frame=frame))
        else:
            target = objects.get(entry.message_id)
            frames.append(
                TimelineFrame(seq=entry.seq, msg_id=entry.message_id, update=True, frame=update_frame(entry, target))
            )
    return frames


def timeline_frames_between(
    *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
) -> list[TimelineFrame]:
    """The room's timeline entries with `after_seq < seq <= upto_seq` as frames for `user_id`,
    oldest first, at most `limit`: what a socket is owed (batch frames, gap fills). `chat`
    frames and update frames show every message as it is now, an update's target only when the
    member may see it; nothing from before the member may see, nothing for a non-member. At
    most six queries."""
    membership = Membership.objects.select_related("room").filter(user_id=user_id, room_id=room_id).first()
    if membership is None:
        return []
    visible_after = history_start_seq(membership=membership)
    return _timeline_frames(
        room_id=room_id,
        visible_after=visible_after,
        after_seq=max(after_seq, visible_after),
        upto_seq=upto_seq,
        limit=limit,
    )


@dataclass(frozen=True)
class EventsPage:
    events: list[dict[str, Any]]
    last_seq: int
    has_more: bool


def room_events(*, user_id: int, room_id: int, after_seq: int, limit: int) -> EventsPage:
    """The room's timeline for a member catching up over HTTP (API.md §7.1): the `chat` and
    `update` frames with seq > `after_seq`, oldest first, at most `limit`, from where the
    member may see onward; `last_seq` is the room's newest seq (updates count), `has_more`
    whether entries up to it remain. Raises NotFound (room) or Forbidden (not a member). At
    most six queries."""
    membership = membership_get_for_member(user_id=user_id, room_id=room_id)
    visible_after = history_start_seq(membership=membership)
    last_seq = membership.room.last_seq
    frames = _timeline_frames(
        room_id=room_id,
        visible_after=visible_after,
        after_seq=max(after_seq, visible_after),
        upto_seq=last_seq,
        limit=limit + 1,
    )
    return EventsPage(events=[f.frame for f in frames[:limit]], last_seq=last_seq, has_more=len(frames) > limit)


# --- search and pins ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchPage:
    messages: list[MessageObject]
    has_more: bool


_WORDS = re.compile(r"\w+")


def _visible_in(memberships: Iterable[Membership]) -> Q | None:
    """Messages these memberships' users may see: one condition per distinct start seq."""
    rooms_by_start: dict[int, list[int]] = defaultdict(list)
    for membership in memberships:
        rooms_by_start[history_start_seq(membership=membership)].append(membership.room_id)
    condition = None
    for start, room_ids in rooms_by_start.items():
        part = Q(room_id__in=room_ids, seq__gt=start)
        condition = part if condition is None else condition | part
    return condition


def message_search(*, user_id: int, q: str, room_id: int | None, limit: int, offset: int) -> SearchPage:
    """Text messages of the user's rooms (or of `room_id`) matching `q`, newest first, never
    deleted ones, never from before the user may see (API.md §8.4).

    On PostgreSQL `q` is a web search query (words, "quoted phrases", `or`, `-word`) matched
    against each message's `tsvector` in the MESSAGE_SEARCH_CONFIG configuration (GIN index):
    whole words in any form that configuration knows. Elsewhere every word of `q` must occur
    in the text, without regard to case. Raises NotFound / Forbidden for a `room_id` the user
    is not in. Four or five queries.
    """
    if room_id is not None:
        memberships: list[Membership] = [membership_get_for_member(user_id=user_id, room_id=room_id)]
    else:
        memberships = list(Membership.objects.filter(user_id=user_id).select_related("room"))
    visible = _visible_in(memberships)
    if visible is None:
        return SearchPage(messages=[], has_more=False)
    rows = Message.objects.filter(visible, deleted_at__isnull=True)
    if connection.vendor == "postgresql":
        rows = rows.filter(search_vector=SearchQuery(q, config=settings.MESSAGE_SEARCH_CONFIG, search_type="websearch"))
    else:
        words = _WORDS.findall(q)
        if not words:
            return SearchPage(messages=[], has_more=False)
        rows = rows.filter(content__type="text")
        for word in words:
            rows = rows.filter(content__text__icontains=word)
    page = list(rows.order_by("-created_at", "-id")[offset : offset + limit + 1])
    return SearchPage(messages=message_objects(page[:limit]), has_more=len(page) > limit)


def pins_list(*, user_id: int, room_id: int) -> list[MessageObject]:
    """The room's pinned messages the member may see, most recently pinned first (at most
    PINS_MAX). Raises NotFound (room) or Forbidden (not a member). Four queries."""
    membership = membership_get_for_member(user_id=user_id, room_id=room_id)
    rows = Message.objects.filter(
        room_id=room_id, pinned_seq__isnull=False, seq__gt=history_start_seq(membership=membership)
    ).order_by("-pinned_seq")
    return message_objects(list(rows))
