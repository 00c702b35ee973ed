"""Fixtures of the meta service's tests: a group with one user of every role, and helpers
that check the envelope of a reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from rest_framework.response import Response
from rest_framework.test import APIClient

from meta.models import Role, Room, User
from meta.services import member_role_change, room_create
from tests.support.envelope import assert_ok  # noqa: F401 (re-exported for the tests)

FIXED_NOW = datetime(2026, 11, 23, 10, 4, 5, 123456, tzinfo=UTC)
FIXED_NOW_WIRE = "2026-11-23T10:04:05.123Z"


@dataclass
class Cast:
    """An open group "Team" owned by `owner`, with `admin` (role 1) and `member` (role 2);
    `outsider` belongs to no room."""

    room: Room
    owner: User
    admin: User
    member: User
    outsider: User

    def user(self, who: str) -> User:
        return getattr(self, who)


@pytest.fixture
def cast(make_user: Callable[..., User]) -> Cast:
    owner, admin, member, outsider = (make_user(n) for n in ("owner", "admin", "member", "outsider"))
    room = room_create(actor=owner, name="Team", is_group=True, member_ids=[admin.pk, member.pk])
    member_role_change(actor=owner, room_id=room.pk, target_user_id=admin.pk, new_role=Role.ADMIN)
    return Cast(room=room, owner=owner, admin=admin, member=member, outsider=outsider)


@pytest.fixture
def as_user(client_for: Callable[[User], APIClient]) -> Callable[[User], APIClient]:
    """A cached authenticated client per user."""
    clients: dict[int, APIClient] = {}

    def get(user: User) -> APIClient:
        if user.pk not in clients:
            clients[user.pk] = client_for(user)
        return clients[user.pk]

    return get


@contextmanager
def frozen_now(at: datetime = FIXED_NOW) -> Iterator[None]:
    """Every `timezone.now()` (and so every auto_now_add) returns `at`."""
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def post(client: APIClient, path: str, body: Any) -> Response:
    return client.post(path, body, format="json")


def assert_error(response: Response, status: int, msg_part: str, *, errors: dict[str, Any] | None = None) -> None:
    """An error envelope: status, `code`, a `msg` containing `msg_part`, never `data`; for
    validation errors `errors` compares exactly."""
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == status
    assert msg_part in body["msg"], body["msg"]
    assert "data" not in body
    if errors is not None:
        assert body["errors"] == errors
    elif status != 400:
        assert "errors" not in body
