"""What issue 14's room rules (API.md §9) do to sending and reading: announcement-only groups,
private rooms frozen by a block, and a room's history made visible to every member."""

from __future__ import annotations

import pytest

from meta.models import Room
from meta.services import member_add, member_role_change, room_create, room_settings_change, user_block_set
from send.services import message_send
from tests.send.conftest import HISTORY, assert_ok, send, text

pytestmark = pytest.mark.django_db


def test_announcement_only_lets_only_the_owner_and_admins_send(group):
    member_role_change(actor=group.owner, room_id=group.room.pk, target_user_id=group.alice.pk, new_role=1)
    room_settings_change(actor=group.owner, room_id=group.room.pk, announcement_only=True)
    assert_ok(send(group.client(group.owner), group.room.pk))
    assert_ok(send(group.client(group.alice), group.room.pk))
    refused = send(group.client(group.bob), group.room.pk)
    assert refused.status_code == 403
    assert refused.json() == {
        "code": 403,
        "msg": f"room {group.room.pk} is for announcements: only its owner and admins can send",
    }
    room_settings_change(actor=group.owner, room_id=group.room.pk, announcement_only=False)
    assert_ok(send(group.client(group.bob), group.room.pk))


def test_a_block_freezes_the_private_room_both_ways_without_saying_who(group):
    dm = room_create(actor=group.alice, name="dm", member_ids=[group.bob.pk])
    assert_ok(send(group.client(group.bob), dm.pk))
    user_block_set(actor=group.alice, user_id=group.bob.pk)
    replies = [send(group.client(user), dm.pk) for user in (group.alice, group.bob)]
    msg = f"private room {dm.pk} is frozen: one of you has blocked the other"
    assert [(r.status_code, r.json()) for r in replies] == [(403, {"code": 403, "msg": msg})] * 2
    # Groups with both of them are unaffected.
    assert_ok(send(group.client(group.bob), group.room.pk))
    user_block_set(actor=group.alice, user_id=group.bob.pk, blocked=False)
    assert_ok(send(group.client(group.alice), dm.pk))


def test_a_refused_send_takes_no_seq(group):
    dm = room_create(actor=group.alice, name="dm", member_ids=[group.bob.pk])
    user_block_set(actor=group.bob, user_id=group.alice.pk)
    assert send(group.client(group.alice), dm.pk).status_code == 403
    assert Room.objects.get(pk=dm.pk).last_seq == 0


def history(client, room_id):
    body = assert_ok(client.get(HISTORY, {"room_id": room_id}))
    return [m["content"]["text"] for m in body["data"]["messages"]]


def test_history_visible_shows_new_members_the_whole_timeline(group, make_user, client_for):
    for word in ("one", "two"):
        message_send(sender=group.owner, room_id=group.room.pk, content=text(word))
    late = make_user("late")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=late.pk)
    message_send(sender=group.owner, room_id=group.room.pk, content=text("three"))
    client = client_for(late)
    assert history(client, group.room.pk) == ["three"]
    room_settings_change(actor=group.owner, room_id=group.room.pk, history_visible=True)
    assert history(client, group.room.pk) == ["one", "two", "three"]
    room_settings_change(actor=group.owner, room_id=group.room.pk, history_visible=False)
    assert history(client, group.room.pk) == ["three"]
