"""The catch-up reads a gateway gathers across sockets (`gateway.delivery.store`):
`timeline_frames_for_many` and `positions_for_members` answer each request of a batch exactly as
it is answered alone, in a fixed number of queries whatever the batch's size."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import pytest

from meta.models import User
from meta.services import member_add, room_create
from send.positions import (
    confirmations_record,
    device_open,
    position_for_member,
    positions_for_members,
    positions_for_sockets,
)
from send.selectors import FramesRequest, timeline_frames_between, timeline_frames_for_many
from tests.send.conftest import Group, delete, edit, pin, react, sent, text, updated

pytestmark = pytest.mark.django_db


def _busy(group: Group, make_user: Callable[..., User]) -> list[User]:
    """A room of 40 entries, edits, deletes, reactions and pins among them, and members who
    joined along the way (the room's history is not visible: each sees from their join)."""
    late = []
    rng = random.Random(5)
    ids = []
    for i in range(24):
        sender = group.alice if i < 2 else rng.choice([group.alice, group.bob])  # edits and deletes are hers
        ids.append(sent(group, sender, f"m{i}")["msgID"])
        if i % 6 == 5:
            newcomer = make_user()
            member_add(actor=group.owner, room_id=group.room.pk, user_id=newcomer.pk)
            late.append(newcomer)
        if i % 4 == 3:
            target = rng.choice(ids)
            updated(react(group.client(group.bob), target, "👍"))
            updated(edit(group.client(group.alice), ids[0], text(f"edited {i}")))
    updated(pin(group.client(group.owner), ids[3]))
    updated(delete(group.client(group.alice), ids[1]))
    return late


def _frames(frames: list) -> list[tuple[int, int, bool, dict]]:
    return [(f.seq, f.msg_id, f.update, f.frame) for f in frames]


def test_a_batch_answers_each_request_as_it_is_answered_alone(group: Group, make_user: Callable[..., User]) -> None:
    late = _busy(group, make_user)
    other = room_create(actor=group.alice, name="Other", is_group=True, member_ids=[group.bob.pk])
    elsewhere = dataclasses.replace(group, room=other)
    for i in range(12):  # the same seqs in another room: a frame is its room's
        sent(elsewhere, group.bob if i % 2 else group.alice, f"elsewhere {i}")
    readers = [group.owner, group.alice, group.bob, group.outsider, *late]
    last = group.room.__class__.objects.get(pk=group.room.pk).last_seq
    rng = random.Random(11)
    # Large limits (one read per room) and small ones (windows read in groups of close starts).
    for limits in ([1, 3, 7, 500], [1, 2, 3], [1]):
        requests = []
        for _ in range(60):
            after = rng.randint(0, last)
            requests.append(
                FramesRequest(
                    user_id=rng.choice(readers).pk,
                    room_id=rng.choice([group.room.pk, group.room.pk, other.pk]),
                    after_seq=after,
                    upto_seq=rng.randint(after, last + 2),
                    limit=rng.choice(limits),
                )
            )
        batch = timeline_frames_for_many(requests)
        alone = [timeline_frames_between(**vars(r)) for r in requests]
        assert [_frames(f) for f in batch] == [_frames(f) for f in alone]
    assert any(batch) and any(not f for f in batch)  # the outsider, an empty range


def test_a_batch_is_a_fixed_number_of_queries(
    group: Group, make_user: Callable[..., User], django_assert_max_num_queries: Callable[..., object]
) -> None:
    late = _busy(group, make_user)
    readers = [group.owner, group.alice, group.bob, *late]
    requests = [
        FramesRequest(user_id=readers[i % len(readers)].pk, room_id=group.room.pk, after_seq=i, upto_seq=40, limit=500)
        for i in range(40)
    ]
    with django_assert_max_num_queries(6):
        batch = timeline_frames_for_many(requests)
    assert sum(len(f) for f in batch) > 100


def test_positions_of_many_members_and_devices_as_each_alone(group: Group) -> None:
    for i in range(6):
        sent(group, group.alice, f"m{i}")
    phone = device_open(user_id=group.bob.pk, device_id="phone")  # starts where bob stands: 0
    confirmations_record(confirmed={(group.bob.pk, group.room.pk): 2}, device_confirmed={(phone, group.room.pk): 2})
    confirmations_record(confirmed={(group.bob.pk, group.room.pk): 4}, device_confirmed={})
    keys = [
        (group.bob.pk, group.room.pk, None),
        (group.bob.pk, group.room.pk, phone),
        (group.alice.pk, group.room.pk, None),
        (group.outsider.pk, group.room.pk, None),
        (group.bob.pk, group.room.pk + 1000, None),
    ]
    batch = positions_for_members(keys=keys)
    assert batch == [position_for_member(user_id=u, room_id=r, device=d) for u, r, d in keys]
    sockets = positions_for_sockets(sockets=[(u, d) for u, _, d in keys])
    assert batch[:3] == [sockets[(u, d)][r] for u, r, d in keys[:3]]
    assert (batch[0].start, batch[1].start) == (4, 2)
    assert batch[3:] == [None, None]
