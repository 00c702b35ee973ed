"""Replies and mentions on send_message (API.md §8.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Count, Q

from meta.models import Role, Room, User
from meta.services import member_add, member_remove, member_role_change, room_create
from send.models import Mention, Message
from tests.send.conftest import HISTORY, Group, assert_error, assert_ok, send, sent, text

pytestmark = pytest.mark.django_db


def test_a_reply_names_the_message_it_answers(group: Group) -> None:
    first = sent(group, group.alice, "question")
    reply = sent(group, group.bob, "answer", reply_to=first["msgID"])
    messages = assert_ok(group.client(group.owner).get(HISTORY, {"room_id": group.room.pk}))["data"]["messages"]
    assert [(m["id"], m["reply_to"]) for m in messages] == [(first["msgID"], None), (reply["msgID"], first["msgID"])]


def test_a_reply_to_a_deleted_message_is_allowed(group: Group) -> None:
    first = sent(group, group.alice)
    group.client(group.alice).post("/api/chat/delete_message", {"message_id": first["msgID"]}, format="json")
    assert sent(group, group.bob, "it was deleted", reply_to=first["msgID"])["seq"] == 3


def test_reply_to_must_be_a_message_of_the_room_the_sender_sees(group: Group, make_user: Callable[..., User]) -> None:
    other = room_create(actor=group.alice, name="Other", is_group=True, member_ids=[group.bob.pk])
    elsewhere = assert_ok(send(group.client(group.alice), other.pk, text("elsewhere")))["data"]["msgID"]
    assert_error(
        send(group.client(group.bob), group.room.pk, text(), reply_to=elsewhere),
        400,
        f"reply_to: message {elsewhere} is not in room {group.room.pk}",
        errors={"reply_to": [f"must be a message of room {group.room.pk}"]},
    )
    assert_error(
        send(group.client(group.bob), group.room.pk, text(), reply_to=elsewhere + 100),
        404,
        f"reply_to: message {elsewhere + 100} does not exist",
    )
    before = sent(group, group.alice, "before carol")["msgID"]
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    assert_error(
        send(group.client(carol), group.room.pk, text(), reply_to=before),
        404,
        f"reply_to: message {before} does not exist",
    )
    # Nothing was stored and no seq was taken by the refusals.
    assert Room.objects.get(pk=group.room.pk).last_seq == 1
    response = send(group.client(group.bob), group.room.pk, text(), reply_to="1")
    assert response.status_code == 400 and response.json()["errors"] == {"reply_to": ["must be an integer id"]}


def test_mentions_are_members_listed_once_in_ascending_order(group: Group) -> None:
    data = sent(group, group.alice, "hey", mentions=[group.bob.pk, group.owner.pk, group.bob.pk])
    message = Message.objects.get(pk=data["msgID"])
    assert sorted(Mention.objects.filter(message=message).values_list("user_id", flat=True)) == sorted(
        [group.bob.pk, group.owner.pk]
    )
    messages = assert_ok(group.client(group.bob).get(HISTORY, {"room_id": group.room.pk}))["data"]["messages"]
    assert messages[0]["mentions"] == sorted([group.bob.pk, group.owner.pk])
    assert messages[0]["mention_all"] is False


def test_mentions_of_non_members_are_refused(group: Group) -> None:
    reason = f"users [{group.outsider.pk}, 999999] are not members of room {group.room.pk}"
    assert_error(
        send(group.client(group.alice), group.room.pk, text(), mentions=[group.outsider.pk, 999999, group.bob.pk]),
        400,
        f"mentions: {reason}",
        errors={"mentions": [reason]},
    )
    member_remove(actor=group.owner, room_id=group.room.pk, target_user_id=group.bob.pk)
    response = send(group.client(group.alice), group.room.pk, text(), mentions=[group.bob.pk])
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_fifty_mentions_at_most(group: Group, make_user: Callable[..., User]) -> None:
    users = [make_user() for _ in range(51)]
    room = room_create(actor=group.owner, name="Crowd", is_group=True, member_ids=[u.pk for u in users])
    ok = send(group.client(group.owner), room.pk, text(), mentions=[u.pk for u in users[:50]])
    assert len(assert_ok(ok)["data"]) == 5
    response = send(group.client(group.owner), room.pk, text(), mentions=[u.pk for u in users])
    assert response.status_code == 400
    assert response.json()["errors"] == {"mentions": ["Ensure this field has no more than 50 elements."]}


def test_mention_all_is_for_the_owner_and_admins(group: Group) -> None:
    assert_error(
        send(group.client(group.alice), group.room.pk, text("@all"), mention_all=True),
        403,
        f"only the owner or an admin of room {group.room.pk} can mention everyone",
    )
    assert sent(group, group.owner, "@all", mention_all=True)["seq"] == 1
    member_role_change(actor=group.owner, room_id=group.room.pk, target_user_id=group.alice.pk, new_role=Role.ADMIN)
    assert sent(group, group.alice, "@all", mention_all=True)["seq"] == 2
    messages = assert_ok(group.client(group.bob).get(HISTORY, {"room_id": group.room.pk}))["data"]["messages"]
    assert [m["mention_all"] for m in messages] == [True, True]
    response = send(group.client(group.owner), group.room.pk, text(), mention_all="yes")
    assert response.status_code == 400 and response.json()["errors"] == {"mention_all": ["must be true or false"]}


def test_unread_mentions_of_a_user_are_one_query(group: Group, django_assert_num_queries: Any) -> None:
    """What issue 13 needs: a user's mentions above a seq, per room, from one index; a
    `mention_all` message counts for everyone."""
    sent(group, group.alice, "one", mentions=[group.bob.pk])
    sent(group, group.owner, "two", mention_all=True)
    sent(group, group.alice, "three", mentions=[group.owner.pk])
    sent(group, group.alice, "four", mentions=[group.bob.pk])
    with django_assert_num_queries(1):
        counts = dict(
            Message.objects.filter(room__memberships__user=group.bob, seq__gt=1, deleted_at__isnull=True)
            .exclude(sender=group.bob)
            .filter(Q(mention_all=True) | Q(mention_rows__user=group.bob))
            .values_list("room_id")
            .annotate(n=Count("id", distinct=True))
        )
    assert counts == {group.room.pk: 2}


def test_a_reply_and_mentions_travel_in_the_chat_frame(
    group: Group, django_capture_on_commit_callbacks: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[dict[str, Any]] = []
    monkeypatch.setattr("send.services.message_publish", lambda **kwargs: published.append(kwargs))
    first = sent(group, group.alice)
    with django_capture_on_commit_callbacks(execute=True):
        sent(group, group.bob, "re", reply_to=first["msgID"], mentions=[group.alice.pk])
    message = published[-1]["message"]
    assert (message["reply_to"], message["mentions"], message["mention_all"]) == (
        first["msgID"],
        [group.alice.pk],
        False,
    )
