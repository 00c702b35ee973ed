"""add_member, add_members, remove_member, join, change_nickname, change_member_role."""

from __future__ import annotations

import pytest

from meta.models import JoinPolicy, Membership, Role, Room
from meta.services import room_create
from tests.meta.conftest import assert_error, assert_ok, post


def _roles(room: Room) -> dict[int, int]:
    return dict(Membership.objects.filter(room=room).values_list("user_id", "role"))


@pytest.fixture
def private_room(cast):
    return room_create(actor=cast.owner, name="dm", member_ids=[cast.member.pk])


# --- add_member / add_members -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["owner", "admin"])
def test_add_member_by_owner_or_admin(cast, as_user, who):
    Room.objects.filter(pk=cast.room.pk).update(last_seq=41)
    response = post(
        as_user(cast.user(who)), "/api/chat/group/add_member", {"room_id": cast.room.pk, "member_id": cast.outsider.pk}
    )
    assert_ok(response, {"room_id": cast.room.pk, "user_id": cast.outsider.pk}, msg="member added")
    added = Membership.objects.get(room=cast.room, user=cast.outsider)
    assert (added.role, added.joined_seq) == (Role.MEMBER, 41)


@pytest.mark.django_db
def test_add_member_who_is_already_in_is_no_error(cast, as_user):
    response = post(
        as_user(cast.owner), "/api/chat/group/add_member", {"room_id": cast.room.pk, "member_id": cast.admin.pk}
    )
    assert_ok(response, {"room_id": cast.room.pk, "user_id": cast.admin.pk})
    assert _roles(cast.room)[cast.admin.pk] == Role.ADMIN


@pytest.mark.django_db
def test_add_member_errors(cast, as_user, private_room):
    owner = as_user(cast.owner)
    path = "/api/chat/group/add_member"
    assert_error(
        post(owner, path, {"room_id": 999999, "member_id": cast.outsider.pk}), 404, "room 999999 does not exist"
    )
    assert_error(post(owner, path, {"room_id": cast.room.pk, "member_id": 999999}), 404, "user 999999 does not exist")
    assert_error(
        post(owner, path, {"room_id": private_room.pk, "member_id": cast.outsider.pk}),
        400,
        f"room {private_room.pk} is a private room: members cannot be added",
    )
    assert_error(
        post(as_user(cast.member), path, {"room_id": cast.room.pk, "member_id": cast.outsider.pk}),
        403,
        f"only the owner or an admin of room {cast.room.pk} can add members",
    )
    assert_error(
        post(as_user(cast.outsider), path, {"room_id": cast.room.pk, "member_id": cast.outsider.pk}),
        403,
        f"you are not a member of room {cast.room.pk}",
    )
    assert_error(
        post(owner, path, {"room_id": cast.room.pk}),
        400,
        "member_id",
        errors={"member_id": ["This field is required."]},
    )
    assert_error(
        post(owner, path, {"room_id": "1", "member_id": cast.outsider.pk}),
        400,
        "room_id",
        errors={"room_id": ["must be an integer id"]},
    )
    assert not Membership.objects.filter(user=cast.outsider).exists()


@pytest.mark.django_db
def test_add_members_reports_added_and_already_members(cast, as_user, make_user):
    dave, erin = make_user(), make_user()
    Room.objects.filter(pk=cast.room.pk).update(last_seq=7)
    body = {"room_id": cast.room.pk, "member_ids": [erin.pk, cast.member.pk, dave.pk, erin.pk, cast.owner.pk]}
    response = post(as_user(cast.admin), "/api/chat/group/add_members", body)
    assert_ok(
        response, {"added": [erin.pk, dave.pk], "already_members": [cast.member.pk, cast.owner.pk]}, msg="members added"
    )
    assert _roles(cast.room)[dave.pk] == Role.MEMBER
    assert Membership.objects.get(room=cast.room, user=dave).joined_seq == 7


@pytest.mark.django_db
def test_add_members_empty_list_is_a_no_op(cast, as_user):
    before = _roles(cast.room)
    response = post(as_user(cast.owner), "/api/chat/group/add_members", {"room_id": cast.room.pk, "member_ids": []})
    assert_ok(response, {"added": [], "already_members": []})
    assert _roles(cast.room) == before


