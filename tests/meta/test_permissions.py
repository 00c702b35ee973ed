"""Who may do what in a group: every room action × owner, admin, member, outsider."""

from __future__ import annotations

import pytest

from meta.models import JoinPolicy, JoinRequest, Membership, Room
from tests.meta.conftest import Cast

ROLES = ("owner", "admin", "member", "outsider")

# action: (method, path, body builder, {role: expected status})
MATRIX = {
    "add_member": (
        "post",
        "/api/chat/group/add_member",
        lambda c, x: {"room_id": c.room.pk, "member_id": x.pk},
        (200, 200, 403, 403),
    ),
    "add_members": (
        "post",
        "/api/chat/group/add_members",
        lambda c, x: {"room_id": c.room.pk, "member_ids": [x.pk]},
        (200, 200, 403, 403),
    ),
    "remove_member": (
        "post",
        "/api/chat/group/remove_member",
        lambda c, x: {"room_id": c.room.pk, "target_user_id": c.extra.pk},
        (200, 200, 403, 403),
    ),
    "join_requests": (
        "get",
        "/api/chat/group/join/requests",
        lambda c, x: {"room_id": c.room.pk},
        (200, 200, 403, 403),
    ),
    "join_respond": (
        "post",
        "/api/chat/group/join/respond",
        lambda c, x: {"request_id": c.request.pk, "approve": True},
        (200, 200, 403, 403),
    ),
    "change_member_role": (
        "post",
        "/api/chat/group/change_member_role",
        lambda c, x: {"room_id": c.room.pk, "target_user_id": c.extra.pk, "new_role": 1},
        (200, 403, 403, 403),
    ),
    "members": ("get", "/api/chat/group/members", lambda c, x: {"room_id": c.room.pk}, (200, 200, 200, 403)),
    "change_nickname": (
        "post",
        "/api/chat/group/change_nickname",
        lambda c, x: {"room_id": c.room.pk, "nickname": "nick"},
        (200, 200, 200, 404),
    ),
    "join": ("post", "/api/chat/group/join", lambda c, x: {"room_id": c.room.pk}, (200, 200, 200, 200)),
    "join_request": ("post", "/api/chat/group/join/request", lambda c, x: {"room_id": c.room.pk}, (409, 409, 409, 200)),
    "search": ("get", "/api/chat/group/search", lambda c, x: {"q": "Team"}, (200, 200, 200, 200)),
    "joined_rooms": ("get", "/api/joined_rooms", lambda c, x: {}, (200, 200, 200, 200)),
}


@pytest.fixture
def full_cast(cast: Cast, make_user) -> Cast:
    """`cast` plus `extra`, a plain member to act on, and `request`, a pending join request."""
    cast.extra = make_user()
    Membership.objects.create(room=cast.room, user=cast.extra)
    cast.request = JoinRequest.objects.create(room=cast.room, user=make_user())
    return cast


@pytest.mark.django_db
@pytest.mark.parametrize("role_index", range(len(ROLES)), ids=ROLES)
@pytest.mark.parametrize("action", MATRIX)
def test_permission_matrix(full_cast, as_user, make_user, action, role_index):
    method, path, build, expected = MATRIX[action]
    actor = full_cast.user(ROLES[role_index])
    client = as_user(actor)
    body = build(full_cast, make_user())
    response = client.post(path, body, format="json") if method == "post" else client.get(path, body)
    assert response.status_code == expected[role_index], response.json()
    assert response.json()["code"] == (0 if expected[role_index] == 200 else expected[role_index])


@pytest.mark.django_db
def test_approval_groups_refuse_join_to_everyone_outside(full_cast, as_user):
    Room.objects.filter(pk=full_cast.room.pk).update(join_policy=JoinPolicy.APPROVAL)
    response = as_user(full_cast.outsider).post("/api/chat/group/join", {"room_id": full_cast.room.pk}, format="json")
    assert response.status_code == 403
