"""Fixtures of the send service's endpoint tests: a group with three members and an outsider,
a frozen clock, helpers that send messages and check the envelope of a reply."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from meta.models import Room, User
from meta.services import room_create
from tests.support.envelope import assert_ok  # noqa: F401 (re-exported for the tests)

FIXED_NOW = datetime(2026, 11, 23, 10, 4, 5, 123456, tzinfo=UTC)
FIXED_NOW_WIRE = "2026-11-23T10:04:05.123Z"

# The fields of API.md §8.1 of a message as it is sent: no reply, no mention, nothing happened to it.
FRESH_FIELDS: dict[str, Any] = {
    "reply_to": None,
    "mentions": [],
    "mention_all": False,
    "edited_at": None,
    "deleted": False,
    "reactions": [],
    "pinned": False,
}

SEND = "/api/chat/send_message"
RESEND = "/api/chat/resend_message"
HISTORY = "/api/chat/messages"
PUSHBACK = "/internal/pushback"
NOTIFY_ONLINE = "/internal/push/notify_online"


@dataclass
class Group:
    """An open group "Team" owned by `owner` with `alice` and `bob` as members; `outsider`
    belongs to no room. `tokens` holds each user's access token."""

    room: Room
    owner: User
    alice: User
    bob: User
    outsider: User
    tokens: dict[int, str]

    def client(self, user: User) -> APIClient:
        """A new APIClient with `user`'s access token (a new one per call: threads share none)."""
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens[user.pk]}")
        return client

    @property
    def member_ids(self) -> set[int]:
        return {self.owner.pk, self.alice.pk, self.bob.pk}


@pytest.fixture
def group(make_user: Callable[..., User], token_for: Callable[[User], str]) -> Group:
    owner, alice, bob, outsider = (make_user(n) for n in ("owner", "alice", "bob", "outsider"))
    room = room_create(actor=owner, name="Team", is_group=True, member_ids=[alice.pk, bob.pk])
    tokens = {user.pk: token_for(user) for user in (owner, alice, bob, outsider)}
    return Group(room=room, owner=owner, alice=alice, bob=bob, outsider=outsider, tokens=tokens)


@contextmanager
def frozen_now(at: datetime = FIXED_NOW) -> Iterator[None]:
    """Every `timezone.now()` (and so every auto_now_add) returns `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def text(body: str = "hello") -> dict[str, Any]:
    return {"type": "text", "text": body}


def post_json(client: APIClient, path: str, body: Any) -> Response:
    """POST `body` as JSON text written by `json.dumps` (ASCII escapes, so that even an unpaired
    surrogate reaches the server as a client would send it)."""
    return client.post(path, json.dumps(body), content_type="application/json")


def send(client: APIClient, room_id: Any, content: Any = None, **extra: Any) -> Response:
    """POST /api/chat/send_message with a JSON body (a text "hello" unless `content` is given)."""
    body: dict[str, Any] = {"room_id": room_id, "content": text() if content is None else content, **extra}
    return post_json(client, SEND, body)


def assert_error(response: Response, status: int, msg: str, *, errors: dict[str, Any] | None = None) -> None:
    """An error envelope: exactly `{"code": status, "msg": msg}`, plus `errors` when given."""
    body = response.json()
    assert response.status_code == status, body
    expected: dict[str, Any] = {"code": status, "msg": msg}
    if errors is not None:
        expected["errors"] = errors
    assert body == expected
