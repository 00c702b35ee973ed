"""Writes only staff make, through the Django admin: bans, mutes, room edits and deletion.

The API services (`meta.services`) with `actor=None` cover what staff share with room owners;
these are the rest. Each runs in one transaction; membership and room changes take the room's
row lock first, as every membership change does (see `meta.services._common`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from chatproject.bus import sockets_close_publish_on_commit
from chatproject.exceptions import InvalidInput, NotFound
from chatproject.frames import CLOSE_BANNED
from meta.models import Membership, Room, User
from meta.services._common import membership_require, room_lock
from meta.services.room_settings import room_settings_change
from meta.tokens import refresh_tokens_revoke


def _user_lock(*, user_id: int) -> User:
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _user_banned_set(*, user_id: int, banned: bool) -> User:
    with transaction.atomic():
        user = _user_lock(user_id=user_id)
        if user.is_banned != banned:
            user.is_banned = banned
            user.save(update_fields=["is_banned"])
            if banned:
                refresh_tokens_revoke(user_id=user_id)
                sockets_close_publish_on_commit(user_ids=[user_id], code=CLOSE_BANNED)
    return user


def user_ban(*, user_id: int) -> User:
    """Ban a user: from their next request on, their tokens get 401 (their refresh tokens are
    revoked for good), login 403 and new sockets are refused; sockets already open are closed
    with 4403 (emits a `close` event to their gateways). Banning a banned user changes nothing.

    Raises NotFound (user).
    """
    return _user_banned_set(user_id=user_id, banned=True)


def user_unban(*, user_id: int) -> User:
    """Lift a user's ban; their tokens work again. Unbanning a user who is not banned changes
    nothing. Raises NotFound (user).
    """
    return _user_banned_set(user_id=user_id, banned=False)


def member_mute(*, room_id: int, user_id: int, until: datetime) -> Membership:
    """Mute a member of a room until `until`: the send path refuses their messages (403) until
    then. A later mute replaces an earlier one.

    Raises InvalidInput (`until` naive or not in the future), NotFound (room, not a member).
    """
    if timezone.is_naive(until):
        raise InvalidInput("the end of a mute must be a timezone-aware time")
    if until <= timezone.now():
        raise InvalidInput("the end of a mute must be in the future")
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        membership = membership_require(room=room, user_id=user_id)
        membership.muted_until = until
        membership.save(update_fields=["muted_until"])
    return membership


def member_unmute(*, room_id: int, user_id: int) -> Membership:
    """Lift a member's mute (a member who is not muted stays so). Raises NotFound (room, not a
    member)."""
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        membership = membership_require(room=room, user_id=user_id)
        if membership.muted_until is not None:
            membership.muted_until = None
            membership.save(update_fields=["muted_until"])
    return membership


def room_update(
    *,
    room_id: int,
    name: str,
    join_policy: str,
    announcement_only: bool | None = None,
    history_visible: bool | None = None,
) -> Room:
    """Rename a room and set a group's settings (`room_settings_change` as staff: members get
    a `settings_changed` notice); pending join requests of a group made open stay pending
    until answered.

    Raises InvalidInput (name empty or over 100 characters, unknown join policy, a private
    room's group settings changed), NotFound (room).
    """
    return room_settings_change(
        actor=None,
        room_id=room_id,
        name=name,
        join_policy=join_policy,
        announcement_only=announcement_only,
        history_visible=history_visible,
    )


def room_delete(*, room_id: int) -> None:
    """Delete a room with its memberships, join requests and messages. Raises NotFound (room)."""
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        room.delete()
