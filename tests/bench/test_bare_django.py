"""The bare Django send baseline (`bench.baselines.bare_django`), through the real URL and
middleware: it authenticates the JWT, takes the room's next seq, stores the row and commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from meta.models import Room
from send.models import Message

PATH = "/api/bench/bare_send"


@pytest.fixture
def bare_client(settings: Any) -> Client:
    settings.ROOT_URLCONF = "bench.baselines.bare_django"
    return Client()


def post(client: Client, body: dict[str, Any], token: str | None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(PATH, body, content_type="application/json", **headers)


@pytest.mark.django_db(transaction=True)
def test_each_send_takes_the_next_seq_and_stores_the_row(bare_client, make_user, token_for):
    sender = make_user()
    room = Room.objects.create(name="r", is_group=True, creator=sender, last_seq=4)
    content = {"type": "text", "text": "hello"}
    replies = [
        post(bare_client, {"room_id": room.pk, "content": content, "client_msg_id": f"c{n}"}, token_for(sender))
        for n in range(2)
    ]
    assert [r.status_code for r in replies] == [200, 200]
    data = [r.json()["data"] for r in replies]
    assert [d["seq"] for d in data] == [5, 6]
    stored = Message.objects.get(pk=data[1]["msgID"])
    assert (stored.room_id, stored.sender_id, stored.seq, stored.content, stored.client_msg_id) == (
        room.pk,
        sender.pk,
        6,
        content,
        "c1",
    )
    room.refresh_from_db()
    assert room.last_seq == 6


@pytest.mark.django_db(transaction=True)
def test_a_missing_or_banned_token_and_an_unknown_room_are_refused(bare_client, make_user, token_for):
    sender = make_user()
    body = {"room_id": 999_999, "content": {"type": "text", "text": "x"}}
    assert post(bare_client, body, None).status_code == 401
    assert post(bare_client, body, "not-a-jwt").status_code == 401
    assert post(bare_client, body, token_for(sender)).status_code == 404
    banned = make_user(is_banned=True)
    assert post(bare_client, body, token_for(banned)).status_code == 401
    assert Message.objects.count() == 0
