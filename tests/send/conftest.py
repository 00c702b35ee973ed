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
from meta.tokens import access_token_for_user
from tests.support.envelope import assert_ok

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
        if user.pk not in self.tokens:
            self.tokens[user.pk] = access_token_for_user(user=user)
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


# --- the life of a message (API.md §8) ----------------------------------------------------------

EDIT = "/api/chat/edit_message"
DELETE = "/api/chat/delete_message"
REACT = "/api/chat/react"
PIN = "/api/chat/pin"
PINS = "/api/chat/pins"
EVENTS = "/api/chat/events"
SEARCH = "/api/chat/search"


def sent(group: Group, sender: User, body: str = "hello", **extra: Any) -> dict[str, Any]:
    """A text message `sender` sends to the group through the API: the reply's `data`."""
    return assert_ok(send(group.client(sender), group.room.pk, text(body), **extra))["data"]


def edit(client: APIClient, message_id: Any, content: Any) -> Response:
    return post_json(client, EDIT, {"message_id": message_id, "content": content})


def delete(client: APIClient, message_id: Any) -> Response:
    return post_json(client, DELETE, {"message_id": message_id})


def react(client: APIClient, message_id: Any, key: Any, **extra: Any) -> Response:
    return post_json(client, REACT, {"message_id": message_id, "key": key, **extra})


def pin(client: APIClient, message_id: Any, **extra: Any) -> Response:
    return post_json(client, PIN, {"message_id": message_id, **extra})


def updated(response: Response) -> tuple[dict[str, Any], int | None]:
    """The `message` and `seq` of an update's 200 reply."""
    data = assert_ok(response)["data"]
    assert set(data) == {"message", "seq"}
    return data["message"], data["seq"]


@pytest.fixture
def updates_published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call of `update_publish` made by the update services (after commit), in order."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        calls.append(
            {
                **kwargs,
                "user_ids": sorted(kwargs["user_ids"]),
                "hidden_user_ids": sorted(kwargs["hidden_user_ids"]),
            }
        )

    monkeypatch.setattr("send.updates.update_publish", record)
    return calls
