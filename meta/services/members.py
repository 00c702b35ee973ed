"""Membership changes: adding, removing, joining, nicknames and roles.

Each service runs in one transaction that locks the room row before it reads memberships
(see `meta.services._common`). Notices to online users belong right after the change, inside
the service, where it is known what changed. `actor=None` is a staff moderator with the
owner's power who still cannot break the room's invariants.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from chatproject.exceptions import Conflict, Forbidden, InvalidInput, NotFound
from meta import notices
from meta.models import JoinPolicy, Membership, Role, Room, User
from meta.selectors import membership_find, membership_require_role
from meta.services._common import (
    group_lock,
    has_control_characters,
    membership_get_or_create,
    membership_require,
    room_lock,
    users_require_exist,
)


@dataclass(frozen=True)
class MembersAdded:
    added: list[int]
    already_members: list[int]


def _group_lock_for_adding(*, actor: User | None, room_id: int) -> Room:
    room = group_lock(room_id=room_id, refusal="members cannot be added", actor=actor)
    membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="add members")
    return room


def member_add(*, actor: User | None, room_id: int, user_id: int) -> Membership:
    """Make `user_id` a member (role 2) of a group; an existing membership is returned as is.

    The actor must be owner or admin. Raises NotFound (room, user), InvalidInput (private
    room), Forbidden (actor not owner or admin).
    """
    with transaction.atomic():
        room = _group_lock_for_adding(actor=actor, room_id=room_id)
        users_require_exist(user_ids=[user_id])
        membership, created = membership_get_or_create(room=room, user_id=user_id)
        if created:
            notices.members_added(room_id=room.pk, user_ids=[user_id], actor=actor)
    return membership


def members_add(*, actor: User | None, room_id: int, user_ids: list[int]) -> MembersAdded:
    """Make each of `user_ids` a member (role 2) of a group, all or none.

    Returns which ids were added and which were members already, in the order given,
    duplicates dropped. Same errors as `member_add`; an unknown user id adds nobody.
    """
    wanted = list(dict.fromkeys(user_ids))
    with transaction.atomic():
        room = _group_lock_for_adding(actor=actor, room_id=room_id)
        users_require_exist(user_ids=wanted)
        present = set(Membership.objects.filter(room=room, user_id__in=wanted).values_list("user_id", flat=True))
        added = [uid for uid in wanted if uid not in present]
        Membership.objects.bulk_create(
            [
                Membership(room=room, user_id=uid, role=Role.MEMBER, joined_seq=room.last_seq, read_seq=room.last_seq)
                for uid in added
            ]
        )
        notices.members_added(room_id=room.pk, user_ids=added, actor=actor)
    return MembersAdded(added=added, already_members=[uid for uid in wanted if uid in present])


def member_remove(*, actor: User | None, room_id: int, target_user_id: int) -> None:
    """Remove `target_user_id` from a group; the actor removing themself is leaving.

    Others may be removed only by someone of a more powerful role (owner > admin > member;
    staff counts as owner). Nobody removes the owner. Raises NotFound (room, target not a
    member), InvalidInput (private rooms keep their two members), Forbidden (not allowed),
    Conflict (the owner leaving, or staff removing the owner: hand ownership on first).
    """
    with transaction.atomic():
        room = group_lock(room_id=room_id, refusal="nobody can leave it or be removed from it", actor=actor)
        leaving = actor is not None and actor.pk == target_user_id
        mine = None
        if not leaving:
            mine = membership_require_role(room=room, actor=actor, min_role=Role.ADMIN, action="remove members")
        target = membership_find(room_id=room.pk, user_id=target_user_id)
        if target is None:
            who = "you are" if leaving else f"user {target_user_id} is"
            raise NotFound(f"{who} not a member of room {room_id}")
        if target.role == Role.OWNER:
            if leaving or actor is None:
                what = f"the owner cannot leave room {room_id}" if leaving else f"the owner of room {room_id} stays"
                raise Conflict(f"{what}: first hand ownership to another member (change_member_role with new_role 0)")
            raise Forbidden(f"nobody can remove the owner of room {room_id}")
        if mine is not None and mine.role >= target.role:
            raise Forbidden("you can only remove members whose role is below yours")
        target.delete()
        notices.member_removed(room_id=room.pk, user_id=target_user_id, actor=actor)


def room_join(*, actor: User, room_id: int) -> Membership:
    """Make the actor a member (role 2) of an open group; a member already gets their
    membership back unchanged.

    Raises NotFound (room), InvalidInput (private room), Forbidden (approval group: file a
    join request instead).
    """
    with transaction.atomic():
        room = group_lock(room_id=room_id, refusal="it cannot be joined", actor=actor, outsider_not_found=True)
        existing = membership_find(room_id=room.pk, user_id=actor.pk)
        if existing is not None:
            return existing
        if room.join_policy == JoinPolicy.APPROVAL:
            raise Forbidden(
                f"room {room_id} admits new members by approval: "
                "file a join request with POST /api/chat/group/join/request"
            )
        membership, created = membership_get_or_create(room=room, user_id=actor.pk)
        if created:
            notices.members_added(room_id=room.pk, user_ids=[actor.pk], actor=actor)
    return membership


def member_nickname_change(*, actor: User, room_id: int, nickname: str) -> Membership:
    """Set the actor's own nickname in a room. Raises NotFound (no room, or not a member),
    InvalidInput (control characters)."""
    if has_control_characters(nickname):
        raise InvalidInput("a nickname must not contain control characters")
    with transaction.atomic():
        room = room_lock(room_id=room_id)
        membership = membership_find(room_id=room.pk, user_id=actor.pk)
        if membership is None:
            raise NotFound(f"you are not a member of room {room_id}")
        membership.nickname = nickname
        membership.save(update_fields=["nickname"])
    return membership


def member_role_change(*, actor: User | None, room_id: int, target_user_id: int, new_role: int) -> Membership:
    """Set a member's role in a group; only the owner (or staff) may.

    `new_role` 1 or 2 makes the target admin or member; 0 hands ownership to the target and the
    old owner becomes admin. Returns the target's membership. Raises NotFound (room, target
    not a member), InvalidInput (private room, unknown role, actor changing their own role),
    Forbidden (actor not the owner), Conflict (staff demoting the owner: a room keeps one).
    """
    if new_role not in Role.values:
        raise InvalidInput("new_role must be 0 (owner), 1 (admin) or 2 (member)")
    with transaction.atomic():
        room = group_lock(room_id=room_id, refusal="roles apply to groups only", actor=actor)
        membership_require_role(room=room, actor=actor, min_role=Role.OWNER, action="change member roles")
        if actor is not None and actor.pk == target_user_id:
            raise InvalidInput(
                "you cannot change your own role; to hand ownership on, give new_role 0 to another member"
            )
        target = membership_require(room=room, user_id=target_user_id)
        if target.role == new_role:
            return target
        if new_role == Role.OWNER:
            # Demote first: the database allows one owner per room at any moment.
            old_owners = list(Membership.objects.filter(room=room, role=Role.OWNER).values_list("user_id", flat=True))
            Membership.objects.filter(room=room, role=Role.OWNER).update(role=Role.ADMIN)
            for old_owner in old_owners:
                notices.role_changed(room_id=room.pk, user_id=old_owner, role=Role.ADMIN, actor=actor)
        elif target.role == Role.OWNER:
            raise Conflict(f"room {room_id} needs an owner: first give new_role 0 to another member")
        target.role = new_role
        target.save(update_fields=["role"])
        notices.role_changed(room_id=room.pk, user_id=target_user_id, role=new_role, actor=actor)
    return target
