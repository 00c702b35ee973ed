"""The meta service's writes: accounts, rooms, memberships and join requests.

Import from here (`from meta.services import member_add`); the submodules split the package
by sub-domain. `actor=None` means a staff moderator acting through the Django admin, with
the owner's power in every room but bound by the same invariants.
"""

from meta.services.join_requests import join_request_create, join_request_respond
from meta.services.members import (
    MembersAdded,
    member_add,
    member_nickname_change,
    member_remove,
    member_role_change,
    members_add,
    room_join,
)
from meta.services.people import user_block_set, user_nickname_change, user_password_change
from meta.services.room_settings import invite_create, invite_revoke, room_join_by_invite, room_settings_change
from meta.services.rooms import room_create
from meta.services.users import user_authenticate, user_register

__all__ = [
    "MembersAdded",
    "invite_create",
    "invite_revoke",
    "join_request_create",
    "join_request_respond",
    "member_add",
    "member_nickname_change",
    "member_remove",
    "member_role_change",
    "members_add",
    "room_create",
    "room_join",
    "room_join_by_invite",
    "room_settings_change",
    "user_authenticate",
    "user_block_set",
    "user_nickname_change",
    "user_password_change",
    "user_register",
]
