"""Reads of the send service: room history, the timeline (events, what each member is owed),
search and pins.

Whether a member sees a message is decided in one place, `meta.selectors.history_start_seq`:
they see the room's timeline after that seq. Every reader here goes through it, and every read
of a page is a fixed number of queries, whatever its length (the representation reads the
reactions and mentions of a whole page at once).
"""

from __future__ import annotations

import bisect
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


@dataclass(frozen=True)
class FramesRequest:
    """What one socket is owed in one room: `timeline_frames_between`'s arguments."""

    user_id: int
    room_id: int
    after_seq: int
    upto_seq: int
    limit: int


@dataclass(frozen=True)
class _Window:
    """A member's slice of a room's timeline: entries with `after_seq < seq (<= upto_seq)`, at
    most `limit`; an update's target is shown only when its seq is above `visible_after`."""

    room_id: int
    visible_after: int
    after_seq: int
    upto_seq: int | None
    limit: int


@dataclass(frozen=True)
class _Fetch:
    """One range read for windows of a room that start close together (see `_fetches`)."""

    room_id: int
    after_seq: int
    upto_seq: int | None
    limit: int


def _fetches(windows: Iterable[_Window]) -> list[_Fetch]:
    """The reads that cover every window exactly: windows of a room are read together while each
    starts at most L (the group's largest limit) above the group's first start, 2L rows from it.
    Exact: at most L entries lie between the group's start and a window's (seqs are distinct
    integers), so the read holds the L entries after each window's start, where there are any."""
    by_room: dict[int, list[_Window]] = defaultdict(list)
    for window in windows:
        by_room[window.room_id].append(window)
    fetches = []
    for room_id, group in by_room.items():
        group.sort(key=lambda w: w.after_seq)
        first, limit, uppers = group[0].after_seq, 0, []
        for window in group:
            if uppers and window.after_seq - first > max(limit, window.limit):
                fetches.append(_Fetch(room_id, first, None if None in uppers else max(uppers), 2 * limit))
                first, limit, uppers = window.after_seq, 0, []
            limit = max(limit, window.limit)
            uppers.append(window.upto_seq)
        fetches.append(_Fetch(room_id, first, None if None in uppers else max(uppers), 2 * limit))
    return fetches


# PostgreSQL: the ranges as arrays, each read by a LATERAL subquery with its own order and
# limit. One fixed statement whatever the number of ranges: building a UNION of querysets with
# the ORM was a fifth of a gateway's time while its clients came back (issue 15).
_RANGES_SQL = """
SELECT t.* FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::integer[]) AS f(room_id, after_seq, upto_seq, lim)
CROSS JOIN LATERAL (
    SELECT * FROM {table} AS r
    WHERE r.room_id = f.room_id AND r.seq > f.after_seq AND (f.upto_seq IS NULL OR r.seq <= f.upto_seq)
    ORDER BY r.seq LIMIT f.lim
) AS t
"""


def _read(model: type[Message] | type[MessageUpdate], fetches: list[_Fetch]) -> list[Any]:
    """Every fetch's rows of `model`: on PostgreSQL in one query (`_RANGES_SQL`); elsewhere a
    UNION ALL of the ranges, each ordered and limited, or, where the database cannot limit the
    parts of a UNION (SQLite, for development), one query per range."""
    if connection.vendor == "postgresql" and fetches:
        sql = _RANGES_SQL.format(table=connection.ops.quote_name(model._meta.db_table))
        params = [
            [f.room_id for f in fetches],
            [f.after_seq for f in fetches],
            [f.upto_seq for f in fetches],
            [f.limit for f in fetches],
        ]
        return list(model.objects.raw(sql, params))
    parts = []
    for fetch in fetches:
        rows = model.objects.filter(room_id=fetch.room_id, seq__gt=fetch.after_seq)
        if fetch.upto_seq is not None:
            rows = rows.filter(seq__lte=fetch.upto_seq)
        parts.append(rows.order_by("seq")[: fetch.limit])
    if len(parts) == 1:
        return list(parts[0])
    if not connection.features.supports_slicing_ordering_in_compound:
        return [row for part in parts for row in part]
    return list(parts[0].union(*parts[1:], all=True))


