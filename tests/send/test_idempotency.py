"""client_msg_id makes send_message idempotent, also under concurrency; seqs have no gaps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from meta.models import Membership, Room
from meta.services import room_create
from send.models import Message
from tests.send.conftest import FIXED_NOW, Group, assert_error, assert_ok, frozen_now, send, text

THREADS = 8


@pytest.mark.django_db
def test_a_repeat_returns_the_first_message_and_stores_nothing(group: Group) -> None:
    alice = group.client(group.alice)
    with frozen_now():
        first = assert_ok(send(alice, group.room.pk, text("first"), client_msg_id="abc-1"))
    again = assert_ok(send(alice, group.room.pk, text("changed on the repeat"), client_msg_id="abc-1"))
    assert again == first
    message = Message.objects.get()
    assert (message.pk, message.seq, message.content) == (first["data"]["msgID"], 1, text("first"))
    group.room.refresh_from_db()
    assert group.room.last_seq == 1
    assert assert_ok(send(alice, group.room.pk, client_msg_id="abc-2"))["data"]["seq"] == 2


@pytest.mark.django_db
def test_a_repeat_of_a_stored_message_returns_it_after_the_sender_was_muted(group: Group) -> None:
    """A retry of a message that was stored is answered with it, whatever changed since: the
    send succeeded once, and the client only missed the reply."""
    alice = group.client(group.alice)
    first = assert_ok(send(alice, group.room.pk, text("first"), client_msg_id="retry-1"))
    Membership.objects.filter(room=group.room, user=group.alice).update(muted_until=FIXED_NOW.replace(year=2099))
    assert assert_ok(send(alice, group.room.pk, text("first"), client_msg_id="retry-1")) == first
    assert_error(send(alice, group.room.pk, text("new"), client_msg_id="retry-2"), 403, mute_msg(group))
    assert list(Message.objects.values_list("client_msg_id", "seq")) == [("retry-1", 1)]
    group.room.refresh_from_db()
    assert group.room.last_seq == 1


@pytest.mark.django_db
def test_a_refused_send_stores_nothing_and_leaves_its_client_msg_id_free(group: Group) -> None:
    alice = group.client(group.alice)
    stranger = group.outsider.pk
    response = send(alice, group.room.pk, text("to a stranger"), client_msg_id="m-1", mentions=[stranger])
    assert response.status_code == 400
    Membership.objects.filter(room=group.room, user=group.alice).update(muted_until=FIXED_NOW.replace(year=2099))
    assert_error(send(alice, group.room.pk, text("muted"), client_msg_id="m-1"), 403, mute_msg(group))
    assert not Message.objects.exists()
    Membership.objects.filter(room=group.room, user=group.alice).update(muted_until=None)
    data = assert_ok(send(alice, group.room.pk, text("at last"), client_msg_id="m-1"))["data"]
    assert data["seq"] == 1
    assert Message.objects.get().content == text("at last")


def mute_msg(group: Group) -> str:
    return f"you are muted in room {group.room.pk} until 2099-11-23T10:04:05.123Z"


@pytest.mark.django_db
def test_a_repeat_into_another_room_returns_the_first_message(group: Group) -> None:
    other = room_create(actor=group.owner, name="Other", is_group=True, member_ids=[group.alice.pk])
    alice = group.client(group.alice)
    first = assert_ok(send(alice, group.room.pk, client_msg_id="same"))
    assert assert_ok(send(alice, other.pk, client_msg_id="same")) == first
    other.refresh_from_db()
    assert other.last_seq == 0
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_the_same_client_msg_id_from_two_senders_is_two_messages(group: Group) -> None:
    a = assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id="dup"))["data"]
    b = assert_ok(send(group.client(group.bob), group.room.pk, client_msg_id="dup"))["data"]
    assert (a["seq"], b["seq"]) == (1, 2)
    assert a["msgID"] != b["msgID"]
    assert sorted(Message.objects.values_list("sender_id", "client_msg_id")) == sorted(
        [(group.alice.pk, "dup"), (group.bob.pk, "dup")]
    )


@pytest.mark.django_db
def test_client_msg_id_of_64_characters_is_kept(group: Group) -> None:
    cmid = "k" * 64
    data = assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id=cmid))["data"]
    assert data["client_msg_id"] == cmid
    assert Message.objects.get().client_msg_id == cmid


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cmid", "reason"),
    [
        pytest.param("k" * 65, "Ensure this field has no more than 64 characters.", id="65-chars"),
        pytest.param("", "This field may not be blank.", id="empty"),
        pytest.param(123, "must be a string", id="number"),
        pytest.param(["a"], "must be a string", id="list"),
        pytest.param("a\x00b", "Null characters are not allowed.", id="nul"),
    ],
)
def test_bad_client_msg_id_is_refused(group: Group, cmid: Any, reason: str) -> None:
    response = send(group.client(group.alice), group.room.pk, client_msg_id=cmid)
    assert_error(response, 400, f"client_msg_id: {reason}", errors={"client_msg_id": [reason]})
    assert not Message.objects.exists()


def _in_threads(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` at once (a barrier releases them together); each thread closes its own
    database connection when done. Returns the results in order; re-raises the first error."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]
    return results


def _reply(client: APIClient, room_id: int, **extra: Any) -> Callable[[], tuple[int, dict[str, Any]]]:
    def call() -> tuple[int, dict[str, Any]]:
        response = send(client, room_id, **extra)
        return response.status_code, response.json()

    return call


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_store_one_message(group: Group) -> None:
    calls = [_reply(group.client(group.alice), group.room.pk, client_msg_id="race") for _ in range(THREADS)]
    replies = _in_threads(calls)
    message = Message.objects.get()
    assert [status for status, _ in replies] == [200] * THREADS
    assert {body["data"]["msgID"] for _, body in replies} == {message.pk}
    assert {body["data"]["seq"] for _, body in replies} == {1}
    assert Room.objects.get(pk=group.room.pk).last_seq == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_repeats_into_two_rooms_store_one_message(group: Group) -> None:
    """The two rooms' locks do not serialise these: the unique (sender, client_msg_id) does."""
    other = room_create(actor=group.owner, name="Other", is_group=True, member_ids=[group.alice.pk])
    rooms = [group.room.pk, other.pk] * (THREADS // 2)
    replies = _in_threads([_reply(group.client(group.alice), r, client_msg_id="race") for r in rooms])
    message = Message.objects.get()
    assert [status for status, _ in replies] == [200] * THREADS
    assert {body["data"]["msgID"] for _, body in replies} == {message.pk}
    assert sorted(Room.objects.filter(pk__in=[group.room.pk, other.pk]).values_list("last_seq", flat=True)) == [0, 1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_seqs_without_gap_or_duplicate(group: Group) -> None:
    senders = [group.owner, group.alice, group.bob] * 3
    calls = [_reply(group.client(user), group.room.pk, content=text(f"m{i}")) for i, user in enumerate(senders)]
    replies = _in_threads(calls[:THREADS])
    assert [status for status, _ in replies] == [200] * THREADS
    assert sorted(body["data"]["seq"] for _, body in replies) == list(range(1, THREADS + 1))
    assert len({body["data"]["msgID"] for _, body in replies}) == THREADS
    assert list(Message.objects.filter(room=group.room).order_by("seq").values_list("seq", flat=True)) == list(
        range(1, THREADS + 1)
    )
    assert Room.objects.get(pk=group.room.pk).last_seq == THREADS
