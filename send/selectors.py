"""Reads of the send service: room history and the timeline as frames (where each member and
device stands is `send.positions`)."""

from __future__ import annotations

from dataclasses import dataclass

from meta.selectors import history_start_seq, membership_get_for_member
from send.models import Message
from send.representation import MessageObject, TimelineFrame, chat_frame, message_object

HISTORY_LIMIT_DEFAULT = 50
HISTORY_LIMIT_MAX = 200


@dataclass(frozen=True)
class HistoryPage:
    messages: list[MessageObject]
    has_more: bool


def message_history(
    *, user_id: int, room_id: int, after_seq: int | None, before_seq: int | None, limit: int
) -> HistoryPage:
    """A page of a room's history for a member, in seq order, never from before they joined.

    With `after_seq` (and no `before_seq`): the oldest `limit` messages after it, `has_more`
    telling whether newer ones follow (paging forward). Otherwise: the newest `limit` messages
    (below `before_seq` when given), `has_more` telling whether older ones exist (scrolling back).
    Raises NotFound (no such room) or Forbidden (not a member).
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
    return HistoryPage(messages=[message_object(m) for m in page], has_more=has_more)


def timeline_frames_between(
    *, user_id: int, room_id: int, after_seq: int, upto_seq: int, limit: int
) -> list[TimelineFrame]:
    """The room's timeline entries with `after_seq < seq <= upto_seq` as frames for `user_id`,
    oldest first, at most `limit`: what a socket is owed (batch frames, gap fills)."""
    rows = Message.objects.filter(room_id=room_id, seq__gt=after_seq, seq__lte=upto_seq).order_by("seq")[:limit]
    return [TimelineFrame(seq=m.seq, msg_id=m.pk, update=False, frame=chat_frame(message_object(m))) for m in rows]
