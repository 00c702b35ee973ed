"""Reads of users, rooms and memberships, with the access checks that guard them.

`actor=None` means a staff moderator acting through the Django admin (owner power in every
room), as in `meta.services`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q
from django.utils import timezone

from chatproject.directory import directory
from chatproject.exceptions import Forbidden, InvalidInput, NotFound
from meta.models import Block, Invite, JoinRequest, JoinRequestStatus, Membership, Role, Room, User
from meta.usernames import username_key


@dataclass(frozen=True)
class RoomMember:
    user_id: int
    username: str
    nickname: str
    role: int
    joined_at: datetime
    online: bool
    last_seen: datetime | None  # when their last socket closed; None while online or never seen
    read_seq: int | None  # how far they read; None when they do not share it with the caller


@dataclass(frozen=True)
class RoomSearchPage:
    rooms: list[Room]  # each annotated with `member_count`
    total: int


def membership_find(*, room_id: int, user_id: int) -> Membership | None:
    return Membership.objects.filter(room_id=room_id, user_id=user_id).first()


def membership_get_for_member(*, user_id: int, room_id: int) -> Membership:
    """The membership of `user_id` in `room_id`, its room loaded along.

    Raises NotFound when the room does not exist and Forbidden when the user is not a member.
    """
    membership = Membership.objects.select_related("room").filter(room_id=room_id, user_id=user_id).first()
    if membership is not None:
        return membership
    if not Room.objects.filter(pk=room_id).exists():
        raise NotFound(f"room {room_id} does not exist")
    raise Forbidden(f"you are not a member of room {room_id}")


def history_start_seq(*, membership: Membership) -> int:
    """The member sees the room's timeline (history, events, search, replies, reactions, pins)
    after this seq: from their join, or from the start when the room's history is visible
    (API.md §9, `history_visible`). One rule for every reader of the timeline."""
    return 0 if membership.room.history_visible else membership.joined_seq


def membership_require_role(*, room: Room, actor: User | None, min_role: Role, action: str) -> Membership | None:
    """The actor's membership in `room` when their role is `min_role` or more powerful.

    None for staff (`actor=None`). Raises Forbidden for a non-member or a weaker role, with
    `action` completing the sentence "only the owner (or an admin) of room N can <action>".
    """
    if actor is None:
        return None
    membership = membership_find(room_id=room.pk, user_id=actor.pk)
    if membership is None:
        raise Forbidden(f"you are not a member of room {room.pk}")
    if membership.role > min_role:
        who = "the owner" if min_role == Role.OWNER else "the owner or an admin"
        raise Forbidden(f"only {who} of room {room.pk} can {action}")
    return membership


def room_members_list(*, user_id: int, room_id: int) -> list[RoomMember]:
    """The members of a room the user belongs to: owner first, then admins, then members,
    each group by joining time. `nickname` is the room nickname if set, else the user's.

    Raises NotFound (no such room) and Forbidden (the user is not a member).
    """
    membership_get_for_member(user_id=user_id, room_id=room_id)
    memberships = list(
        Membership.objects.filter(room_id=room_id).select_related("user").order_by("role", "joined_at", "user_id")
    )
    connected = directory().user_ids_online(user_ids=[m.user_id for m in memberships])
    grace_start = timezone.now() - timedelta(seconds=settings.PRESENCE_OFFLINE_GRACE_SECONDS)
    members = []
    for m in memberships:
        last_seen = m.user.last_seen
        # Online while a socket is open anywhere, and through the grace period after the last.
        online = m.user_id in connected or (last_seen is not None and last_seen > grace_start)
        shown = m.user_id == user_id or m.user.share_read_receipts
        members.append(
            RoomMember(
                user_id=m.user_id,
                username=m.user.username,
                nickname=m.nickname or m.user.nickname,
                role=m.role,
                joined_at=m.joined_at,
                online=online,
                last_seen=None if online else last_seen,
                read_seq=m.read_seq if shown else None,
            )
        )
    return members


def join_requests_pending(*, actor: User | None, room_id: int) -> list[JoinRequest]:
    """The room's pending join requests, oldest first, their users loaded along.

    Raises NotFound (no such room), InvalidInput (a private room) and Forbidden (the actor is
    neither owner nor admin of the room).
    """
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotFound(f"room {room_id} does not exist")
    if not room.is_group:
        # Outsiders learn nothing of a private room: Forbidden as for any room they are not in.
        if actor is not None and membership_find(room_id=room.pk, user_id=actor.pk) is None:
            raise Forbidden(f"you are not a member of room {room_id}")
        raise InvalidInput(f"room {room_id} is a private room: it takes no join requests")
    membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="see its join requests")
    return list(
        JoinRequest.objects.filter(room=room, status=JoinRequestStatus.PENDING).select_related("user").order_by("id")
    )


def room_search(*, q: str, limit: int, offset: int) -> RoomSearchPage:
    """Groups whose name contains `q` without regard to case (`%` and `_` match themselves:
    Django escapes them in `icontains`); all groups when `q` is empty. Ordered by id."""
    groups = Room.objects.filter(is_group=True)
    if q:
        groups = groups.filter(name__icontains=q)
    total = groups.count()
    page = list(groups.annotate(member_count=Count("memberships")).order_by("id")[offset : offset + limit])
    return RoomSearchPage(rooms=page, total=total)


# --- People and safety (API.md §9) ------------------------------------------------------


@dataclass(frozen=True)
class UserSearchPage:
    users: list[User]
    has_more: bool


def user_search(*, q: str, limit: int, offset: int) -> UserSearchPage:
    """Users whose normalised username (NFKC, case folded: `meta.usernames`) starts with `q`'s,
    or whose nickname contains `q` without regard to case; never banned or deactivated users.
    Ordered by normalised username. `%` and `_` in `q` match themselves.

    Indexed on PostgreSQL: the prefix by the username key's `varchar_pattern_ops` index, the
    nickname by a trigram index (migration meta.0004), so it stays fast with many users.
    """
    matches = User.objects.filter(is_banned=False, is_active=True).filter(
        Q(username_key__startswith=username_key(q)) | Q(nickname__icontains=q)
    )
    page = list(matches.order_by("username_key", "id").only("id", "username", "nickname")[offset : offset + limit + 1])
    return UserSearchPage(users=page[:limit], has_more=len(page) > limit)


def users_blocked_by(*, user_id: int) -> list[User]:
    """The users `user_id` blocks, most recently blocked first."""
    return list(
        User.objects.filter(pk__in=Block.objects.filter(blocker_id=user_id).values("blocked_id"))
        .annotate(
            blocked_at=Block.objects.filter(blocker_id=user_id, blocked_id=OuterRef("pk")).values("created_at")[:1]
        )
        .order_by("-blocked_at", "-id")
    )


def user_blocks(*, blocker_id: int, blocked_id: int) -> bool:
    return Block.objects.filter(blocker_id=blocker_id, blocked_id=blocked_id).exists()


def room_sending_check(
    *, room_id: int, sender_id: int, role: int, is_group: bool, announcement_only: bool, member_ids: Collection[int]
) -> None:
    """The rules of API.md §9 on sending, for a member of the room, from what the send path
    has already read (the sender's role, the room's kind and settings, its members; it checks
    membership and mutes first): in an `announcement_only` room only the owner and admins send;
    a private room is frozen while either of its two members blocks the other. No query for a
    group, one for a private room.

    Raises Forbidden, never saying which of the two blocked.
    """
    if is_group:
        if announcement_only and role > Role.ADMIN:
            raise Forbidden(f"room {room_id} is for announcements: only its owner and admins can send")
        return
    others = [user_id for user_id in member_ids if user_id != sender_id]
    if Block.objects.filter(
        Q(blocker_id=sender_id, blocked_id__in=others) | Q(blocked_id=sender_id, blocker_id__in=others)
    ).exists():
        raise Forbidden(f"private room {room_id} is frozen: one of you has blocked the other")


def invites_active(*, actor: User | None, room_id: int) -> list[Invite]:
    """The group's invite links that still admit someone (not expired, used up or revoked),
    newest first. Owner and admins only.

    Raises NotFound (room), InvalidInput (a private room), Forbidden (not owner or admin).
    """
    room = Room.objects.filter(pk=room_id).first()
    if room is None:
        raise NotFound(f"room {room_id} does not exist")
    if not room.is_group:
        if actor is not None and membership_find(room_id=room.pk, user_id=actor.pk) is None:
            raise Forbidden(f"you are not a member of room {room_id}")
        raise InvalidInput(f"room {room_id} is a private room: it has no invite links")
    membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="see its invite links")
    live = Invite.objects.filter(room=room, revoked_at__isnull=True, expires_at__gt=timezone.now()).filter(
        Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses"))
    )
    return list(live.order_by("-id"))
