"""Fixtures of the admin tests: a logged-in superuser, a group with one user of every role,
and helpers that run an admin action and read the messages the next page shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from meta.models import Membership, Role, Room, User
from meta.services import member_role_change, room_create


@dataclass
class Team:
    """An open group "Team" owned by `owner` with `admin` (role 1) and `member` (role 2);
    `outsider` belongs to no room."""

    room: Room
    owner: User
    admin: User
    member: User
    outsider: User

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(room=self.room, user=user)

    def roles(self) -> dict[str, int]:
        return {
            username: role
            for username, role in Membership.objects.filter(room=self.room).values_list("user__username", "role")
        }


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_superuser(username="moderator", password="secret123", email="mod@example.com")


@pytest.fixture
def staff_client(client: Client, staff: User) -> Client:
    client.force_login(staff)
    return client


@pytest.fixture
def team(make_user: Callable[..., User]) -> Team:
    owner, admin, member, outsider = (make_user(n) for n in ("owner", "admin", "member", "outsider"))
    room = room_create(actor=owner, name="Team", is_group=True, member_ids=[admin.pk, member.pk])
    member_role_change(actor=owner, room_id=room.pk, target_user_id=admin.pk, new_role=Role.ADMIN)
    return Team(room=room, owner=owner, admin=admin, member=member, outsider=outsider)


def changelist(model: str) -> str:
    return reverse(f"admin:meta_{model}_changelist")


def change_page(model: str, pk: int) -> str:
    return reverse(f"admin:meta_{model}_change", args=[pk])


def run_action(client: Client, model: str, action: str, pks: list[int], **extra: Any) -> Any:
    """POST an admin action on the selected rows, following the redirect to the next page."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    return client.post(changelist(model), data, follow=True)


def shown(response: Any) -> list[tuple[str, str]]:
    """The (level, text) of every message the page shows, in order; asserts the page is 200."""
    assert response.status_code == 200
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


@contextmanager
def frozen_now() -> Iterator[datetime]:
    """Every `timezone.now()` returns the moment of entry, which it yields."""
    at = timezone.now()
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield at


class _ResultTable(HTMLParser):
    """Collects the text of each cell of the changelist's `result_list` table body."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag in ("td", "th"):
            self._cell = []
        elif tag == "img" and self._cell is not None:
            self._cell.append(dict(attrs).get("alt") or "")  # boolean columns are icons

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif self._in_body and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def result_rows(response: Any) -> list[list[str]]:
    """The changelist's rows as the text of their cells, the checkbox column dropped."""
    assert response.status_code == 200
    page = response.content.decode()
    if 'id="result_list"' not in page:
        return []  # the admin draws no table without results
    start = page.index('id="result_list"')
    table = _ResultTable()
    table.feed(page[start : page.index("</table>", start)])
    return [row[1:] for row in table.rows]


class _FormFields(HTMLParser):
    """The values a browser would submit for the page's admin change form (`*_form`): inputs,
    checked boxes, selected options and text areas; submit buttons left out."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, Any] = {}
        self._in_form = False
        self._select: str | None = None
        self._textarea: str | None = None

    def _put(self, name: str, value: str) -> None:
        if name in self.fields:
            existing = self.fields[name]
            self.fields[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            self.fields[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._put(a["name"], a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select is not None and "selected" in a:
            self._put(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def submit_form(client: Client, url: str, **changes: Any) -> Any:
    """Open the admin form at `url`, change the given fields, submit it and follow the redirect."""
    page = client.get(url)
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    data = {**parser.fields, **changes}
    data.pop("csrfmiddlewaretoken", None)
    return client.post(url, {k: v for k, v in data.items() if v is not None}, follow=True)
