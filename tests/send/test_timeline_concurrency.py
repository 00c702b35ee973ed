"""Races on the timeline: real threads, each with its own database connection, released
together. Every update locks its room and takes the next seq under that lock, so the rules
hold and the seqs stay one gapless sequence whatever the interleaving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chatproject.exceptions import Conflict
from meta.models import Room, User
from meta.services import member_add, member_role_change, room_create
from send.models import Message, MessageUpdate, Reaction
from send.services import message_send
from send.updates import PINS_MAX, REACTION_KEYS_MAX, message_edit, message_pin, message_react
from tests.meta.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}


def _room(make_user: Callable[..., User], members: int = 2) -> tuple[Room, User, list[User]]:
    owner = make_user()
    users = [make_user() for _ in range(members)]
    room = room_create(actor=owner, name="race", is_group=True, member_ids=[u.pk for u in users])
    return room, owner, users


def _timeline_is_gapless(room: Room) -> None:
    messages = Message.objects.filter(room=room).values_list("seq", flat=True)
    updates = MessageUpdate.objects.filter(room=room).values_list("seq", flat=True)
    seqs = sorted([*messages, *updates])
    assert seqs == list(range(1, Room.objects.get(pk=room.pk).last_seq + 1))


def test_two_edits_at_once_both_land_in_order(make_user: Callable[..., User]) -> None:
    room, _owner, (alice, _bob) = _room(make_user)
    first = message_send(sender=alice, room_id=room.pk, content=_text("v0"))
    results = run_together(
        [lambda n=n: message_edit(actor=alice, message_id=first["id"], content=_text(f"v{n}")) for n in (1, 2)]
    )
    assert sorted(r.seq for r in results) == [2, 3], results
    last = max(results, key=lambda r: r.seq)
    assert Message.objects.get(pk=first["id"]).content == last.message["content"]
    # Each edit replaced what the one before it wrote: neither was lost.
    earlier = min(results, key=lambda r: r.seq)
    previous = list(MessageUpdate.objects.order_by("seq").values_list("previous_content", flat=True))
    assert previous == [_text("v0"), earlier.message["content"]]
    _timeline_is_gapless(room)


def test_the_same_edit_twice_at_once_lands_once(make_user: Callable[..., User]) -> None:
    room, _owner, (alice, _bob) = _room(make_user)
    first = message_send(sender=alice, room_id=room.pk, content=_text("v0"))
    results = run_together([lambda: message_edit(actor=alice, message_id=first["id"], content=_text("v1"))] * 4)
    assert sorted(r.seq or 0 for r in results) == [0, 0, 0, 2], results
    _timeline_is_gapless(room)


def test_reaction_on_and_off_races_end_consistent(make_user: Callable[..., User]) -> None:
    room, _owner, (alice, bob) = _room(make_user)
    first = message_send(sender=alice, room_id=room.pk, content=_text("react"))
    calls = [
        lambda on=on: message_react(actor=bob, message_id=first["id"], key="👍", on=on) for on in [True, False] * 4
    ]
    results = run_together(calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    landed = sorted((r.seq, r.message["reactions"]) for r in results if r.seq is not None)
    # What stayed is what the last landed update says; each landed update flipped the state.
    there = Reaction.objects.filter(message_id=first["id"], user=bob, key="👍").exists()
    events = list(MessageUpdate.objects.order_by("seq").values_list("payload__on", flat=True))
    assert events == [True, False] * (len(events) // 2) + ([True] if len(events) % 2 else [])
    assert there == (events[-1] if events else False)
    assert [seq for seq, _ in landed] == list(range(2, 2 + len(landed)))
    _timeline_is_gapless(room)


def test_many_users_react_at_once_and_all_count(make_user: Callable[..., User]) -> None:
    room, owner, users = _room(make_user, members=8)
    first = message_send(sender=owner, room_id=room.pk, content=_text("party"))
    results = run_together([lambda u=u: message_react(actor=u, message_id=first["id"], key="🎉") for u in users])
    assert sorted(r.seq for r in results) == list(range(2, 10))
    final = max(results, key=lambda r: r.seq).message["reactions"]
    assert final[0]["count"] == 8 and sorted(final[0]["user_ids"]) == sorted(u.pk for u in users)
    _timeline_is_gapless(room)


def test_the_twentieth_key_goes_to_one_racer_only(make_user: Callable[..., User]) -> None:
    room, owner, users = _room(make_user, members=6)
    first = message_send(sender=owner, room_id=room.pk, content=_text("keys"))
    for n in range(REACTION_KEYS_MAX - 1):
        message_react(actor=owner, message_id=first["id"], key=f"k{n}")
    results = run_together(
        [lambda u=u: message_react(actor=u, message_id=first["id"], key=f"new{u.pk}") for u in users]
    )
    assert len([r for r in results if not isinstance(r, Exception)]) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert Reaction.objects.filter(message_id=first["id"]).values("key").distinct().count() == REACTION_KEYS_MAX
    _timeline_is_gapless(room)


def test_the_last_pin_goes_to_one_racer_only(make_user: Callable[..., User]) -> None:
    room, owner, users = _room(make_user, members=1)
    ids = [message_send(sender=owner, room_id=room.pk, content=_text(f"m{n}"))["id"] for n in range(PINS_MAX + 5)]
    for message_id in ids[: PINS_MAX - 1]:
        message_pin(actor=owner, message_id=message_id)
    admin = users[0]
    member_role_change(actor=owner, room_id=room.pk, target_user_id=admin.pk, new_role=1)
    racers = [(owner, ids[-1]), (owner, ids[-2]), (admin, ids[-3]), (admin, ids[-4]), (owner, ids[-5])]
    results: list[Any] = run_together([lambda a=a, m=m: message_pin(actor=a, message_id=m) for a, m in racers])
    assert len([r for r in results if not isinstance(r, Exception)]) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))
    assert Message.objects.filter(room=room, pinned_seq__isnull=False).count() == PINS_MAX
    _timeline_is_gapless(room)


def test_updates_and_messages_interleave_without_a_gap(make_user: Callable[..., User]) -> None:
    room, owner, users = _room(make_user, members=4)
    first = message_send(sender=owner, room_id=room.pk, content=_text("base"))
    late = make_user()
    calls: list[Callable[[], Any]] = []
    for n, user in enumerate(users):
        calls.append(lambda u=user, n=n: message_send(sender=u, room_id=room.pk, content=_text(f"m{n}")))
        calls.append(lambda u=user: message_react(actor=u, message_id=first["id"], key="👍"))
    calls.append(lambda: member_add(actor=owner, room_id=room.pk, user_id=late.pk))
    results = run_together(calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    _timeline_is_gapless(room)
    assert Room.objects.get(pk=room.pk).last_seq == 1 + 2 * len(users)