def _windows_frames(windows: list[_Window]) -> list[list[TimelineFrame]]:
    """Each window's timeline entries as frames, oldest first, every message as it is now. At
    most five queries for any number of windows; a message's frame is built once however many
    windows show it."""
    if not windows:
        return []
    fetches = _fetches(windows)
    messages, updates = _read(Message, fetches), _read(MessageUpdate, fetches)
    by_id = {m.pk: m for m in messages}
    missing = {u.message_id for u in updates if u.message_id not in by_id}
    if missing:
        by_id.update((m.pk, m) for m in Message.objects.filter(pk__in=missing))
    lowest = {}
    for window in windows:
        lowest[window.room_id] = min(window.visible_after, lowest.get(window.room_id, window.visible_after))
    shown = [m for m in by_id.values() if m.seq > lowest[m.room_id]]
    details = message_details(m.pk for m in shown)
    objects = {m.pk: message_object(m, details) for m in shown}
    # Each room's entries in seq order (a row read by two fetches counts once).
    entries_of: dict[int, dict[int, Message | MessageUpdate]] = defaultdict(dict)
    for entry in [*messages, *updates]:
        entries_of[entry.room_id][entry.seq] = entry
    timelines = {room_id: sorted(entries.items()) for room_id, entries in entries_of.items()}
    seqs_of = {room_id: [seq for seq, _ in timeline] for room_id, timeline in timelines.items()}
    built: dict[tuple[int, int, bool], TimelineFrame] = {}  # (room, seq, target shown): its frame

    def frame_of(entry: Message | MessageUpdate, visible_after: int) -> TimelineFrame:
        if isinstance(entry, Message):
            key = (entry.room_id, entry.seq, True)
            if key not in built:
                built[key] = TimelineFrame(
                    seq=entry.seq, msg_id=entry.pk, update=False, frame=chat_frame(objects[entry.pk])
                )
            return built[key]
        target = by_id.get(entry.message_id)
        visible = target is not None and target.seq > visible_after
        key = (entry.room_id, entry.seq, visible)
        if key not in built:
            frame = update_frame(entry, objects[entry.message_id] if visible else None)
            built[key] = TimelineFrame(seq=entry.seq, msg_id=entry.message_id, update=True, frame=frame)
        return built[key]

    answers = []
    for window in windows:
        timeline = timelines.get(window.room_id, [])
        first = bisect.bisect_right(seqs_of.get(window.room_id, []), window.after_seq)
        upto = window.upto_seq
        owed = [entry for seq, entry in timeline[first:] if upto is None or seq <= upto][: window.limit]
        answers.append([frame_of(entry, window.visible_after) for entry in owed])
    return answers


def timeline_frames_for_many(requests: list[FramesRequest]) -> list[list[TimelineFrame]]:
    """`timeline_frames_between` for many requests at once (a gateway's sockets catching up
    together after a reconnect storm), one answer per request, in order. At most six queries
    whatever their number: one for the memberships, then `_windows_frames`."""
    if not requests:
        return []
    pairs = {(r.user_id, r.room_id) for r in requests}
    memberships = {
        (m.user_id, m.room_id): m
        for m in Membership.objects.select_related("room").filter(
            user_id__in={u for u, _ in pairs}, room_id__in={r for _, r in pairs}
        )
        if (m.user_id, m.room_id) in pairs
    }
    windows: list[_Window] = []
    asked: list[int | None] = []
    for request in requests:
        membership = memberships.get((request.user_id, request.room_id))
        if membership is None:  # nothing for a non-member
            asked.append(None)
            continue
        visible_after = history_start_seq(membership=membership)
        asked.append(len(windows))
        windows.append(
            _Window(
                room_id=request.room_id,
                visible_after=visible_after,
                after_seq=max(request.after_seq, visible_after),
                upto_seq=request.upto_seq,
                limit=request.limit,
            )
        )
    answers = _windows_frames(windows)
    return [[] if index is None else answers[index] for index in asked]


def timeline_frames_between(
    *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
) -> list[TimelineFrame]:
    """The room's timeline entries with `after_seq < seq <= upto_seq` as frames for `user_id`,
    oldest first, at most `limit`: what a socket is owed (batch frames, gap fills). `chat`
    frames and update frames show every message as it is now, an update's target only when the
    member may see it; nothing from before the member may see, nothing for a non-member. At
    most six queries."""
    request = FramesRequest(user_id=user_id, room_id=room_id, after_seq=after_seq, upto_seq=upto_seq, limit=limit)
    return timeline_frames_for_many([request])[0]


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
    window = _Window(
        room_id=room_id,
        visible_after=visible_after,
        after_seq=max(after_seq, visible_after),
        upto_seq=last_seq,
        limit=limit + 1,
    )
    frames = _windows_frames([window])[0]
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
