"""POST /api/chat/group/create."""

from __future__ import annotations

import pytest

from meta.models import JoinPolicy, Membership, Role, Room
from tests.meta.conftest import assert_error, assert_ok, post

PATH = "/api/chat/group/create"


def _members(room_id: int) -> dict[int, int]:
    return dict(Membership.objects.filter(room_id=room_id).values_list("user_id", "role"))


@pytest.mark.django_db
def test_create_group_makes_creator_owner_and_others_members(make_user, as_user):
    alice, bob, carol = make_user(), make_user(), make_user()
    body = {"name": "Book club", "is_group": True, "member_ids": [bob.pk, carol.pk, bob.pk, alice.pk]}
    response = post(as_user(alice), PATH, body)
    room = Room.objects.get()
    assert_ok(response, {"room_id": room.pk}, msg="room ready")
    assert (room.name, room.is_group, room.creator_id, room.join_policy) == ("Book club", True, alice.pk, "open")
    assert room.private_pair is None
    assert _members(room.pk) == {alice.pk: Role.OWNER, bob.pk: Role.MEMBER, carol.pk: Role.MEMBER}
    assert set(Membership.objects.filter(room=room).values_list("joined_seq", flat=True)) == {0}


@pytest.mark.django_db
def test_create_group_with_no_members_and_approval_policy(make_user, as_user):
    alice = make_user()
    response = post(
        as_user(alice), PATH, {"name": "Quiet", "is_group": True, "member_ids": [], "join_policy": "approval"}
    )
    room = Room.objects.get()
    assert_ok(response, {"room_id": room.pk})
    assert room.join_policy == JoinPolicy.APPROVAL
    assert _members(room.pk) == {alice.pk: Role.OWNER}


@pytest.mark.django_db
def test_is_group_defaults_to_private(make_user, as_user):
    alice, bob = make_user(), make_user()
    response = post(as_user(alice), PATH, {"name": "us", "member_ids": [bob.pk]})
    room = Room.objects.get()
    assert_ok(response, {"room_id": room.pk})
    assert room.is_group is False
    assert room.private_pair == f"{min(alice.pk, bob.pk)}:{max(alice.pk, bob.pk)}"
    assert _members(room.pk) == {alice.pk: Role.OWNER, bob.pk: Role.MEMBER}


@pytest.mark.django_db
def test_private_room_exists_once_per_pair(make_user, as_user):
    alice, bob = make_user(), make_user()
    first = assert_ok(post(as_user(alice), PATH, {"name": "a-b", "member_ids": [bob.pk]}))["data"]["room_id"]
    again = post(as_user(alice), PATH, {"name": "other name", "member_ids": [bob.pk, alice.pk]})
    assert_ok(again, {"room_id": first})
    reverse = post(as_user(bob), PATH, {"name": "b-a", "is_group": False, "member_ids": [alice.pk]})
    assert_ok(reverse, {"room_id": first})
    assert Room.objects.count() == 1
    assert Room.objects.get().name == "a-b"


@pytest.mark.django_db
def test_a_group_does_not_count_as_the_private_room_of_a_pair(make_user, as_user):
    alice, bob = make_user(), make_user()
    group = assert_ok(post(as_user(alice), PATH, {"name": "g", "is_group": True, "member_ids": [bob.pk]}))
    private = assert_ok(post(as_user(alice), PATH, {"name": "p", "member_ids": [bob.pk]}))
    assert group["data"]["room_id"] != private["data"]["room_id"]


@pytest.mark.django_db
@pytest.mark.parametrize("others", [[], ["self"], ["bob", "carol"]])
def test_private_room_needs_exactly_one_other_member(make_user, as_user, others):
    alice, bob, carol = make_user(), make_user(), make_user()
    ids = [{"self": alice, "bob": bob, "carol": carol}[o].pk for o in others]
    response = post(as_user(alice), PATH, {"name": "p", "member_ids": ids})
    assert_error(
        response,
        400,
        "a private room has exactly one other member",
        errors={"member_ids": ["must hold exactly one other user id for a private room"]},
    )
    assert not Room.objects.exists()


@pytest.mark.django_db
def test_join_policy_is_for_groups_only(make_user, as_user):
    alice, bob = make_user(), make_user()
    response = post(as_user(alice), PATH, {"name": "p", "member_ids": [bob.pk], "join_policy": "open"})
    assert_error(
        response, 400, "join_policy applies to groups only", errors={"join_policy": ["applies to groups only"]}
    )


@pytest.mark.django_db
@pytest.mark.parametrize("is_group", [True, False])
def test_unknown_member_is_404_naming_it(make_user, as_user, is_group):
    alice, bob = make_user(), make_user()
    ids = [bob.pk, 987654] if is_group else [987654]
    response = post(as_user(alice), PATH, {"name": "x", "is_group": is_group, "member_ids": ids})
    assert_error(response, 404, "user 987654 does not exist")
    assert not Room.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"is_group": True, "member_ids": []}, {"name": ["This field is required."]}),
        ({"name": "", "is_group": True, "member_ids": []}, {"name": ["This field may not be blank."]}),
        ({"name": "   ", "is_group": True, "member_ids": []}, {"name": ["This field may not be blank."]}),
        (
            {"name": "n" * 101, "is_group": True, "member_ids": []},
            {"name": ["Ensure this field has no more than 100 characters."]},
        ),
        ({"name": "g", "is_group": True}, {"member_ids": ["This field is required."]}),
        ({"name": "g", "is_group": True, "member_ids": 5}, {"member_ids": ["must be a list of user ids"]}),
        ({"name": "g", "is_group": True, "member_ids": [1.5]}, {"member_ids.0": ["must be an integer id"]}),
        ({"name": "g", "is_group": True, "member_ids": ["7"]}, {"member_ids.0": ["must be an integer id"]}),
        ({"name": "g", "is_group": True, "member_ids": [True]}, {"member_ids.0": ["must be an integer id"]}),
        (
            {"name": "g", "is_group": True, "member_ids": [0]},
            {"member_ids.0": ["must be an id from 1 to 9007199254740991"]},
        ),
        (
            {"name": "g", "is_group": True, "member_ids": [2**53]},
            {"member_ids.0": ["must be an id from 1 to 9007199254740991"]},
        ),
        ({"name": "g", "is_group": "yes", "member_ids": []}, {"is_group": ["must be true or false"]}),
        ({"name": "g", "is_group": 1, "member_ids": []}, {"is_group": ["must be true or false"]}),
        (
            {"name": "g", "is_group": True, "member_ids": [], "join_policy": "closed"},
            {"join_policy": ['must be "open" or "approval"']},
        ),
        ({"name": 42, "is_group": True, "member_ids": []}, {"name": ["must be a string"]}),
    ],
)
def test_create_rejects_bad_input(make_user, as_user, body, errors):
    response = post(as_user(make_user()), PATH, body)
    assert_error(response, 400, next(iter(errors)), errors=errors)
    assert not Room.objects.exists()


@pytest.mark.django_db
def test_create_rejects_too_many_member_ids(make_user, as_user):
    response = post(as_user(make_user()), PATH, {"name": "g", "is_group": True, "member_ids": list(range(1, 1002))})
    assert_error(
        response, 400, "member_ids", errors={"member_ids": ["Ensure this field has no more than 1000 elements."]}
    )


@pytest.mark.django_db
def test_create_needs_authentication(api):
    assert_error(post(api, PATH, {"name": "g", "is_group": True, "member_ids": []}), 401, "authentication required")
