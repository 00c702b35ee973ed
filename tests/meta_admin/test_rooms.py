"""Editing and deleting rooms from the admin, through the moderation services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from meta.models import JoinRequest, Membership, Room
from meta.services import room_create
from send.services import message_send

from .conftest import change_page, run_action, shown, submit_form


@pytest.mark.django_db
def test_delete_action_asks_first_with_a_summary(staff_client, team):
    JoinRequest.objects.create(room=team.room, user=team.outsider)
    for text in ("one", "two"):
        message_send(sender=team.owner, room_id=team.room.pk, content={"type": "text", "text": text})
    response = run_action(staff_client, "room", "delete_selected", [team.room.pk])
    page = response.content.decode()
    assert response.status_code == 200
    assert "Are you sure you want to delete the selected room?" in page
    assert f'Room: <a href="{change_page("room", team.room.pk)}">Team (#{team.room.pk})</a>' in page
    assert "<li>3 memberships</li>" in page and "<li>1 join request</li>" in page and "<li>2 messages</li>" in page
    assert "<li>Memberships: 3</li>" in page and "<li>Messages: 2</li>" in page
    assert Room.objects.filter(pk=team.room.pk).exists()


@pytest.mark.django_db
def test_delete_action_deletes_rooms_with_their_memberships(staff_client, team, make_user):
    other = room_create(actor=team.owner, name="dm", member_ids=[team.outsider.pk])
    JoinRequest.objects.create(room=team.room, user=team.outsider)
    response = run_action(staff_client, "room", "delete_selected", [team.room.pk, other.pk], post="yes")
    assert shown(response) == [
        ("success", f"Deleted room “Team” (#{team.room.pk}) with its members, join requests and messages."),
        ("success", f"Deleted room “dm” (#{other.pk}) with its members, join requests and messages."),
    ]
    assert not Room.objects.filter(pk__in=[team.room.pk, other.pk]).exists()
    assert not Membership.objects.filter(room_id__in=[team.room.pk, other.pk]).exists()
    assert not JoinRequest.objects.exists()


@pytest.mark.django_db
def test_deleted_room_disappears_from_its_members_lists(staff_client, team, client_for):
    run_action(staff_client, "room", "delete_selected", [team.room.pk], post="yes")
    assert client_for(team.member).get("/api/joined_rooms").json()["data"]["room_ids"] == []


@pytest.mark.django_db
def test_delete_page_deletes_the_room(staff_client, team):
    delete_url = reverse("admin:meta_room_delete", args=[team.room.pk])
    confirm = staff_client.get(delete_url).content.decode()
    assert "<li>3 memberships</li>" in confirm
    response = staff_client.post(delete_url, {"post": "yes"}, follow=True)
    assert shown(response) == [("success", f"The room “Team (#{team.room.pk})” was deleted successfully.")]
    assert not Room.objects.filter(pk=team.room.pk).exists()
    assert not Membership.objects.filter(room_id=team.room.pk).exists()


@pytest.mark.django_db
def test_change_form_renames_and_sets_the_join_policy(staff_client, team):
    response = submit_form(staff_client, change_page("room", team.room.pk), name="Team B", join_policy="approval")
    link = f'<a href="{change_page("room", team.room.pk)}">Team B (#{team.room.pk})</a>'
    assert shown(response) == [("success", f"The room “{link}” was changed successfully.")]
    team.room.refresh_from_db()
    assert (team.room.name, team.room.join_policy, team.room.is_group) == ("Team B", "approval", True)
    assert Membership.objects.filter(room=team.room).count() == 3


@pytest.mark.django_db
def test_change_form_refuses_a_join_policy_for_a_private_room(staff_client, team):
    private = room_create(actor=team.owner, name="dm", member_ids=[team.outsider.pk])
    response = submit_form(staff_client, change_page("room", private.pk), name="renamed", join_policy="approval")
    assert shown(response) == [
        ("error", f"Nothing was saved: room {private.pk} is a private room: join_policy applies to groups only")
    ]
    private.refresh_from_db()
    assert (private.name, private.join_policy) == ("dm", "open")
