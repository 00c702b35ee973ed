"""Read positions (API.md §7.3): how far each member has read each room, never lowered, and the
`read` frames that tell the reader's other sockets and, in small rooms, the other members.

- `POST /api/chat/read` (`room_read`) and sending a message (`send.services.message_send`) move
  a member's `read_seq`. Socket `read` frames are gathered by the gateways and written here in
  batches (`reads_record`): one UPDATE per (room, seq), never one per frame, so a room of
  thousands reading every message costs the database a few statements a second.
- A `read` frame goes to the reader's own sockets (every device; never back to the socket that
  sent the read) and, when the room has at most READ_RECEIPTS_MAX_MEMBERS members and the reader
  shares receipts (`User.share_read_receipts`), to the other members' sockets. Read frames are
  live only: the state is in the listings (`GET /api/joined_rooms`, the members list).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from chatproject.bus import frames_event_for, publish
from chatproject.exceptions import InvalidInput
from chatproject.frames import encode, read_frame
from meta.models import Membership, User
from meta.selectors import membership_get_for_member
from send.models import Message

logger = logging.getLogger(__name__)

# (user_id, room_id, read_seq, the connection that read it or None)
ReadChange = tuple[int, int, int, str | None]


@dataclass(frozen=True)
class ReadResult:
    room_id: int
    read_seq: int
    unread: int


def unread_count(*, user_id: int, room_id: int, read_seq: int) -> int:
    """Messages of the room above `read_seq` sent by someone else (system messages, with no
    sender, included) and not deleted: the same count as the chat list's `unread`."""
    rows = Message.objects.filter(room_id=room_id, seq__gt=read_seq, deleted_at__isnull=True)
    return rows.exclude(sender_id=user_id).count()


def room_read(*, user: User, room_id: int, seq: int) -> ReadResult:
    """Mark `room_id` read by `user` up to `seq` (cumulative: a lower seq changes nothing).
    Raises NotFound (no such room), Forbidden (not a member), InvalidInput (`seq` above the
    room's last). Emits `read` frames after commit when the position moved."""
    membership = membership_get_for_member(user_id=user.pk, room_id=room_id)
    last = membership.room.last_seq
    if seq > last:
        reason = f"is above the room's last seq ({last})"
        raise InvalidInput(f"seq {seq} {reason}", errors={"seq": [reason]})
    with transaction.atomic():
        moved = Membership.objects.filter(pk=membership.pk, read_seq__lt=seq).update(read_seq=seq)
        if moved:
            changes = [(user.pk, room_id, seq, None)]
            transaction.on_commit(lambda: read_frames_publish(changes=changes))
    read_seq = max(membership.read_seq, seq)
    unread = unread_count(user_id=user.pk, room_id=room_id, read_seq=read_seq)
    return ReadResult(room_id=room_id, read_seq=read_seq, unread=unread)


def reads_record(*, reads: Mapping[tuple[int, int], tuple[int, str | None]]) -> int:
    """Raise read positions from the gateways' batches, `{(user_id, room_id): (seq, connection
    that read)}`, never lowering one nor passing a room's last seq, then emit `read` frames for
    those that moved. Returns how many moved."""
    if not reads:
        return 0
    # Two IN lists rather than one (user AND room) clause per read: a thousand readers of a room
    # are one simple statement (an OR of a thousand pairs cost more to build and plan than to
    # run); the rows of other pairs the lists let through are skipped here.
    users = {user_id for user_id, _ in reads}
    rooms = {room_id for _, room_id in reads}
    current = Membership.objects.filter(user_id__in=users, room_id__in=rooms).values_list(
        "user_id", "room_id", "read_seq", "room__last_seq"
    )
    changes: list[ReadChange] = []
    for user_id, room_id, read_seq, last in current:
        read = reads.get((user_id, room_id))
        if read is None:
            continue
        seq, connection = read
        seq = min(seq, last)
        if seq > read_seq:
            changes.append((user_id, room_id, seq, connection))
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for user_id, room_id, seq, _ in changes:
        groups[(room_id, seq)].append(user_id)
    with transaction.atomic():
        for (room_id, seq), user_ids in groups.items():
            Membership.objects.filter(room_id=room_id, user_id__in=user_ids, read_seq__lt=seq).update(read_seq=seq)
    if changes:
        read_frames_publish(changes=changes)
    return len(changes)


def read_frames_publish(*, changes: Iterable[ReadChange]) -> None:
    """The `read` frames of moved read positions: to the reader's own sockets but the one that
    read, and to the other members of small rooms when the reader shares receipts. A few
    queries for any number of changes; never raises (live frames only)."""
    try:
        _read_frames_publish(list(changes))
    except Exception:
        logger.warning("read frames were not published", exc_info=True)


def _read_frames_publish(changes: list[ReadChange]) -> None:
    room_ids = {room_id for _, room_id, _, _ in changes}
    small = set(
        Membership.objects.filter(room_id__in=room_ids)
        .values("room_id")
        .annotate(n=Count("id"))
        .filter(n__lte=settings.READ_RECEIPTS_MAX_MEMBERS)
        .values_list("room_id", flat=True)
    )
    sharing = set(
        User.objects.filter(pk__in={u for u, _, _, _ in changes}, share_read_receipts=True).values_list("pk", flat=True)
    )
    members: dict[int, list[int]] = defaultdict(list)
    shown = {room_id for user_id, room_id, _, _ in changes if room_id in small and user_id in sharing}
    for room_id, user_id in Membership.objects.filter(room_id__in=shown).values_list("room_id", "user_id"):
        members[room_id].append(user_id)
    items: list[tuple[str, list[int], str | None]] = []
    for user_id, room_id, seq, connection in changes:
        text = encode(read_frame(room_id=room_id, user_id=user_id, read_seq=seq))
        items.append((text, [user_id], connection))
        others = [m for m in members.get(room_id, ()) if m != user_id] if user_id in sharing else []
        if others:
            items.append((text, others, None))
    users = {u for _, targets, _ in items for u in targets}
    publish(user_ids=users, event_for=frames_event_for(items))
