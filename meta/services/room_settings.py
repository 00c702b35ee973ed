"""Group settings and invite links (API.md §9): name, join policy, announcements only,
visible history; links that let anyone join until they expire, are used up or revoked.

Every change takes the room's row lock first, as every membership change does (see
`meta.services._common`). `actor=None` is a staff moderator.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from chatproject.exceptions import InvalidInput, NotFound
from meta import notices
from meta.models import Invite, JoinPolicy, Membership, Role, Room, User
from meta.selectors import membership_find, membership_require_role
from meta.services._common import group_lock, has_control_characters, membership_get_or_create, room_lock

ROOM_NAME_MAX = Room._meta.get_field("name").max_length
INVITE_EXPIRES_DEFAULT = 7 * 24 * 3600
INVITE_EXPIRES_MAX = 30 * 24 * 3600
INVITE_USES_MAX = 2_147_483_647
INVITE_GONE = "this invite link is {what}: ask for a new one"


def room_settings_change(
    *,
    actor: User | None,
    room_id: int,
    name: str | None = None,
    join_policy: str | None = None,
    announcement_only: bool | None = None,
    history_visible: bool | None = None,
) -> Room:
    """Change a group's settings; the owner and admins may (staff too, who may also rename a
    private room). Settings left None stay. When something changed, every member receives a
    `settings_changed` notice with the room's settings and what changed.

    `announcement_only`: only the owner and admins send. `history_visible`: every member,
    new ones included, sees the whole timeline (`meta.selectors.history_start_seq`).

    Raises InvalidInput (name empty, too long or with control characters, unknown join policy,
    a private room), NotFound (room), Forbidden (neither owner nor admin, or not a member).
    """
    if name is not None:
        if not name.strip() or len(name) > ROOM_NAME_MAX:
            raise InvalidInput(f"a room name has 1 to {ROOM_NAME_MAX} characters")
        if has_control_characters(name):
            raise InvalidInput("a room name must not contain control characters")
    if join_policy is not None and join_policy not in JoinPolicy.values:
        raise InvalidInput(f"join_policy must be one of {', '.join(JoinPolicy.values)}")
    wanted = {
        "name": name,
        "join_policy": join_policy,
        "announcement_only": announcement_only,
        "history_visible": history_visible,
    }
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        changed = [field for field, value in wanted.items() if value is not None and getattr(room, field) != value]
        if actor is not None:
            group_lock(room_id=room_id, refusal="its settings apply to groups only", actor=actor)
        elif not room.is_group and (group_settings := [field for field in changed if field != "name"]):
            raise InvalidInput(f"room {room_id} is a private room: {group_settings[0]} applies to groups only")
        membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="change its settings")
        if changed:
            for field in changed:
                setattr(room, field, wanted[field])
            room.save(update_fields=changed)
            notices.settings_changed(room=room, changed=changed, actor=actor)
    return room


def invite_create(
    *, actor: User | None, room_id: int, expires_in: int = INVITE_EXPIRES_DEFAULT, max_uses: int | None = None
) -> Invite:
    """A new invite link for a group, owner and admins only: anyone with its code joins with
    `room_join_by_invite` (approval groups too) for `expires_in` seconds (1 to 30 days), at
    most `max_uses` times (None: unlimited).

    Raises InvalidInput (bad expiry or max_uses, a private room), NotFound (room), Forbidden.
    """
    if not 1 <= expires_in <= INVITE_EXPIRES_MAX:
        raise InvalidInput(f"expires_in is 1 to {INVITE_EXPIRES_MAX} seconds")
    if max_uses is not None and not 1 <= max_uses <= INVITE_USES_MAX:
        raise InvalidInput(f"max_uses is 1 to {INVITE_USES_MAX}, or null for unlimited")
    with transaction.atomic():
        room = group_lock(room_id=room_id, refusal="it has no invite links", actor=actor)
        membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="create invite links")
        return Invite.objects.create(
            room=room,
            code=secrets.token_urlsafe(16),
            created_by=actor,
            expires_at=timezone.now() + timedelta(seconds=expires_in),
            max_uses=max_uses,
        )


def invite_revoke(*, actor: User | None, code: str) -> Invite:
    """Revoke an invite link (owner and admins of its room); revoking it again changes
    nothing. Raises NotFound (no such code, or the actor is not in its room), Forbidden."""
    room_id = Invite.objects.filter(code=code).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound("no invite link has this code")
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        if actor is not None and membership_find(room_id=room.pk, user_id=actor.pk) is None:
            raise NotFound("no invite link has this code")  # outsiders learn nothing of the room
        membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="revoke its invite links")
        invite = Invite.objects.get(code=code)
        if invite.revoked_at is None:
            invite.revoked_at = timezone.now()
            invite.save(update_fields=["revoked_at"])
    return invite


def room_join_by_invite(*, actor: User, code: str) -> Membership:
    """Join the group of an invite link, whatever its join policy; a member already gets their
    membership back, and no use is counted. Each new member counts one use.

    Raises NotFound for an unknown, expired, used-up or revoked code (saying which).
    """
    room_id = Invite.objects.filter(code=code).values_list("room_id", flat=True).first()
    if room_id is None:
        raise NotFound("no invite link has this code")
    with transaction.atomic():
        room = room_lock(room_id=room_id)  # every use of the room's links happens under it
        existing = membership_find(room_id=room.pk, user_id=actor.pk)
        if existing is not None:
            return existing
        invite = Invite.objects.get(code=code)
        if invite.revoked_at is not None:
            raise NotFound(INVITE_GONE.format(what="revoked"))
        if invite.expires_at <= timezone.now():
            raise NotFound(INVITE_GONE.format(what="expired"))
        if invite.max_uses is not None and invite.uses >= invite.max_uses:
            raise NotFound(INVITE_GONE.format(what="used up"))
        invite.uses += 1
        invite.save(update_fields=["uses"])
        membership, created = membership_get_or_create(room=room, user_id=actor.pk)
        if created:
            notices.members_added(room_id=room.pk, user_ids=[actor.pk], actor=actor)
    return membership