@pytest.mark.django_db
def test_add_members_with_an_unknown_id_adds_nobody(cast, as_user):
    body = {"room_id": cast.room.pk, "member_ids": [cast.outsider.pk, 999999]}
    assert_error(post(as_user(cast.owner), "/api/chat/group/add_members", body), 404, "user 999999 does not exist")
    assert cast.outsider.pk not in _roles(cast.room)


@pytest.mark.django_db
def test_add_members_errors(cast, as_user, private_room):
    path = "/api/chat/group/add_members"
    assert_error(
        post(as_user(cast.owner), path, {"room_id": 999999, "member_ids": []}), 404, "room 999999 does not exist"
    )
    assert_error(post(as_user(cast.owner), path, {"room_id": private_room.pk, "member_ids": []}), 400, "private room")
    assert_error(
        post(as_user(cast.member), path, {"room_id": cast.room.pk, "member_ids": [cast.outsider.pk]}),
        403,
        "only the owner or an admin",
    )
    assert_error(
        post(as_user(cast.owner), path, {"room_id": cast.room.pk}),
        400,
        "member_ids",
        errors={"member_ids": ["This field is required."]},
    )


# --- remove_member ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("actor", "target"), [("owner", "admin"), ("owner", "member"), ("admin", "member")])
def test_remove_a_weaker_member(cast, as_user, actor, target):
    victim = cast.user(target)
    response = post(
        as_user(cast.user(actor)),
        "/api/chat/group/remove_member",
        {"room_id": cast.room.pk, "target_user_id": victim.pk},
    )
    body = assert_ok(response, msg="member removed")
    assert "data" not in body
    assert victim.pk not in _roles(cast.room)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "member"])
def test_leaving_is_removing_yourself(cast, as_user, who):
    user = cast.user(who)
    response = post(
        as_user(user), "/api/chat/group/remove_member", {"room_id": cast.room.pk, "target_user_id": user.pk}
    )
    assert_ok(response, msg="member removed")
    assert user.pk not in _roles(cast.room)


@pytest.mark.django_db
def test_the_owner_leaves_only_after_handing_ownership_on(cast, as_user):
    owner = as_user(cast.owner)
    leave = {"room_id": cast.room.pk, "target_user_id": cast.owner.pk}
    assert_error(
        post(owner, "/api/chat/group/remove_member", leave),
        409,
        f"the owner cannot leave room {cast.room.pk}: first hand ownership to another member",
    )
    assert_ok(
        post(
            owner,
            "/api/chat/group/change_member_role",
            {"room_id": cast.room.pk, "target_user_id": cast.member.pk, "new_role": 0},
        )
    )
    assert_ok(post(owner, "/api/chat/group/remove_member", leave))
    assert _roles(cast.room) == {cast.admin.pk: Role.ADMIN, cast.member.pk: Role.OWNER}


@pytest.mark.django_db
def test_remove_member_refusals(cast, as_user, private_room):
    path = "/api/chat/group/remove_member"
    room = cast.room.pk
    assert_error(
        post(as_user(cast.admin), path, {"room_id": room, "target_user_id": cast.owner.pk}),
        403,
        "nobody can remove the owner",
    )
    assert_error(
        post(as_user(cast.member), path, {"room_id": room, "target_user_id": cast.admin.pk}),
        403,
        f"only the owner or an admin of room {room} can remove members",
    )
    assert_error(
        post(as_user(cast.outsider), path, {"room_id": room, "target_user_id": cast.member.pk}),
        403,
        "you are not a member",
    )
    assert_error(
        post(as_user(cast.owner), path, {"room_id": room, "target_user_id": cast.outsider.pk}),
        404,
        f"user {cast.outsider.pk} is not a member of room {room}",
    )
    assert_error(
        post(as_user(cast.outsider), path, {"room_id": room, "target_user_id": cast.outsider.pk}),
        404,
        f"you are not a member of room {room}",
    )
    assert_error(
        post(as_user(cast.owner), path, {"room_id": 999999, "target_user_id": cast.member.pk}),
        404,
        "room 999999 does not exist",
    )
    assert_error(
        post(as_user(cast.owner), path, {"room_id": private_room.pk, "target_user_id": cast.member.pk}),
        400,
        f"room {private_room.pk} is a private room: nobody can leave it or be removed from it",
    )
    assert len(_roles(cast.room)) == 3


