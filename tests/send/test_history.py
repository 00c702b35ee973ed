"""GET /api/chat/messages: members only, seq order, paging both ways, history from joining on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from meta.models import User
from meta.services import member_add
from send.models import Message
from send.services import message_send
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import FIXED_NOW_WIRE, FRESH_FIELDS, HISTORY, Group, assert_error, assert_ok, frozen_now, text

pytestmark = pytest.mark.django_db


def _fill(group: Group, count: int, *, sender: User | None = None) -> None:
    """`count` text messages "m<seq>" from alice (or `sender`), stored through the send service."""
    start = group.room.messages.count()
    for n in range(start + 1, start + count + 1):
        message_send(sender=sender or group.alice, room_id=group.room.pk, content=text(f"m{n}"))


def _get(client: APIClient, room_id: Any, **params: Any) -> Response:
    return client.get(HISTORY, {"room_id": room_id, **params})


def _page(response: Response) -> tuple[list[int], bool]:
    data = assert_ok(response)["data"]
    assert set(data) == {"messages", "has_more"}
    return [m["seq"] for m in data["messages"]], data["has_more"]


def test_message_objects_have_the_canonical_shape(group: Group) -> None:
    with frozen_now():
        message_send(sender=group.alice, room_id=group.room.pk, content=text("one"), client_msg_id="c1")
        message_send(
            sender=group.bob,
            room_id=group.room.pk,
            content={"type": "file", "url": "https://x.example/r.pdf", "file_name": "r.pdf", "size": 10},
        )
    first, second = Message.objects.order_by("seq")
    body = assert_ok(_get(group.client(group.owner), group.room.pk))
    assert body == {
        "code": 0,
        "msg": "ok",
        "data": {
            "messages": [
                {
                    "id": first.pk,
                    "room_id": group.room.pk,
                    "sender_id": group.alice.pk,
                    "seq": 1,
                    "client_msg_id": "c1",
                    "created_at": FIXED_NOW_WIRE,
                    "content": {"type": "text", "text": "one"},
                    **FRESH_FIELDS,
                },
                {
                    "id": second.pk,
                    "room_id": group.room.pk,
                    "sender_id": group.bob.pk,
                    "seq": 2,
                    "client_msg_id": None,
                    "created_at": FIXED_NOW_WIRE,
                    "content": {"type": "file", "url": "https://x.example/r.pdf", "file_name": "r.pdf", "size": 10},
                    **FRESH_FIELDS,
                },
            ],
            "has_more": False,
        },
    }


def test_history_matches_what_send_message_answered(group: Group) -> None:
    sent = assert_ok(
        group.client(group.bob).post(
            "/api/chat/send_message", {"room_id": group.room.pk, "content": text("x"), "client_msg_id": "q"}, "json"
        )
    )["data"]
    [message] = assert_ok(_get(group.client(group.alice), group.room.pk))["data"]["messages"]
    assert {k: message[k] for k in ("id", "seq", "room_id", "created_at", "client_msg_id")} == {
        "id": sent["msgID"],
        "seq": sent["seq"],
        "room_id": sent["room_id"],
        "created_at": sent["created_at"],
        "client_msg_id": sent["client_msg_id"],
    }


def test_empty_room(group: Group) -> None:
    assert_ok(_get(group.client(group.bob), group.room.pk), {"messages": [], "has_more": False})


def test_outsider_is_403_and_unknown_room_404(group: Group) -> None:
    _fill(group, 1)
    response = _get(group.client(group.outsider), group.room.pk)
    assert_error(response, 403, f"you are not a member of room {group.room.pk}")
    missing = group.room.pk + 100
    assert_error(_get(group.client(group.alice), missing), 404, f"room {missing} does not exist")


def test_no_token_is_401(group: Group, api: APIClient) -> None:
    assert_error(_get(api, group.room.pk), 401, MISSING_TOKEN_MSG)


def test_default_limit_is_the_newest_50_in_seq_order(group: Group) -> None:
    _fill(group, 55)
    seqs, has_more = _page(_get(group.client(group.bob), group.room.pk))
    assert seqs == list(range(6, 56))
    assert has_more is True
    messages = assert_ok(_get(group.client(group.bob), group.room.pk, limit=3))["data"]["messages"]
    assert [m["content"]["text"] for m in messages] == ["m53", "m54", "m55"]


def test_limit_200_is_the_most(group: Group) -> None:
    _fill(group, 201)
    seqs, has_more = _page(_get(group.client(group.bob), group.room.pk, limit=200))
    assert seqs == list(range(2, 202))
    assert has_more is True
    seqs, has_more = _page(_get(group.client(group.bob), group.room.pk, after_seq=1, limit=200))
    assert (seqs, has_more) == (list(range(2, 202)), False)


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        pytest.param({"limit": "201"}, "limit", "must be an integer from 1 to 200", id="limit-201"),
        pytest.param({"limit": "0"}, "limit", "must be an integer from 1 to 200", id="limit-0"),
        pytest.param({"limit": "-5"}, "limit", "must be an integer from 1 to 200", id="limit-negative"),
        pytest.param({"limit": "ten"}, "limit", "must be an integer from 1 to 200", id="limit-word"),
        pytest.param({"after_seq": "-1"}, "after_seq", "must be an integer from 0 to 9007199254740991", id="after-neg"),
        pytest.param({"after_seq": "1.5"}, "after_seq", "must be an integer from 0 to 9007199254740991", id="after-f"),
        pytest.param(
            {"before_seq": "0"}, "before_seq", "must be an integer from 1 to 9007199254740991", id="before-zero"
        ),
        pytest.param(
            {"before_seq": str(2**53)}, "before_seq", "must be an integer from 1 to 9007199254740991", id="before-2^53"
        ),
    ],
)
def test_bad_query_is_400(group: Group, params: dict[str, str], field: str, reason: str) -> None:
    response = _get(group.client(group.alice), group.room.pk, **params)
    assert_error(response, 400, f"{field}: {reason}", errors={field: [reason]})


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        pytest.param({}, "This field is required.", id="missing"),
        pytest.param({"room_id": "abc"}, "must be an integer id from 1 to 9007199254740991", id="word"),
        pytest.param({"room_id": "0"}, "must be an integer id from 1 to 9007199254740991", id="zero"),
        pytest.param({"room_id": ""}, "must be an integer id from 1 to 9007199254740991", id="empty"),
    ],
)
def test_bad_room_id_is_400(group: Group, query: dict[str, str], reason: str) -> None:
    response = group.client(group.alice).get(HISTORY, query)
    assert_error(response, 400, f"room_id: {reason}", errors={"room_id": [reason]})


def test_after_seq_pages_forward(group: Group) -> None:
    _fill(group, 45)
    client = group.client(group.bob)
    pages = []
    after = 0
    while True:
        seqs, has_more = _page(_get(client, group.room.pk, after_seq=after, limit=20))
        pages.append((seqs, has_more))
        if not has_more:
            break
        after = seqs[-1]
    assert pages == [
        (list(range(1, 21)), True),
        (list(range(21, 41)), True),
        (list(range(41, 46)), False),
    ]
    assert _page(_get(client, group.room.pk, after_seq=45)) == ([], False)
    assert _page(_get(client, group.room.pk, after_seq=40, limit=5)) == (list(range(41, 46)), False)


def test_before_seq_pages_back(group: Group) -> None:
    _fill(group, 45)
    client = group.client(group.bob)
    assert _page(_get(client, group.room.pk, limit=20)) == (list(range(26, 46)), True)
    assert _page(_get(client, group.room.pk, before_seq=26, limit=20)) == (list(range(6, 26)), True)
    assert _page(_get(client, group.room.pk, before_seq=6, limit=20)) == (list(range(1, 6)), False)
    assert _page(_get(client, group.room.pk, before_seq=1)) == ([], False)


def test_after_and_before_together_bound_the_page(group: Group) -> None:
    _fill(group, 20)
    client = group.client(group.bob)
    assert _page(_get(client, group.room.pk, after_seq=10, before_seq=15)) == ([11, 12, 13, 14], False)
    assert _page(_get(client, group.room.pk, after_seq=10, before_seq=15, limit=2)) == ([13, 14], True)


def test_a_late_joiner_sees_only_messages_after_joining(
    group: Group, make_user: Callable[..., User], token_for: Callable[[User], str]
) -> None:
    _fill(group, 3)
    carol = make_user("carol")
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    _fill(group, 2, sender=group.bob)
    group.tokens[carol.pk] = token_for(carol)
    carol_client = group.client(carol)
    assert _page(_get(carol_client, group.room.pk)) == ([4, 5], False)
    assert _page(_get(carol_client, group.room.pk, after_seq=0)) == ([4, 5], False)
    assert _page(_get(carol_client, group.room.pk, after_seq=0, limit=1)) == ([4], True)
    assert _page(_get(carol_client, group.room.pk, before_seq=5)) == ([4], False)
    assert _page(_get(carol_client, group.room.pk, before_seq=4)) == ([], False)
    # The members from the start still see everything.
    assert _page(_get(group.client(group.alice), group.room.pk)) == ([1, 2, 3, 4, 5], False)
