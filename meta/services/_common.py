"""Building blocks shared by the room services: the room lock and membership creation.

Every membership or role change takes the room's row lock first (`room_lock`) and only then
reads memberships, so changes of one room happen one after the other. On SQLite the settings
open IMMEDIATE transactions, which serialise the same way.

`actor=None` in the services means a staff moderator acting through the Django admin: they
have the owner's power in every room but are bound by the same invariants (one owner per
room, the owner leaves only after handing ownership on).
"""

from __future__ import annotations

import unicodedata

from chatproject.exceptions import Forbidden, InvalidInput, NotFound
from meta.models import Membership, Role, Room, User
from meta.selectors import membership_find


def has_control_characters(text: str) -> bool:
    """Names shown to others (room names, nicknames) carry none (terminal escapes, NUL, ...)."""
    return any(unicodedata.category(char) == "Cc" for char in text)


def room_lock(*, room_id: int) -> Room:
    """The room row, locked until the surrounding transaction ends. NotFound when missing."""
    room = Room.objects.select_for_update().filter(pk=room_id).first()
    if room is None:
        raise NotFound(f"room {room_id} does not exist")
    return room


def group_lock(*, room_id: int, refusal: str, actor: User | None = None, outsider_not_found: bool = False) -> Room:
    """`room_lock` for group-only actions; InvalidInput("room N is a private room: <refusal>").

    A private room is its two members' business: to an `actor` who is not one of them it is
    any room they are not in (Forbidden, or NotFound with `outsider_not_found` for actions
    that need no membership, such as joining), never "a private room".
    """
    room = room_lock(room_id=room_id)
    if not room.is_group:
        if actor is not None and membership_find(room_id=room.pk, user_id=actor.pk) is None:
            if outsider_not_found:
                raise NotFound(f"room {room_id} does not exist")
            raise Forbidden(f"you are not a member of room {room_id}")
        raise InvalidInput(f"room {room_id} is a private room: {refusal}")
    return room


def membership_require(*, room: Room, user_id: int) -> Membership:
    """The membership of `user_id` in `room`; NotFound naming both when there is none."""
    membership = membership_find(room_id=room.pk, user_id=user_id)
    if membership is None:
        raise NotFound(f"user {user_id} is not a member of room {room.pk}")
    return membership


def users_require_exist(*, user_ids: list[int]) -> None:
    """NotFound naming the smallest of `user_ids` that is no user."""
    found = set(User.objects.filter(pk__in=user_ids).values_list("pk", flat=True))
    missing = sorted(set(user_ids) - found)
    if missing:
        raise NotFound(f"user {missing[0]} does not exist")


def membership_get_or_create(*, room: Room, user_id: int) -> tuple[Membership, bool]:
    """Make `user_id` a member (role 2) of the locked `room`, owed the messages after the
    room's current `last_seq`. Returns (membership, created); an existing one is unchanged."""
    return Membership.objects.get_or_create(
        room=room,
        user_id=user_id,
        defaults={"role": Role.MEMBER, "joined_seq": room.last_seq, "read_seq": room.last_seq},
    )
