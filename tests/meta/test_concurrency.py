"""Races: real threads, each with its own database connection, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from meta.models import JoinPolicy, JoinRequest, Membership, Role, Room, User

THREADS = 8


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all starting at once; their results in order.
    An exception in a thread is returned as its result, so the test sees it."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # handed back to the test
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _post(client: APIClient, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(path, body, format="json")
    return response.status_code, response.json()


@pytest.mark.django_db(transaction=True)
def test_parallel_joins_make_each_user_a_member_once(cast, client_for, make_user):
    joiners = [make_user() for _ in range(THREADS // 2)]
    Room.objects.filter(pk=cast.room.pk).update(last_seq=5)
    clients = [client_for(user) for user in joiners for _ in range(2)]
    results = run_together([lambda c=c: _post(c, "/api/chat/group/join", {"room_id": cast.room.pk}) for c in clients])
    assert [status for status, _ in results] == [200] * THREADS
    assert all(body["data"] == {"room_id": cast.room.pk, "role": 2} for _, body in results)
    for user in joiners:
        assert Membership.objects.filter(room=cast.room, user=user).count() == 1
    assert Membership.objects.filter(room=cast.room).count() == 3 + len(joiners)
    assert set(Membership.objects.filter(user__in=joiners).values_list("joined_seq", flat=True)) == {5}


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_name_in_different_cases(api):
    names = ["racer", "RACER", "Racer", "rAcer", "raCer", "racEr", "raceR", "RaCeR"]
    clients = [APIClient() for _ in names]
    results = run_together(
        [
            lambda c=c, n=n: _post(c, "/register", {"username": n, "password": "secret1"})
            for c, n in zip(clients, names, strict=True)
        ]
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (THREADS - 1), results
    assert User.objects.count() == 1
    winner = next(body for status, body in results if status == 200)
    assert winner["data"]["username"] == User.objects.get().username
    assert all("is already taken" in body["msg"] for status, body in results if status == 409)


@pytest.mark.django_db(transaction=True)
def test_parallel_private_room_creation_yields_one_room(make_user, client_for):
    alice, bob = make_user(), make_user()
    calls = []
    for index in range(THREADS):
        me, other = (alice, bob) if index % 2 else (bob, alice)
        client = client_for(me)
        calls.append(lambda c=client, o=other: _post(c, "/api/chat/group/create", {"name": "dm", "member_ids": [o.pk]}))
    results = run_together(calls)
    assert [status for status, _ in results] == [200] * THREADS, results
    room = Room.objects.get()
    assert {body["data"]["room_id"] for _, body in results} == {room.pk}
    assert Membership.objects.filter(room=room).count() == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_ownership_transfers_leave_exactly_one_owner(cast, client_for, make_user):
    targets = [make_user() for _ in range(THREADS)]
    Membership.objects.bulk_create([Membership(room=cast.room, user=t, role=Role.MEMBER) for t in targets])
    owner = client_for(cast.owner)
    results = run_together(
        [
            lambda t=t: _post(
                owner,
                "/api/chat/group/change_member_role",
                {"room_id": cast.room.pk, "target_user_id": t.pk, "new_role": 0},
            )
            for t in targets
        ]
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [403] * (THREADS - 1), results
    owners = list(Membership.objects.filter(room=cast.room, role=Role.OWNER).values_list("user_id", flat=True))
    winner = next(body for status, body in results if status == 200)["data"]["user_id"]
    assert owners == [winner]
    assert Membership.objects.get(room=cast.room, user=cast.owner).role == Role.ADMIN


@pytest.mark.django_db(transaction=True)
def test_parallel_answers_to_one_request_count_once(cast, client_for):
    Room.objects.filter(pk=cast.room.pk).update(join_policy=JoinPolicy.APPROVAL)
    request = JoinRequest.objects.create(room=cast.room, user=cast.outsider)
    clients = [client_for(cast.owner if i % 2 else cast.admin) for i in range(THREADS)]
    results = run_together(
        [
            lambda c=c: _post(c, "/api/chat/group/join/respond", {"request_id": request.pk, "approve": True})
            for c in clients
        ]
    )
    assert sorted(status for status, _ in results) == [200] + [409] * (THREADS - 1), results
    assert Membership.objects.filter(room=cast.room, user=cast.outsider).count() == 1
    assert JoinRequest.objects.get().status == "approved"


@pytest.mark.django_db(transaction=True)
def test_parallel_add_members_of_overlapping_lists(cast, client_for, make_user):
    newcomers = [make_user() for _ in range(4)]
    clients = [client_for(cast.owner if i % 2 else cast.admin) for i in range(THREADS)]
    results = run_together(
        [
            lambda c=c, i=i: _post(
                c,
                "/api/chat/group/add_members",
                {"room_id": cast.room.pk, "member_ids": [u.pk for u in newcomers[i % 2 :]]},
            )
            for i, c in enumerate(clients)
        ]
    )
    assert [status for status, _ in results] == [200] * THREADS, results
    added = [uid for _, body in results for uid in body["data"]["added"]]
    assert sorted(added) == sorted(u.pk for u in newcomers)
    assert Membership.objects.filter(room=cast.room).count() == 3 + len(newcomers)
