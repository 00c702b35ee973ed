"""Creating rooms: groups and private (1:1) rooms."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from chatproject.exceptions import Forbidden, InvalidInput
from meta import notices
from meta.models import JoinPolicy, Membership, Role, Room, User
from meta.selectors import user_blocks
from meta.services._common import users_require_exist


def room_create(
    *,
    actor: User,
    name: str,
    member_ids: list[int],
    is_group: bool = False,
    join_policy: str | None = None,
) -> Room:
    """Create a room owned by `actor` (role 0) with `member_ids` as members (role 2).

    Duplicates and the actor's own id in `member_ids` are ignored. A private room
    (`is_group` false) needs exactly one other member and exists once per pair: asking again,
    also concurrently, returns the existing room unchanged. `join_policy` (groups only)
    defaults to open.

    While the other user blocks the actor, the private room is refused (Forbidden, without
    saying who blocked); a blocker gets the room (it stays frozen until they unblock).

    Raises InvalidInput (private room without exactly one other member, join_policy on a
    private room), Forbidden (blocked) and NotFound naming an unknown user id.
    """
    others = list(dict.fromkeys(uid for uid in member_ids if uid != actor.pk))
    if not is_group:
        if join_policy is not None:
            raise InvalidInput("join_policy applies to groups only", errors={"join_policy": ["applies to groups only"]})
        if len(others) != 1:
            raise InvalidInput(
                "a private room has exactly one other member: put one user id besides yours in member_ids",
                errors={"member_ids": ["must hold exactly one other user id for a private room"]},
            )
    users_require_exist(user_ids=others)
    if not is_group:
        if user_blocks(blocker_id=others[0], blocked_id=actor.pk):
            raise Forbidden(f"you cannot start a private chat with user {others[0]}")
        return _private_room_get_or_create(actor=actor, other_id=others[0], name=name)
    with transaction.atomic():
        room = Room.objects.create(name=name, is_group=True, creator=actor, join_policy=join_policy or JoinPolicy.OPEN)
        Membership.objects.bulk_create(
            [Membership(room=room, user=actor, role=Role.OWNER, joined_seq=room.last_seq, read_seq=room.last_seq)]
            + [
                Membership(room=room, user_id=uid, role=Role.MEMBER, joined_seq=room.last_seq, read_seq=room.last_seq)
                for uid in others
            ]
        )
        notices.members_added(room_id=room.pk, user_ids=others, actor=actor)
    return room


def _private_room_get_or_create(*, actor: User, other_id: int, name: str) -> Room:
    pair = f"{min(actor.pk, other_id)}:{max(actor.pk, other_id)}"
    existing = Room.objects.filter(private_pair=pair).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            room = Room.objects.create(name=name, is_group=False, creator=actor, private_pair=pair)
            Membership.objects.bulk_create(
                [
                    Membership(
                        room=room, user=actor, role=Role.OWNER, joined_seq=room.last_seq, read_seq=room.last_seq
                    ),
                    Membership(
                        room=room, user_id=other_id, role=Role.MEMBER, joined_seq=room.last_seq, read_seq=room.last_seq
                    ),
                ]
            )
            notices.members_added(room_id=room.pk, user_ids=[other_id], actor=actor)
            return room
    except IntegrityError:
        # A concurrent request created the pair's room first: the unique private_pair decided.
        winner = Room.objects.filter(private_pair=pair).first()
        if winner is None:
            raise
        return winner
