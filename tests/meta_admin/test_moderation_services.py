"""The staff-only moderation services, called directly: their refusals and their effects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from chatproject.exceptions import InvalidInput, NotFound
from meta.models import Membership, Room, User
from meta.services import room_create
from meta.services.moderation import member_mute, member_unmute, room_delete, room_update, user_ban, user_unban
from send.models import Message
from send.services import message_send

from .conftest import frozen_now


@pytest.mark.django_db
def test_ban_and_unban_return_the_user_and_are_idempotent(team):
    assert user_ban(user_id=team.member.pk).is_banned is True
    assert user_ban(user_id=team.member.pk).is_banned is True
    assert User.objects.get(pk=team.member.pk).is_banned is True
    assert user_unban(user_id=team.member.pk).is_banned is False
    assert user_unban(user_id=team.member.pk).is_banned is False
    assert User.objects.get(pk=team.member.pk).is_banned is False


@pytest.mark.django_db
def test_ban_and_unban_of_an_unknown_user(db):
    with pytest.raises(NotFound, match="user 999 does not exist"):
        user_ban(user_id=999)
    with pytest.raises(NotFound, match="user 999 does not exist"):
        user_unban(user_id=999)


@pytest.mark.django_db
def test_mute_sets_the_end_and_a_later_mute_replaces_it(team):
    with frozen_now() as now:
        first = member_mute(room_id=team.room.pk, user_id=team.member.pk, until=now + timedelta(hours=5))
        second = member_mute(room_id=team.room.pk, user_id=team.member.pk, until=now + timedelta(minutes=1))
    assert first.pk == second.pk
    assert team.membership(team.member).muted_until == now + timedelta(minutes=1)


@pytest.mark.django_db
def test_mute_refuses_a_naive_or_past_end(team):
    with frozen_now() as now:
        with pytest.raises(InvalidInput, match="timezone-aware"):
            member_mute(room_id=team.room.pk, user_id=team.member.pk, until=datetime(2099, 1, 1))  # naive on purpose
        with pytest.raises(InvalidInput, match="in the future"):
            member_mute(room_id=team.room.pk, user_id=team.member.pk, until=now)
        with pytest.raises(InvalidInput, match="in the future"):
            member_mute(room_id=team.room.pk, user_id=team.member.pk, until=now - timedelta(seconds=1))
    assert team.membership(team.member).muted_until is None


@pytest.mark.django_db
def test_mute_and_unmute_of_an_unknown_room_or_a_non_member(team):
    until = timezone.now() + timedelta(hours=1)
    with pytest.raises(NotFound, match="room 999 does not exist"):
        member_mute(room_id=999, user_id=team.member.pk, until=until)
    with pytest.raises(NotFound, match=f"user {team.outsider.pk} is not a member of room {team.room.pk}"):
        member_mute(room_id=team.room.pk, user_id=team.outsider.pk, until=until)
    with pytest.raises(NotFound, match="room 999 does not exist"):
        member_unmute(room_id=999, user_id=team.member.pk)
    with pytest.raises(NotFound, match=f"user {team.outsider.pk} is not a member of room {team.room.pk}"):
        member_unmute(room_id=team.room.pk, user_id=team.outsider.pk)


@pytest.mark.django_db
def test_unmute_clears_the_end_and_is_idempotent(team):
    member_mute(room_id=team.room.pk, user_id=team.member.pk, until=datetime(2099, 1, 1, tzinfo=UTC))
    assert member_unmute(room_id=team.room.pk, user_id=team.member.pk).muted_until is None
    assert member_unmute(room_id=team.room.pk, user_id=team.member.pk).muted_until is None
    assert team.membership(team.member).muted_until is None


@pytest.mark.django_db
def test_room_delete_takes_memberships_and_messages_along(team):
    message_send(sender=team.member, room_id=team.room.pk, content={"type": "text", "text": "bye"})
    untouched = room_create(actor=team.owner, name="Other", is_group=True, member_ids=[team.member.pk])
    message_send(sender=team.owner, room_id=untouched.pk, content={"type": "text", "text": "still here"})

    assert room_delete(room_id=team.room.pk) is None
    assert not Room.objects.filter(pk=team.room.pk).exists()
    assert not Membership.objects.filter(room_id=team.room.pk).exists()
    assert not Message.objects.filter(room_id=team.room.pk).exists()
    assert Message.objects.filter(room=untouched).count() == 1
    assert Membership.objects.filter(room=untouched).count() == 2
    with pytest.raises(NotFound, match=f"room {team.room.pk} does not exist"):
        room_delete(room_id=team.room.pk)


@pytest.mark.django_db
def test_room_update_renames_and_sets_the_policy(team):
    updated = room_update(room_id=team.room.pk, name="Renamed", join_policy="approval")
    assert (updated.name, updated.join_policy) == ("Renamed", "approval")
    stored = Room.objects.get(pk=team.room.pk)
    assert (stored.name, stored.join_policy, stored.is_group) == ("Renamed", "approval", True)


@pytest.mark.django_db
def test_room_update_refusals(team):
    private = room_create(actor=team.owner, name="dm", member_ids=[team.outsider.pk])
    with pytest.raises(InvalidInput, match="1 to 100 characters"):
        room_update(room_id=team.room.pk, name="  ", join_policy="open")
    with pytest.raises(InvalidInput, match="1 to 100 characters"):
        room_update(room_id=team.room.pk, name="x" * 101, join_policy="open")
    with pytest.raises(InvalidInput, match="join_policy must be one of open, approval"):
        room_update(room_id=team.room.pk, name="Team", join_policy="closed")
    with pytest.raises(InvalidInput, match="private room"):
        room_update(room_id=private.pk, name="dm", join_policy="approval")
    with pytest.raises(NotFound, match="room 999 does not exist"):
        room_update(room_id=999, name="x", join_policy="open")
    assert room_update(room_id=private.pk, name="a private name", join_policy="open").name == "a private name"
    assert Room.objects.get(pk=team.room.pk).name == "Team"
