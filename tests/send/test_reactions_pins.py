"""Reactions and pins (API.md §8.3): keys, limits, summaries, who may pin, the pins list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from meta.models import Membership, Role, Room, User
from meta.services import member_add, member_remove
from send.models import Message, Reaction
from send.updates import PINS_MAX
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import PINS, Group, assert_error, assert_ok, delete, pin, react, sent, updated

pytestmark = pytest.mark.django_db


def _last_seq(group: Group) -> int:
    return Room.objects.get(pk=group.room.pk).last_seq


# --- reactions ----------------------------------------------------------------------------------


def test_a_reaction_on_and_off(group: Group) -> None:
    first = sent(group, group.alice)
    message, seq = updated(react(group.client(group.bob), first["msgID"], "👍"))
    assert seq == 2
    assert message["reactions"] == [{"key": "👍", "count": 1, "user_ids": [group.bob.pk]}]
    # Again: already there, nothing changes, no seq.
    message, seq = updated(react(group.client(group.bob), first["msgID"], "👍", on=True))
    assert seq is None and message["reactions"][0]["count"] == 1
    message, seq = updated(react(group.client(group.bob), first["msgID"], "👍", on=False))
    assert seq == 3 and message["reactions"] == []
    message, seq = updated(react(group.client(group.bob), first["msgID"], "👍", on=False))
    assert seq is None
    assert _last_seq(group) == 3


def test_summaries_count_everyone_and_name_the_first_twenty_by_time(
    group: Group, make_user: Callable[..., User]
) -> None:
    first = sent(group, group.alice)
    users = [make_user() for _ in range(22)]
    for user in users:
        member_add(actor=group.owner, room_id=group.room.pk, user_id=user.pk)
    # Joined after the message: they cannot see it (404) — make them see it by a later message.
    second = sent(group, group.alice, "for everyone")
    for user in reversed(users):
        updated(react(group.client(user), second["msgID"], "🎉"))
    updated(react(group.client(group.bob), second["msgID"], "ok"))
    updated(react(group.client(group.alice), second["msgID"], "🎉"))
    message, _ = updated(react(group.client(group.owner), second["msgID"], "ok"))
    assert message["reactions"] == [
        {"key": "🎉", "count": 23, "user_ids": [u.pk for u in reversed(users)][:20]},
        {"key": "ok", "count": 2, "user_ids": [group.bob.pk, group.owner.pk]},
    ]
    assert_error(react(group.client(users[0]), first["msgID"], "👀"), 404, f"message {first['msgID']} does not exist")


@pytest.mark.parametrize(
    "key",
    ["👍", "ok", "x" * 32, "👩‍👩‍👧", "🏳️‍🌈", "+1", "🇫🇷"],
    ids=["emoji", "token", "32-chars", "zwj-sequence", "flag-zwj", "plus-one", "regional"],
)
def test_keys_that_are_fine(group: Group, key: str) -> None:
    first = sent(group, group.alice)
    message, seq = updated(react(group.client(group.bob), first["msgID"], key))
    assert seq == 2 and message["reactions"][0]["key"] == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "must be 1 to 32 characters"),
        ("x" * 33, "must be 1 to 32 characters"),
        ("thumbs up", "must not contain whitespace or control characters"),
        ("tab\there", "must not contain whitespace or control characters"),
        ("\u00a0", "must not contain whitespace or control characters"),
        ("bell\x07", "must not contain whitespace or control characters"),
        (" 👍", "must not contain whitespace or control characters"),
    ],
    ids=["empty", "33-chars", "space", "tab", "nbsp", "control", "leading-space"],
)
def test_keys_that_are_refused(group: Group, key: str, reason: str) -> None:
    first = sent(group, group.alice)
    assert_error(react(group.client(group.bob), first["msgID"], key), 400, f"key: {reason}", errors={"key": [reason]})
    assert _last_seq(group) == 1


def test_a_key_must_be_a_string(group: Group) -> None:
    first = sent(group, group.alice)
    response = react(group.client(group.bob), first["msgID"], 5)
    assert response.status_code == 400 and response.json()["errors"] == {"key": ["must be a string"]}
    response = react(group.client(group.bob), first["msgID"], "👍", on="yes")
    assert response.status_code == 400 and response.json()["errors"] == {"on": ["must be true or false"]}


def test_twenty_distinct_keys_at_most(group: Group) -> None:
    first = sent(group, group.alice)
    for n in range(20):
        updated(react(group.client(group.bob), first["msgID"], f"k{n}"))
    assert_error(
        react(group.client(group.alice), first["msgID"], "k20"), 409, "a message has at most 20 different reactions"
    )
    # A key already there is still welcome from someone else.
    message, seq = updated(react(group.client(group.alice), first["msgID"], "k7"))
    assert seq is not None and len(message["reactions"]) == 20
    # One key gone: room for another.
    updated(react(group.client(group.bob), first["msgID"], "k0", on=False))
    assert updated(react(group.client(group.alice), first["msgID"], "k20"))[1] is not None


def test_no_reactions_to_a_deleted_message(group: Group) -> None:
    first = sent(group, group.alice)
    updated(react(group.client(group.bob), first["msgID"], "👍"))
    updated(delete(group.client(group.alice), first["msgID"]))
    assert not Reaction.objects.exists()
    assert_error(react(group.client(group.bob), first["msgID"], "👍"), 409, f"message {first['msgID']} was deleted")


def test_only_members_who_see_the_message_react(group: Group) -> None:
    first = sent(group, group.alice)
    hidden = f"message {first['msgID']} does not exist"
    assert_error(react(group.client(group.outsider), first["msgID"], "👍"), 404, hidden)
    member_remove(actor=group.owner, room_id=group.room.pk, target_user_id=group.bob.pk)
    assert_error(react(group.client(group.bob), first["msgID"], "👍"), 404, hidden)


def test_reaction_frames_name_the_key_the_user_and_on(
    group: Group, updates_published: list[dict[str, Any]], django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    first = sent(group, group.alice)
    with django_capture_on_commit_callbacks(execute=True):
        updated(react(group.client(group.bob), first["msgID"], "🔥"))
        updated(react(group.client(group.bob), first["msgID"], "🔥", on=False))
    on, off = (call["frame"] for call in updates_published)
    assert (on["type"], on["id"], on["sender_id"], on["seq"]) == ("update", first["msgID"], group.bob.pk, 2)
    assert {k: v for k, v in on["payload"].items() if k != "message"} == {
        "event": "reaction",
        "key": "🔥",
        "user_id": group.bob.pk,
        "on": True,
    }
    assert on["payload"]["message"]["reactions"] == [{"key": "🔥", "count": 1, "user_ids": [group.bob.pk]}]
    assert off["payload"]["on"] is False and off["payload"]["message"]["reactions"] == []


# --- pins ------------------------------------------------------------------------------------------


def test_owner_and_admins_pin_and_unpin(group: Group) -> None:
    first = sent(group, group.alice)
    message, seq = updated(pin(group.client(group.owner), first["msgID"]))
    assert (message["pinned"], seq) == (True, 2)
    assert updated(pin(group.client(group.owner), first["msgID"], pinned=True))[1] is None
    Membership.objects.filter(room=group.room, user=group.bob).update(role=Role.ADMIN)
    message, seq = updated(pin(group.client(group.bob), first["msgID"], pinned=False))
    assert (message["pinned"], seq) == (False, 3)
    assert updated(pin(group.client(group.bob), first["msgID"], pinned=False))[1] is None


def test_members_do_not_pin(group: Group) -> None:
    first = sent(group, group.alice)
    assert_error(
        pin(group.client(group.alice), first["msgID"]),
        403,
        f"only the owner or an admin of room {group.room.pk} can pin messages",
    )
    assert_error(pin(group.client(group.outsider), first["msgID"]), 404, f"message {first['msgID']} does not exist")


def test_fifty_pins_per_room_at_most(group: Group) -> None:
    ids = [sent(group, group.alice, f"m{n}")["msgID"] for n in range(PINS_MAX + 1)]
    for message_id in ids[:PINS_MAX]:
        updated(pin(group.client(group.owner), message_id))
    assert_error(pin(group.client(group.owner), ids[-1]), 409, "a room has at most 50 pinned messages: unpin one first")
    updated(pin(group.client(group.owner), ids[0], pinned=False))
    assert updated(pin(group.client(group.owner), ids[-1]))[1] is not None
    assert Message.objects.filter(pinned_seq__isnull=False).count() == PINS_MAX


def test_a_deleted_message_is_unpinned_and_cannot_be_pinned(group: Group) -> None:
    first = sent(group, group.alice)
    updated(pin(group.client(group.owner), first["msgID"]))
    updated(delete(group.client(group.alice), first["msgID"]))
    assert_error(pin(group.client(group.owner), first["msgID"]), 409, f"message {first['msgID']} was deleted")
    assert updated(pin(group.client(group.owner), first["msgID"], pinned=False))[1] is None


def test_the_pins_list_is_most_recently_pinned_first_and_what_the_member_sees(
    group: Group, make_user: Callable[..., User]
) -> None:
    one, two, three = (sent(group, group.alice, t)["msgID"] for t in ("one", "two", "three"))
    for message_id in (two, one):
        updated(pin(group.client(group.owner), message_id))
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    four = sent(group, group.alice, "four")["msgID"]
    updated(pin(group.client(group.owner), four))
    updated(pin(group.client(group.owner), three))
    listed = assert_ok(group.client(group.bob).get(PINS, {"room_id": group.room.pk}))["data"]
    assert set(listed) == {"messages"}
    assert [m["id"] for m in listed["messages"]] == [three, four, one, two]
    assert all(m["pinned"] for m in listed["messages"])
    # Carol joined after the first three: she sees the pin of the fourth only.
    carols = assert_ok(group.client(carol).get(PINS, {"room_id": group.room.pk}))["data"]["messages"]
    assert [m["id"] for m in carols] == [four]


def test_the_pins_list_is_for_members(group: Group, api: Any) -> None:
    assert_error(
        group.client(group.outsider).get(PINS, {"room_id": group.room.pk}),
        403,
        f"you are not a member of room {group.room.pk}",
    )
    assert_error(
        group.client(group.alice).get(PINS, {"room_id": group.room.pk + 99}),
        404,
        f"room {group.room.pk + 99} does not exist",
    )
    assert_error(api.get(PINS, {"room_id": group.room.pk}), 401, MISSING_TOKEN_MSG)
    response = group.client(group.alice).get(PINS, {"room_id": "x"})
    assert response.status_code == 400
