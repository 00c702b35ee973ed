"""Presence (API.md §7.4): who is online across the cluster, and the `presence` frames of a
batch of changes. The database work of `gateway.live`; every function runs off the event loop.

A user is online while any socket of theirs is open on a live gateway (the registry's routes),
and through PRESENCE_OFFLINE_GRACE_SECONDS after the last one closed (`User.last_seen`, set when
it closed), so a reconnect does not flap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from chatproject.directory import directory
from chatproject.frames import encode, presence_frame
from chatproject.timefmt import iso_utc
from meta.models import Membership, User

Item = tuple[str, list[int], str | None]


def room_member_ids(*, room_id: int) -> list[int]:
    """The ids of the room's members; [] for an unknown room."""
    return list(Membership.objects.filter(room_id=room_id).values_list("user_id", flat=True))


def users_were_online(*, last_seen: dict[int, datetime | None]) -> set[int]:
    """`user_was_online` for a batch of new sockets, whose users' `last_seen` was read already
    (`{user_id: last_seen}`): those online somewhere or within the grace period. One query."""
    online = directory().user_ids_online(user_ids=list(last_seen))
    now, grace = timezone.now(), timedelta(seconds=settings.PRESENCE_OFFLINE_GRACE_SECONDS)
    return online | {u for u, seen in last_seen.items() if seen is not None and now - seen < grace}


def users_sockets_closed(*, user_ids: Iterable[int]) -> set[int]:
    """`user_socket_closed` for a batch of closed sockets whose routes are removed: those of
    `user_ids` that have no socket left in the cluster (their `last_seen` is now). Two queries."""
    ids = set(user_ids)
    if not ids:
        return set()
    gone = ids - directory().user_ids_online(user_ids=ids)
    if gone:
        User.objects.filter(pk__in=gone).update(last_seen=timezone.now())
    return gone


def users_offline(*, user_ids: list[int]) -> set[int]:
    """At the end of their grace periods: those of `user_ids` with no socket opened since. One
    query for any number."""
    return set(user_ids) - directory().user_ids_online(user_ids=user_ids)


def presence_frames(*, changes: dict[int, bool]) -> list[Item]:
    """One `presence` frame per changed user (`{user_id: online}`), for the members of the rooms
    of at most PRESENCE_MAX_MEMBERS members they belong to. Three queries for any number."""
    users = list(changes)
    small_rooms = (
        Membership.objects.filter(room__memberships__user_id__in=users)
        .values("room_id")
        .annotate(n=Count("id", distinct=True))
        .filter(n__lte=settings.PRESENCE_MAX_MEMBERS)
        .values_list("room_id", flat=True)
    )
    rooms_of: dict[int, set[int]] = defaultdict(set)
    members_of: dict[int, set[int]] = defaultdict(set)
    for room_id, user_id in Membership.objects.filter(room_id__in=list(small_rooms)).values_list("room_id", "user_id"):
        members_of[room_id].add(user_id)
        if user_id in changes:
            rooms_of[user_id].add(room_id)
    last_seen = dict(
        User.objects.filter(pk__in=[u for u, online in changes.items() if not online]).values_list("pk", "last_seen")
    )
    items: list[Item] = []
    for user_id, online in changes.items():
        recipients = set().union(*(members_of[r] for r in rooms_of.get(user_id, ()))) - {user_id}
        if not recipients:
            continue
        seen = None if online else (iso_utc(last_seen[user_id]) if last_seen.get(user_id) else None)
        text = encode(presence_frame(user_id=user_id, online=online, last_seen=seen))
        items.append((text, sorted(recipients), None))
    return items
