"""The Django admin of messages: a message's edits and deletes with who and when, and staff
deleting a message for everyone through the same service as the API (its content erased, not
shown again on any page)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from meta.models import User
from send.models import Message, MessageUpdate
from tests.meta_admin.conftest import result_rows, shown
from tests.send.conftest import Group, delete, edit, react, sent, text, updated

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client, make_user: Callable[..., User]) -> Client:
    client.force_login(User.objects.create_superuser(username="moderator", password="secret123"))
    return client


def _changelist() -> str:
    return reverse("admin:send_message_changelist")


def test_the_list_shows_messages_newest_first_and_filters_deleted_ones(group: Group, staff_client: Client) -> None:
    first = sent(group, group.alice, "first words")
    second = sent(group, group.bob, "second words")
    updated(delete(group.client(group.bob), second["msgID"]))
    rows = result_rows(staff_client.get(_changelist()))
    room = f"Team (#{group.room.pk})"
    assert [row[:5] for row in rows] == [
        [str(second["msgID"]), room, "bob", "2", "(deleted)"],
        [str(first["msgID"]), room, "alice", "1", "first words"],
    ]
    deleted_only = result_rows(staff_client.get(_changelist(), {"deleted": "yes"}))
    assert [row[0] for row in deleted_only] == [str(second["msgID"])]
    by_sender = result_rows(staff_client.get(_changelist(), {"q": "alice"}))
    assert [row[0] for row in by_sender] == [str(first["msgID"])]


def test_a_message_page_shows_its_edits_and_delete_with_who_and_when(group: Group, staff_client: Client) -> None:
    first = sent(group, group.alice, "before the edit")
    updated(edit(group.client(group.alice), first["msgID"], text("after the edit")))
    updated(react(group.client(group.bob), first["msgID"], "👍"))
    page = staff_client.get(reverse("admin:send_message_change", args=[first["msgID"]])).content.decode()
    assert "after the edit" in page and "before the edit" in page  # the edit's history, while it exists
    assert "👍 added" in page
    updated(delete(group.client(group.owner), first["msgID"]))
    page = staff_client.get(reverse("admin:send_message_change", args=[first["msgID"]])).content.decode()
    updates = list(MessageUpdate.objects.order_by("seq").values_list("event", "actor__username"))
    assert updates == [("edit", "alice"), ("reaction", "bob"), ("delete", "owner")]
    cells = re.findall(r'<td class="field-(event|who|created_at)">\s*<p>(.*?)</p>', page)
    assert [value for name, value in cells if name != "created_at"] == [v for pair in updates for v in pair]
    assert len([name for name, _ in cells if name == "created_at"]) == 3  # when, for each
    assert "before the edit" not in page and "after the edit" not in page


def test_staff_delete_for_everyone_through_the_service(group: Group, staff_client: Client) -> None:
    first = sent(group, group.alice, "spam spam spam")
    other = sent(group, group.bob, "fine")
    response = staff_client.post(
        _changelist(),
        {"action": "delete_for_everyone", "_selected_action": [str(first["msgID"])]},
        follow=True,
    )
    label = f"message #{first['msgID']} (room #{group.room.pk}, seq 1)"
    assert shown(response) == [("success", f"Deleted {label} for everyone: its content is erased.")]
    message = Message.objects.get(pk=first["msgID"])
    assert message.content is None and message.deleted
    update = MessageUpdate.objects.get()
    assert (update.event, update.by_staff, update.actor.username, update.payload, update.seq) == (
        "delete",
        True,
        "moderator",
        {"by": 0},
        3,
    )
    assert Message.objects.get(pk=other["msgID"]).content == text("fine")
    again = staff_client.post(
        _changelist(), {"action": "delete_for_everyone", "_selected_action": [str(first["msgID"])]}, follow=True
    )
    assert shown(again) == [("success", f"{label} was deleted already.")]
    page = staff_client.get(reverse("admin:send_message_change", args=[first["msgID"]])).content.decode()
    assert "spam" not in page and "staff: moderator" in page


def test_messages_are_never_added_changed_or_removed_as_rows(group: Group, staff_client: Client) -> None:
    first = sent(group, group.alice)
    assert staff_client.get(reverse("admin:send_message_add")).status_code == 403
    assert staff_client.get(reverse("admin:send_message_delete", args=[first["msgID"]])).status_code == 403
    page = staff_client.get(reverse("admin:send_message_change", args=[first["msgID"]]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    actions = staff_client.get(_changelist()).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if name] == ["delete_for_everyone"]


def test_staff_without_the_delete_permission_cannot_erase(group: Group, client: Client, make_user: Any) -> None:
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    first = sent(group, group.alice, "stays")
    page = client.get(_changelist())
    assert page.status_code == 200
    client.post(_changelist(), {"action": "delete_for_everyone", "_selected_action": [str(first["msgID"])]})
    assert Message.objects.get(pk=first["msgID"]).content == text("stays")