@pytest.mark.django_db
def test_an_admin_cannot_remove_another_admin(cast, as_user, make_user):
    other_admin = make_user()
    Membership.objects.create(room=cast.room, user=other_admin, role=Role.ADMIN)
    response = post(
        as_user(cast.admin),
        "/api/chat/group/remove_member",
        {"room_id": cast.room.pk, "target_user_id": other_admin.pk},
    )
    assert_error(response, 403, "you can only remove members whose role is below yours")


# --- join -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_join_an_open_group(cast, as_user):
    Room.objects.filter(pk=cast.room.pk).update(last_seq=12)
    response = post(as_user(cast.outsider), "/api/chat/group/join", {"room_id": cast.room.pk})
    assert_ok(response, {"room_id": cast.room.pk, "role": 2}, msg="joined")
    joined = Membership.objects.get(room=cast.room, user=cast.outsider)
    assert (joined.role, joined.joined_seq) == (Role.MEMBER, 12)


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "role"), [("owner", 0), ("admin", 1), ("member", 2)])
def test_join_when_already_a_member_changes_nothing(cast, as_user, who, role):
    Room.objects.filter(pk=cast.room.pk).update(join_policy=JoinPolicy.APPROVAL)
    response = post(as_user(cast.user(who)), "/api/chat/group/join", {"room_id": cast.room.pk})
    assert_ok(response, {"room_id": cast.room.pk, "role": role})
    assert len(_roles(cast.room)) == 3


@pytest.mark.django_db
def test_join_refusals(cast, as_user, private_room):
    Room.objects.filter(pk=cast.room.pk).update(join_policy=JoinPolicy.APPROVAL)
    outsider = as_user(cast.outsider)
    assert_error(
        post(outsider, "/api/chat/group/join", {"room_id": cast.room.pk}),
        403,
        f"room {cast.room.pk} admits new members by approval: "
        "file a join request with POST /api/chat/group/join/request",
    )
    # An outsider learns nothing of a private room (API issue 11): as for a room that is not there.
    assert_error(
        post(outsider, "/api/chat/group/join", {"room_id": private_room.pk}),
        404,
        f"room {private_room.pk} does not exist",
    )
    assert_error(post(outsider, "/api/chat/group/join", {"room_id": 999999}), 404, "room 999999 does not exist")
    assert_error(
        post(outsider, "/api/chat/group/join", {}), 400, "room_id", errors={"room_id": ["This field is required."]}
    )
    assert_error(
        post(outsider, "/api/chat/group/join", {"room_id": 1.0}),
        400,
        "room_id",
        errors={"room_id": ["must be an integer id"]},
    )
    assert_error(
        post(outsider, "/api/chat/group/join", {"room_id": -3}),
        400,
        "room_id",
        errors={"room_id": ["must be an id from 1 to 9007199254740991"]},
    )
    assert not Membership.objects.filter(user=cast.outsider).exists()


# --- change_nickname --------------------------------------------------------------------


@pytest.mark.django_db
def test_change_nickname(cast, as_user):
    response = post(
        as_user(cast.member), "/api/chat/group/change_nickname", {"room_id": cast.room.pk, "nickname": "  Mem  "}
    )
    assert_ok(response, {"room_id": cast.room.pk, "nickname": "Mem"}, msg="nickname changed")
    assert Membership.objects.get(room=cast.room, user=cast.member).nickname == "Mem"


