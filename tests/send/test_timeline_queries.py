"""Reads of the timeline are a fixed number of queries, whatever the page holds: history of 200
messages with reactions, replies and mentions costs what a page of one does; so do events,
search, pins and the frames the gateways read."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meta.models import User
from send.models import Mention, Message, Reaction
from send.selectors import message_history, message_search, pins_list, room_events, timeline_frames_between
from send.services import message_send
from send.updates import message_edit, message_pin, message_react
from tests.send.conftest import Group, text

pytestmark = pytest.mark.django_db

# membership (with its room), the page, its reactions, its mentions
HISTORY_QUERIES = 4
# membership, messages, updates, reactions, mentions; and the updates' targets when the page
# does not hold them
EVENTS_QUERIES = 5
# memberships, the matches, reactions, mentions
SEARCH_QUERIES = 4
PINS_QUERIES = 4
FRAMES_QUERIES = 5


def _busy_room(group: Group, messages: int, extra_users: list[User]) -> list[int]:
    """`messages` text messages, each a reply to the one before with two mentions, each with
    three reactions (one key from everyone, and others); a few edits and pins among them."""
    ids: list[int] = []
    for n in range(messages):
        obj = message_send(
            sender=group.alice,
            room_id=group.room.pk,
            content=text(f"word {n}"),
            reply_to=ids[-1] if ids else None,
            mentions=[group.bob.pk, group.owner.pk],
        )
        ids.append(obj["id"])
    # Reactions and mentions written in bulk (the services would take a seq each: slow, and
    # besides the point here).
    Reaction.objects.bulk_create(
        [
            Reaction(room=group.room, message_id=message_id, user=user, key=key)
            for message_id in ids
            for user, key in (
                (group.bob, "👍"),
                (group.owner, "👍"),
                (group.alice, "🎉"),
                *((u, "👍") for u in extra_users),
            )
        ]
    )
    for message_id in ids[:3]:
        message_edit(actor=group.alice, message_id=message_id, content=text("edited word"))
        message_pin(actor=group.owner, message_id=message_id)
        message_react(actor=group.bob, message_id=message_id, key="🔥")
    return ids


@pytest.mark.parametrize("size", [1, 200])
def test_history_of_any_length_is_four_queries(
    group: Group, django_assert_num_queries: Any, make_user: Any, size: int
) -> None:
    _busy_room(group, size, [make_user() for _ in range(25)])
    with django_assert_num_queries(HISTORY_QUERIES):
        page = message_history(user_id=group.bob.pk, room_id=group.room.pk, after_seq=None, before_seq=None, limit=200)
    assert len(page.messages) == size
    newest = page.messages[-1]
    assert newest["mentions"] == sorted([group.bob.pk, group.owner.pk])
    assert newest["reactions"][0]["key"] == "👍" and newest["reactions"][0]["count"] == 27
    assert len(newest["reactions"][0]["user_ids"]) == 20
    if size > 1:
        assert newest["reply_to"] == page.messages[-2]["id"]
    assert Mention.objects.count() == 2 * size


def test_the_history_endpoint_costs_the_same_for_1_and_200_messages(group: Group, make_user: Any) -> None:
    counts = []
    for size in (1, 199):
        _busy_room(group, size, [make_user() for _ in range(3)])
        client = group.client(group.bob)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/chat/messages", {"room_id": group.room.pk, "limit": 200})
        assert response.status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1], counts
    assert len(response.json()["data"]["messages"]) == 200


@pytest.mark.parametrize("size", [2, 120])
def test_events_search_pins_and_frames_are_fixed_numbers_of_queries(
    group: Group, django_assert_num_queries: Any, make_user: Any, size: int
) -> None:
    _busy_room(group, size, [make_user() for _ in range(2)])
    with django_assert_num_queries(EVENTS_QUERIES):
        events = room_events(user_id=group.bob.pk, room_id=group.room.pk, after_seq=0, limit=500)
    updates = 3 * min(size, 3)  # an edit, a pin and a reaction of each of the first three
    assert len(events.events) == size + updates
    with django_assert_num_queries(EVENTS_QUERIES + 1):
        only_updates = room_events(user_id=group.bob.pk, room_id=group.room.pk, after_seq=size, limit=500)
    assert [e["type"] for e in only_updates.events] == ["update"] * updates
    assert all(e["payload"]["message"]["deleted"] is False for e in only_updates.events)
    with django_assert_num_queries(SEARCH_QUERIES):
        found = message_search(user_id=group.bob.pk, q="word", room_id=None, limit=100, offset=0)
    assert len(found.messages) == min(size, 100)
    with django_assert_num_queries(PINS_QUERIES):
        pins = pins_list(user_id=group.bob.pk, room_id=group.room.pk)
    assert len(pins) == min(size, 3)
    with django_assert_num_queries(FRAMES_QUERIES):
        frames = timeline_frames_between(
            user_id=group.bob.pk, room_id=group.room.pk, after_seq=0, upto_seq=10_000, limit=500
        )
    assert len(frames) == size + updates
    with django_assert_num_queries(FRAMES_QUERIES + 1):
        frames = timeline_frames_between(
            user_id=group.bob.pk, room_id=group.room.pk, after_seq=size, upto_seq=10_000, limit=500
        )
    assert len(frames) == updates
    assert Message.objects.count() == size
