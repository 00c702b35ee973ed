"""The services with `actor=None`: a staff moderator acting through the Django admin has the
owner's power in every room and is bound by the same invariants."""

from __future__ import annotations

import pytest

from chatproject.exceptions import Conflict
from meta.models import JoinRequest, Membership, Role
from meta.selectors import join_requests_pending
from meta.services import join_request_respond, member_add, member_remove, member_role_change, members_add


def _roles(room) -> dict[int, int]:
    return dict(Membership.objects.filter(room=room).values_list("user_id", "role"))


@pytest.mark.django_db
def test_staff_adds_members(cast, make_user):
    dave = make_user()
    membership = member_add(actor=None, room_id=cast.room.pk, user_id=cast.outsider.pk)
    assert (membership.user_id, membership.role) == (cast.outsider.pk, Role.MEMBER)
    result = members_add(actor=None, room_id=cast.room.pk, user_ids=[dave.pk, cast.owner.pk])
    assert (result.added, result.already_members) == ([dave.pk], [cast.owner.pk])


@pytest.mark.django_db
def test_staff_removes_anyone_but_the_owner(cast):
    member_remove(actor=None, room_id=cast.room.pk, target_user_id=cast.admin.pk)
    with pytest.raises(Conflict, match="first hand ownership to another member"):
        member_remove(actor=None, room_id=cast.room.pk, target_user_id=cast.owner.pk)
    assert _roles(cast.room) == {cast.owner.pk: Role.OWNER, cast.member.pk: Role.MEMBER}


@pytest.mark.django_db
def test_staff_hands_ownership_on_but_never_leaves_a_room_without_owner(cast):
    changed = member_role_change(actor=None, room_id=cast.room.pk, target_user_id=cast.member.pk, new_role=Role.OWNER)
    assert changed.role == Role.OWNER
    assert _roles(cast.room) == {cast.owner.pk: Role.ADMIN, cast.admin.pk: Role.ADMIN, cast.member.pk: Role.OWNER}
    with pytest.raises(Conflict, match="needs an owner"):
        member_role_change(actor=None, room_id=cast.room.pk, target_user_id=cast.member.pk, new_role=Role.MEMBER)
    same = member_role_change(actor=None, room_id=cast.room.pk, target_user_id=cast.member.pk, new_role=Role.OWNER)
    assert same.role == Role.OWNER
    assert list(Membership.objects.filter(room=cast.room, role=Role.OWNER).values_list("user_id", flat=True)) == [
        cast.member.pk
    ]


@pytest.mark.django_db
def test_staff_sees_and_answers_join_requests(cast):
    request = JoinRequest.objects.create(room=cast.room, user=cast.outsider)
    assert join_requests_pending(actor=None, room_id=cast.room.pk) == [request]
    answered = join_request_respond(actor=None, request_id=request.pk, approve=True)
    assert (answered.status, answered.handled_by_id) == ("approved", None)
    assert answered.handled_at is not None
    assert Membership.objects.filter(room=cast.room, user=cast.outsider).exists()
