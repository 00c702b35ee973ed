"""`GET /api/joined_rooms` as a chat list (API.md §7.3): read positions, exact unread counts
(own and deleted messages left out), unread mentions, the last message as it is now, the last
activity, rooms ordered by it, and a fixed number of queries whatever the number of rooms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from meta.models import Membership, Room, User
from meta.services import member_add, room_create
from meta.services.room_settings import room_settings_change
from send.conversations import rooms_joined
from send.views.reading import JoinedRoomOut, joined_room_json
from tests.send.conftest import (
    Group,
    assert_ok,
    delete,
    edit,
    frozen_now,
    post_json,
    react,
    sent,
    text,
)

pytestmark = pytest.mark.django_db

JOINED = "/api/joined_rooms"
READ = "/api/chat/read"


def listing(group: Group, user: User) -> dict[str, Any]:
    return assert_ok(group.client(user).get(JOINED))["data"]


def room_of(group: Group, user: User, room_id: int | None = None) -> dict[str, Any]:
    data = listing(group, user)
    return next(r for r in data["rooms"] if r["id"] == (room_id or group.room.pk))


def read(group: Group, user: User, seq: int) -> dict[str, Any]:
    return assert_ok(post_json(group.client(user), READ, {"room_id": group.room.pk, "seq": seq}))["data"]


def test_a_room_lists_every_field_of_both_parts_of_the_contract(group: Group) -> None:
    with frozen_now(timezone.now()):
        message = sent(group, group.alice, "hi")
    room = room_of(group, group.bob)
    assert set(room) == {
        "id",
        "name",
        "is_group",
        "role",
        "last_seq",
        "read_seq",
        "unread",
        "mentions",
        "last_message",
        "last_activity_at",
    }
    assert (room["name"], room["is_group"], room["role"], room["last_seq"]) == ("Team", True, 2, 1)
    assert (room["read_seq"], room["unread"], room["mentions"]) == (0, 1, 0)
    assert room["last_message"]["id"] == message["msgID"]
    assert room["last_message"]["content"] == text("hi")
    assert room["last_activity_at"] == room["last_message"]["created_at"]


def test_unread_counts_messages_of_others_above_the_read_position_and_not_deleted(group: Group) -> None:
    sent(group, group.bob, "mine")  # sending reads the room up to it (seq 1)
    sent(group, group.alice, "one")
    doomed = sent(group, group.alice, "to delete")
    sent(group, group.owner, "three")
    assert room_of(group, group.bob)["unread"] == 3
    assert_ok(delete(group.client(group.alice), doomed["msgID"]))  # takes seq 5, an update
    assert room_of(group, group.bob)["unread"] == 2
    assert read(group, group.bob, 2) == {"room_id": group.room.pk, "read_seq": 2, "unread": 1}
    room = room_of(group, group.bob)
    assert (room["read_seq"], room["unread"]) == (2, 1)
    read(group, group.bob, 5)
    assert room_of(group, group.bob)["unread"] == 0
    # Updates are not messages: a reaction after the read position is not unread.
    assert_ok(react(group.client(group.alice), doomed["msgID"] - 1, "👍"))
    assert room_of(group, group.bob)["unread"] == 0


def test_sending_marks_the_room_read_up_to_the_message(group: Group) -> None:
    sent(group, group.alice, "one")
    sent(group, group.alice, "two")
    mine = sent(group, group.bob, "answer")
    room = room_of(group, group.bob)
    assert (room["read_seq"], room["unread"]) == (mine["seq"], 0)
    assert room_of(group, group.owner)["unread"] == 3


def test_mentions_count_unread_messages_that_mention_the_caller(group: Group) -> None:
    sent(group, group.owner, "@all", mention_all=True)  # sending reads the room up to it
    sent(group, group.alice, "@bob", mentions=[group.bob.pk])
    sent(group, group.alice, "@owner", mentions=[group.owner.pk])
    deleted = sent(group, group.alice, "@bob again", mentions=[group.bob.pk])
    bob = room_of(group, group.bob)
    assert (bob["unread"], bob["mentions"]) == (4, 3)  # "@all", "@bob", "@bob again"
    assert_ok(delete(group.client(group.alice), deleted["msgID"]))
    bob = room_of(group, group.bob)
    assert (bob["unread"], bob["mentions"]) == (3, 2)
    owner = room_of(group, group.owner)
    assert (owner["unread"], owner["mentions"]) == (2, 1)  # "@bob", "@owner"; "@all" is their own
    sent(group, group.bob, "@bob myself", mentions=[group.bob.pk])
    read(group, group.bob, 0)  # never lowered
    bob = room_of(group, group.bob)
    assert (bob["unread"], bob["mentions"]) == (0, 0)
    owner = room_of(group, group.owner)
    assert (owner["unread"], owner["mentions"]) == (3, 1)
    alice = room_of(group, group.alice)
    assert (alice["unread"], alice["mentions"]) == (1, 0)


def test_mentions_above_the_read_position_only(group: Group) -> None:
    first = sent(group, group.alice, "@bob", mentions=[group.bob.pk])
    sent(group, group.alice, "@bob", mentions=[group.bob.pk])
    read(group, group.bob, first["seq"])
    assert (room_of(group, group.bob)["unread"], room_of(group, group.bob)["mentions"]) == (1, 1)


def test_the_last_message_is_shown_as_it_is_now(group: Group) -> None:
    assert room_of(group, group.bob)["last_message"] is None
    first = sent(group, group.alice, "typo")
    assert_ok(edit(group.client(group.alice), first["msgID"], text("fixed")))
    last = room_of(group, group.bob)["last_message"]
    assert (last["id"], last["content"], last["edited_at"] is not None) == (first["msgID"], text("fixed"), True)
    assert_ok(delete(group.client(group.alice), first["msgID"]))
    last = room_of(group, group.bob)["last_message"]
    assert (last["id"], last["deleted"], last["content"]) == (first["msgID"], True, None)
    assert room_of(group, group.bob)["last_seq"] == 3  # the updates took seqs, the message stays last


def test_a_new_member_has_nothing_unread_from_before_they_joined(group: Group, make_user: Callable[..., User]) -> None:
    sent(group, group.alice, "before")
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    room = room_of(group, carol)
    assert (room["read_seq"], room["unread"], room["last_message"]) == (1, 0, None)
    # A room that shows its history shows the last message, still not unread.
    room_settings_change(actor=group.owner, room_id=group.room.pk, history_visible=True)
    dave = make_user("dave")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=dave.pk)
    room = room_of(group, dave)
    assert (room["unread"], room["last_message"]["content"]) == (0, text("before"))
    after = sent(group, group.alice, "after")
    room = room_of(group, dave)
    assert (room["unread"], room["last_message"]["id"]) == (1, after["msgID"])


def test_rooms_come_most_recently_active_first(group: Group) -> None:
    start = timezone.now()
    with frozen_now(start):
        quiet = room_create(actor=group.bob, name="Quiet", is_group=True, member_ids=[])
    with frozen_now(start + timedelta(seconds=1)):
        dm = room_create(actor=group.alice, name="dm", member_ids=[group.bob.pk])
    with frozen_now(start + timedelta(seconds=2)):
        message = sent(group, group.alice, "team")
    data = listing(group, group.bob)
    assert data["room_ids"] == [group.room.pk, dm.pk, quiet.pk] == [r["id"] for r in data["rooms"]]
    # Quiet was never active: its creation time stands in.
    assert data["rooms"][2]["last_activity_at"] == room_of(group, group.bob, quiet.pk)["last_activity_at"]
    assert Room.objects.get(pk=quiet.pk).last_activity_at is None
    with frozen_now(start + timedelta(seconds=3)):
        assert_ok(post_json(group.client(group.alice), "/api/chat/send_message", {"room_id": dm.pk, "content": text()}))
    assert listing(group, group.bob)["room_ids"] == [dm.pk, group.room.pk, quiet.pk]
    # Any timeline entry is activity: a reaction in Team brings it back on top.
    with frozen_now(start + timedelta(seconds=4)):
        assert_ok(react(group.client(group.owner), message["msgID"], "🎉"))
    assert listing(group, group.bob)["room_ids"] == [group.room.pk, dm.pk, quiet.pk]


def test_a_fixed_number_of_queries_whatever_the_number_of_rooms(group: Group) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rooms_joined(user_id=group.bob.pk)
        return len(captured)

    sent(group, group.alice, "hi", mentions=[group.bob.pk])
    one = queries()
    for n in range(12):
        room = room_create(actor=group.alice, name=f"R{n}", is_group=True, member_ids=[group.bob.pk])
        message = assert_ok(
            post_json(group.client(group.alice), "/api/chat/send_message", {"room_id": room.pk, "content": text()})
        )["data"]
        assert_ok(react(group.client(group.bob), message["msgID"], "👍"))
    assert one <= 4
    assert queries() == one
    assert len(rooms_joined(user_id=group.bob.pk)) == 13


def test_a_read_position_is_never_below_the_join(group: Group, make_user: Callable[..., User]) -> None:
    sent(group, group.alice, "before")
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    assert Membership.objects.get(room=group.room, user=carol).read_seq == 1
    assert read(group, carol, 0)["read_seq"] == 1


def test_the_reply_is_what_the_documented_serializer_writes(group: Group) -> None:
    sent(group, group.alice, "one", mentions=[group.bob.pk])
    doomed = sent(group, group.alice, "two")
    assert_ok(delete(group.client(group.alice), doomed["msgID"]))
    room_create(actor=group.alice, name="quiet", is_group=True, member_ids=[group.bob.pk])
    rooms = rooms_joined(user_id=group.bob.pk)
    assert [joined_room_json(room) for room in rooms] == JoinedRoomOut(rooms, many=True).data
    assert listing(group, group.bob)["rooms"] == [joined_room_json(room) for room in rooms]
