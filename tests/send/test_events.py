"""The room timeline over HTTP, `GET /api/chat/events` (API.md §7.1), and the frames the
gateways read for a member (`timeline_frames_between`): messages and updates in one seq space,
every message as it is now, nothing from before the member may see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from meta.models import Room, User
from meta.services import member_add
from send.models import Message
from send.selectors import timeline_frames_between
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import (
    EVENTS,
    FIXED_NOW_WIRE,
    FRESH_FIELDS,
    Group,
    assert_error,
    assert_ok,
    delete,
    edit,
    frozen_now,
    pin,
    react,
    sent,
    text,
    updated,
)

pytestmark = pytest.mark.django_db


def _events(group: Group, user: User, **params: Any) -> dict[str, Any]:
    data = assert_ok(group.client(user).get(EVENTS, {"room_id": group.room.pk, **params}))["data"]
    assert set(data) == {"events", "last_seq", "has_more"}
    return data


def test_messages_and_updates_in_one_seq_order(group: Group) -> None:
    with frozen_now():
        first = sent(group, group.alice, "hi")
        updated(react(group.client(group.bob), first["msgID"], "👋"))
        second = sent(group, group.bob, "yo", reply_to=first["msgID"])
        updated(edit(group.client(group.alice), first["msgID"], text("hi all")))
        updated(pin(group.client(group.owner), second["msgID"]))
    data = _events(group, group.owner)
    assert data["last_seq"] == 5 and data["has_more"] is False
    assert [(e["seq"], e["type"], e["id"]) for e in data["events"]] == [
        (1, "chat", first["msgID"]),
        (2, "update", first["msgID"]),
        (3, "chat", second["msgID"]),
        (4, "update", first["msgID"]),
        (5, "update", second["msgID"]),
    ]
    chat = data["events"][0]
    # A frame served later shows the message as it is now: edited, reacted to.
    assert chat == {
        "id": first["msgID"],
        "type": "chat",
        "room_id": group.room.pk,
        "sender_id": group.alice.pk,
        "seq": 1,
        "created_at": FIXED_NOW_WIRE,
        "client_msg_id": None,
        **FRESH_FIELDS,
        "edited_at": FIXED_NOW_WIRE,
        "reactions": [{"key": "👋", "count": 1, "user_ids": [group.bob.pk]}],
        "payload": {"type": "text", "text": "hi all"},
    }
    reaction = data["events"][1]
    assert reaction["sender_id"] == group.bob.pk and reaction["created_at"] == FIXED_NOW_WIRE
    assert {k: v for k, v in reaction["payload"].items() if k != "message"} == {
        "event": "reaction",
        "key": "👋",
        "user_id": group.bob.pk,
        "on": True,
    }
    assert reaction["payload"]["message"]["content"] == {"type": "text", "text": "hi all"}
    assert data["events"][2]["reply_to"] == first["msgID"] and data["events"][2]["pinned"] is True
    assert data["events"][4]["payload"]["pinned"] is True


def test_paging_with_after_seq_and_limit(group: Group) -> None:
    first = sent(group, group.alice)
    for key in ("a", "b", "c"):
        updated(react(group.client(group.bob), first["msgID"], key))
    sent(group, group.bob)
    page = _events(group, group.alice, after_seq=1, limit=2)
    assert [e["seq"] for e in page["events"]] == [2, 3] and page["has_more"] is True and page["last_seq"] == 5
    page = _events(group, group.alice, after_seq=3, limit=2)
    assert [e["seq"] for e in page["events"]] == [4, 5] and page["has_more"] is False
    page = _events(group, group.alice, after_seq=5)
    assert page == {"events": [], "last_seq": 5, "has_more": False}


def test_more_than_500_is_taken_as_500(group: Group) -> None:
    Message.objects.bulk_create(
        [Message(room=group.room, sender=group.alice, seq=n, content=text(f"m{n}")) for n in range(1, 503)]
    )
    Room.objects.filter(pk=group.room.pk).update(last_seq=502)
    page = _events(group, group.alice, limit=100000)
    assert len(page["events"]) == 500 and page["has_more"] is True
    assert len(_events(group, group.alice)["events"]) == 100  # the default


def test_from_the_members_join_onward_with_hidden_targets(group: Group, make_user: Callable[..., User]) -> None:
    old = sent(group, group.alice, "before carol")
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    new = sent(group, group.alice, "after carol")
    updated(react(group.client(group.bob), old["msgID"], "👍"))
    updated(react(group.client(group.bob), new["msgID"], "👍"))
    data = _events(group, carol)  # after_seq 0: still nothing from before her join
    assert [(e["seq"], e["type"]) for e in data["events"]] == [(2, "chat"), (3, "update"), (4, "update")]
    hidden, shown = data["events"][1], data["events"][2]
    assert hidden["id"] == old["msgID"] and hidden["payload"] == {
        "event": "reaction",
        "key": "👍",
        "user_id": group.bob.pk,
        "on": True,
        "message": None,
    }
    assert shown["payload"]["message"]["id"] == new["msgID"]
    # Everyone who was there sees both.
    assert [e["payload"]["message"]["id"] for e in _events(group, group.alice)["events"][2:]] == [
        old["msgID"],
        new["msgID"],
    ]


def test_a_deleted_messages_content_never_comes_back(group: Group) -> None:
    first = sent(group, group.alice, "oops, my password is hunter2")
    updated(edit(group.client(group.alice), first["msgID"], text("oops, my password is hunter3")))
    updated(delete(group.client(group.alice), first["msgID"]))
    data = _events(group, group.bob)
    chat, edited, deleted = data["events"]
    assert (chat["payload"], chat["deleted"]) == (None, True)
    assert edited["payload"]["message"]["content"] is None
    assert deleted["payload"]["event"] == "delete" and deleted["payload"]["by"] == group.alice.pk
    assert "hunter" not in repr(data)
    frames = timeline_frames_between(user_id=group.bob.pk, room_id=group.room.pk, after_seq=0, upto_seq=3, limit=50)
    assert "hunter" not in repr(frames)


def test_events_are_for_members(group: Group, api: Any) -> None:
    assert_error(
        group.client(group.outsider).get(EVENTS, {"room_id": group.room.pk}),
        403,
        f"you are not a member of room {group.room.pk}",
    )
    assert_error(group.client(group.alice).get(EVENTS, {"room_id": 987654}), 404, "room 987654 does not exist")
    assert_error(api.get(EVENTS, {"room_id": group.room.pk}), 401, MISSING_TOKEN_MSG)
    for params in ({}, {"room_id": group.room.pk, "limit": 0}, {"room_id": group.room.pk, "after_seq": -1}):
        assert group.client(group.alice).get(EVENTS, params).status_code == 400


# --- what the gateways read ------------------------------------------------------------------------


def test_timeline_frames_carry_seq_msg_id_and_kind(group: Group) -> None:
    first = sent(group, group.alice)
    updated(react(group.client(group.bob), first["msgID"], "👍"))
    second = sent(group, group.bob)
    frames = timeline_frames_between(user_id=group.alice.pk, room_id=group.room.pk, after_seq=0, upto_seq=3, limit=10)
    assert [(f.seq, f.msg_id, f.update, f.frame["type"]) for f in frames] == [
        (1, first["msgID"], False, "chat"),
        (2, first["msgID"], True, "update"),
        (3, second["msgID"], False, "chat"),
    ]
    limited = timeline_frames_between(user_id=group.alice.pk, room_id=group.room.pk, after_seq=1, upto_seq=3, limit=1)
    assert [f.seq for f in limited] == [2]
    assert (
        timeline_frames_between(user_id=group.outsider.pk, room_id=group.room.pk, after_seq=0, upto_seq=3, limit=10)
        == []
    )


def test_timeline_frames_never_reach_back_before_the_member_may_see(
    group: Group, make_user: Callable[..., User]
) -> None:
    first = sent(group, group.alice, "old")
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    updated(react(group.client(group.bob), first["msgID"], "👍"))
    frames = timeline_frames_between(user_id=carol.pk, room_id=group.room.pk, after_seq=0, upto_seq=2, limit=10)
    assert [(f.seq, f.update, f.frame["payload"]["message"]) for f in frames] == [(2, True, None)]