@pytest.mark.django_db
def test_change_nickname_refusals(cast, as_user):
    path = "/api/chat/group/change_nickname"
    assert_error(
        post(as_user(cast.outsider), path, {"room_id": cast.room.pk, "nickname": "x"}),
        404,
        f"you are not a member of room {cast.room.pk}",
    )
    assert_error(
        post(as_user(cast.member), path, {"room_id": 999999, "nickname": "x"}), 404, "room 999999 does not exist"
    )
    assert_error(
        post(as_user(cast.member), path, {"room_id": cast.room.pk, "nickname": ""}),
        400,
        "nickname",
        errors={"nickname": ["This field may not be blank."]},
    )
    assert_error(
        post(as_user(cast.member), path, {"room_id": cast.room.pk, "nickname": "n" * 101}),
        400,
        "nickname",
        errors={"nickname": ["Ensure this field has no more than 100 characters."]},
    )
    assert_ok(post(as_user(cast.member), path, {"room_id": cast.room.pk, "nickname": "n" * 100}))


# --- change_member_role -----------------------------------------------------------------


@pytest.mark.django_db
def test_owner_sets_admin_and_member(cast, as_user):
    path = "/api/chat/group/change_member_role"
    owner = as_user(cast.owner)
    response = post(owner, path, {"room_id": cast.room.pk, "target_user_id": cast.member.pk, "new_role": 1})
    assert_ok(response, {"room_id": cast.room.pk, "user_id": cast.member.pk, "role": 1}, msg="role changed")
    response = post(owner, path, {"room_id": cast.room.pk, "target_user_id": cast.admin.pk, "new_role": 2})
    assert_ok(response, {"room_id": cast.room.pk, "user_id": cast.admin.pk, "role": 2})
    assert _roles(cast.room) == {cast.owner.pk: 0, cast.member.pk: 1, cast.admin.pk: 2}


@pytest.mark.django_db
def test_new_role_0_hands_ownership_on(cast, as_user):
    path = "/api/chat/group/change_member_role"
    response = post(
        as_user(cast.owner), path, {"room_id": cast.room.pk, "target_user_id": cast.member.pk, "new_role": 0}
    )
    assert_ok(response, {"room_id": cast.room.pk, "user_id": cast.member.pk, "role": 0})
    assert _roles(cast.room) == {cast.owner.pk: 1, cast.admin.pk: 1, cast.member.pk: 0}
    # The old owner is an admin now and may no longer change roles.
    again = post(as_user(cast.owner), path, {"room_id": cast.room.pk, "target_user_id": cast.admin.pk, "new_role": 0})
    assert_error(again, 403, f"only the owner of room {cast.room.pk} can change member roles")


@pytest.mark.django_db
def test_change_member_role_refusals(cast, as_user, private_room):
    path = "/api/chat/group/change_member_role"
    owner = as_user(cast.owner)
    room = cast.room.pk
    assert_error(
        post(as_user(cast.admin), path, {"room_id": room, "target_user_id": cast.member.pk, "new_role": 1}),
        403,
        "only the owner",
    )
    assert_error(
        post(as_user(cast.outsider), path, {"room_id": room, "target_user_id": cast.member.pk, "new_role": 1}),
        403,
        "you are not a member",
    )
    assert_error(
        post(owner, path, {"room_id": room, "target_user_id": cast.outsider.pk, "new_role": 1}),
        404,
        f"user {cast.outsider.pk} is not a member of room {room}",
    )
    assert_error(
        post(owner, path, {"room_id": 999999, "target_user_id": cast.member.pk, "new_role": 1}),
        404,
        "room 999999 does not exist",
    )
    assert_error(
        post(owner, path, {"room_id": room, "target_user_id": cast.owner.pk, "new_role": 1}),
        400,
        "you cannot change your own role",
    )
    assert_error(
        post(owner, path, {"room_id": private_room.pk, "target_user_id": cast.member.pk, "new_role": 0}),
        400,
        "roles apply to groups only",
    )
    for bad in (3, -1, "1", 1.0, True, None):
        assert_error(
            post(owner, path, {"room_id": room, "target_user_id": cast.member.pk, "new_role": bad}),
            400,
            "new_role",
            errors={
                "new_role": ["This field may not be null."]
                if bad is None
                else ["must be 0 (owner), 1 (admin) or 2 (member)"]
            },
        )
    assert _roles(cast.room) == {cast.owner.pk: 0, cast.admin.pk: 1, cast.member.pk: 2}
