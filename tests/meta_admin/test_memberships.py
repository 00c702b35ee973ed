"""Membership moderation in the admin: roles, ownership, mutes and removal, all through the
services, so the rules of the API hold (one owner, the owner is never removed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from meta.models import Membership, Role
from meta.services import room_create

from .conftest import change_page, frozen_now, run_action, shown, submit_form


def send_text(api: Any, room_id: int) -> Any:
    return api.post(
        "/api/chat/send_message", {"room_id": room_id, "content": {"type": "text", "text": "hi"}}, format="json"
    )


def save_form(client: Any, membership: Membership, **changes: Any) -> Any:
    """Submit the membership's change form as the page fills it in, with `changes` applied
    (`muted_until` as an aware datetime, or None to clear it)."""
    if "muted_until" in changes:
        until: datetime | None = changes.pop("muted_until")
        changes["muted_until_0"] = until.strftime("%Y-%m-%d") if until else ""
        changes["muted_until_1"] = until.strftime("%H:%M:%S") if until else ""
    return submit_form(client, change_page("membership", membership.pk), **changes)


def assert_refused(message: tuple[str, str], prefix: str, reason_part: str) -> None:
    """An error message: our `prefix`, then the service's reason, which contains `reason_part`."""
    level, text = message
    assert level == "error"
    assert text.startswith(prefix), text
    assert reason_part in text[len(prefix) :], text


def changed_message(membership: Membership) -> str:
    link = f'<a href="{change_page("membership", membership.pk)}">{membership}</a>'
    return f"The membership “{link}” was changed successfully."


@pytest.mark.django_db
def test_mute_for_an_hour_sets_the_end_and_the_member_cannot_send(staff_client, team, client_for):
    target = team.membership(team.member)
    with frozen_now() as now:
        response = run_action(staff_client, "membership", "mute_1h", [target.pk])
    until = now + timedelta(hours=1)
    assert shown(response) == [
        ("success", f"Muted member in “Team” (#{team.room.pk}) until {until:%Y-%m-%d %H:%M} UTC."),
    ]
    target.refresh_from_db()
    assert target.muted_until == until
    assert target.muted_until > now

    refused = send_text(client_for(team.member), team.room.pk)
    assert refused.status_code == 403
    assert "muted" in refused.json()["msg"]
    assert send_text(client_for(team.admin), team.room.pk).status_code == 200


@pytest.mark.django_db
def test_mute_for_a_day_mutes_every_selected_member(staff_client, team):
    selected = [team.membership(team.member).pk, team.membership(team.admin).pk]
    with frozen_now() as now:
        response = run_action(staff_client, "membership", "mute_24h", selected)
    until = now + timedelta(hours=24)
    assert [level for level, _ in shown(response)] == ["success", "success"]
    assert dict(Membership.objects.filter(room=team.room).values_list("user__username", "muted_until")) == {
        "owner": None,
        "admin": until,
        "member": until,
    }


@pytest.mark.django_db
def test_unmute_lifts_the_mute_and_the_member_can_send_again(staff_client, team, client_for):
    target = team.membership(team.member)
    run_action(staff_client, "membership", "mute_1h", [target.pk])
    assert send_text(client_for(team.member), team.room.pk).status_code == 403

    response = run_action(staff_client, "membership", "unmute", [target.pk])
    assert shown(response) == [("success", f"Unmuted member in “Team” (#{team.room.pk}).")]
    target.refresh_from_db()
    assert target.muted_until is None
    assert send_text(client_for(team.member), team.room.pk).status_code == 200


@pytest.mark.django_db
def test_remove_from_room_removes_the_member_and_their_access(staff_client, team, client_for):
    response = run_action(staff_client, "membership", "remove_from_room", [team.membership(team.member).pk])
    assert shown(response) == [("success", f"Removed member from “Team” (#{team.room.pk}).")]
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.ADMIN}
    assert client_for(team.member).get("/api/joined_rooms").json()["data"]["room_ids"] == []


@pytest.mark.django_db
def test_removing_the_owner_is_refused_and_the_others_are_still_removed(staff_client, team):
    selected = [team.membership(team.owner).pk, team.membership(team.member).pk]
    response = run_action(staff_client, "membership", "remove_from_room", selected)
    refused, removed = shown(response)
    assert_refused(refused, f"Could not remove owner in “Team” (#{team.room.pk}): ", "first hand ownership")
    assert removed == ("success", f"Removed member from “Team” (#{team.room.pk}).")
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.ADMIN}


@pytest.mark.django_db
def test_the_membership_action_list_has_no_raw_delete(staff_client, team):
    page = staff_client.get(reverse("admin:meta_membership_changelist")).content.decode()
    assert 'value="delete_selected"' not in page
    for action in ("remove_from_room", "make_admin", "make_member", "make_owner", "mute_1h", "mute_24h", "unmute"):
        assert f'value="{action}"' in page


@pytest.mark.django_db
def test_make_owner_hands_ownership_on(staff_client, team):
    response = run_action(staff_client, "membership", "make_owner", [team.membership(team.member).pk])
    assert shown(response) == [("success", f"member is now owner of “Team” (#{team.room.pk}).")]
    assert team.roles() == {"owner": Role.ADMIN, "admin": Role.ADMIN, "member": Role.OWNER}
    assert Membership.objects.filter(room=team.room, role=Role.OWNER).count() == 1


@pytest.mark.django_db
def test_make_owner_of_two_members_of_one_room_changes_nothing(staff_client, team):
    selected = [team.membership(team.member).pk, team.membership(team.admin).pk]
    response = run_action(staff_client, "membership", "make_owner", selected)
    assert shown(response) == [
        (
            "error",
            f"Nothing was changed: a room has one owner, so select one member per room (several in #{team.room.pk}).",
        )
    ]
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.ADMIN, "member": Role.MEMBER}


@pytest.mark.django_db
def test_make_admin_and_make_member(staff_client, team):
    response = run_action(staff_client, "membership", "make_admin", [team.membership(team.member).pk])
    assert shown(response) == [("success", f"member is now admin of “Team” (#{team.room.pk}).")]
    response = run_action(staff_client, "membership", "make_member", [team.membership(team.admin).pk])
    assert shown(response) == [("success", f"admin is now member of “Team” (#{team.room.pk}).")]
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.MEMBER, "member": Role.ADMIN}


@pytest.mark.django_db
def test_demoting_the_owner_is_refused_with_a_message(staff_client, team):
    response = run_action(staff_client, "membership", "make_member", [team.membership(team.owner).pk])
    [refused] = shown(response)
    assert_refused(refused, f"Could not make member owner in “Team” (#{team.room.pk}): ", "needs an owner")
    assert team.roles()["owner"] == Role.OWNER


@pytest.mark.django_db
def test_roles_in_a_private_room_cannot_change(staff_client, team):
    private = room_create(actor=team.owner, name="dm", member_ids=[team.outsider.pk])
    other = Membership.objects.get(room=private, user=team.outsider)
    response = run_action(staff_client, "membership", "make_owner", [other.pk])
    [refused] = shown(response)
    assert_refused(refused, f"Could not make owner outsider in “dm” (#{private.pk}): ", "private room")
    assert Membership.objects.get(pk=other.pk).role == Role.MEMBER


@pytest.mark.django_db
def test_change_form_role_owner_hands_ownership_on(staff_client, team):
    target = team.membership(team.member)
    response = save_form(staff_client, target, role=Role.OWNER)
    target.refresh_from_db()
    assert shown(response) == [("success", changed_message(target))]
    assert team.roles() == {"owner": Role.ADMIN, "admin": Role.ADMIN, "member": Role.OWNER}


@pytest.mark.django_db
def test_change_form_refuses_to_leave_a_room_without_owner(staff_client, team):
    owner = team.membership(team.owner)
    response = save_form(staff_client, owner, role=Role.MEMBER, nickname="renamed")
    assert response.redirect_chain == [(change_page("membership", owner.pk), 302)]
    [refused] = shown(response)
    assert_refused(refused, "Nothing was saved: ", "needs an owner")
    owner.refresh_from_db()
    assert (owner.role, owner.nickname) == (Role.OWNER, "")  # the nickname was rolled back too


@pytest.mark.django_db
def test_change_form_mutes_unmutes_and_sets_the_nickname(staff_client, team):
    target = team.membership(team.member)
    until = (datetime.now().astimezone() + timedelta(days=2)).replace(microsecond=0)
    response = save_form(staff_client, target, muted_until=until, nickname="quiet one")
    assert shown(response) == [("success", changed_message(target))]
    target.refresh_from_db()
    assert (target.muted_until, target.nickname) == (until, "quiet one")

    response = save_form(staff_client, target, muted_until=None)
    assert shown(response) == [("success", changed_message(target))]
    target.refresh_from_db()
    assert (target.muted_until, target.nickname) == (None, "quiet one")


@pytest.mark.django_db
def test_change_form_refuses_a_mute_in_the_past(staff_client, team):
    target = team.membership(team.member)
    response = save_form(staff_client, target, muted_until=datetime.now().astimezone() - timedelta(hours=1))
    assert shown(response) == [("error", "Nothing was saved: the end of a mute must be in the future")]
    target.refresh_from_db()
    assert target.muted_until is None


@pytest.mark.django_db
def test_change_form_without_changes_writes_nothing(staff_client, team):
    target = team.membership(team.member)
    with CaptureQueriesContext(connection) as queries:
        response = save_form(staff_client, target)
    assert [q["sql"] for q in queries if 'UPDATE "meta_membership"' in q["sql"]] == []
    assert shown(response) == [("success", changed_message(target))]
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.ADMIN, "member": Role.MEMBER}


@pytest.mark.django_db
def test_add_form_makes_the_user_a_member(staff_client, team):
    response = staff_client.post(
        reverse("admin:meta_membership_add"), {"room": team.room.pk, "user": team.outsider.pk}, follow=True
    )
    added = team.membership(team.outsider)
    link = f'<a href="{change_page("membership", added.pk)}">{added}</a>'
    assert shown(response) == [("success", f"The membership “{link}” was added successfully.")]
    assert (added.role, added.joined_seq) == (Role.MEMBER, team.room.last_seq)


@pytest.mark.django_db
def test_add_form_refuses_a_private_room(staff_client, team, make_user):
    private = room_create(actor=team.owner, name="dm", member_ids=[team.admin.pk])
    response = staff_client.post(
        reverse("admin:meta_membership_add"), {"room": private.pk, "user": team.outsider.pk}, follow=True
    )
    assert response.redirect_chain == [(reverse("admin:meta_membership_add"), 302)]
    [refused] = shown(response)
    assert_refused(refused, "Nothing was saved: ", f"room {private.pk} is a private room")
    assert not Membership.objects.filter(room=private, user=team.outsider).exists()


@pytest.mark.django_db
def test_add_form_refuses_an_existing_member_with_a_form_error(staff_client, team):
    response = staff_client.post(reverse("admin:meta_membership_add"), {"room": team.room.pk, "user": team.member.pk})
    assert response.status_code == 200
    assert "Membership with this Room and User already exists." in response.content.decode()
    assert Membership.objects.filter(room=team.room).count() == 3


@pytest.mark.django_db
def test_delete_page_removes_a_member_but_never_the_owner(staff_client, team):
    owner = team.membership(team.owner)
    response = staff_client.post(reverse("admin:meta_membership_delete", args=[owner.pk]), {"post": "yes"}, follow=True)
    assert response.redirect_chain == [(change_page("membership", owner.pk), 302)]
    [refused] = shown(response)
    assert_refused(refused, "Nothing was deleted: ", "first hand ownership")
    assert team.roles()["owner"] == Role.OWNER

    member = team.membership(team.member)
    response = staff_client.post(
        reverse("admin:meta_membership_delete", args=[member.pk]), {"post": "yes"}, follow=True
    )
    assert shown(response) == [("success", f"The membership “{member}” was deleted successfully.")]
    assert team.roles() == {"owner": Role.OWNER, "admin": Role.ADMIN}


@pytest.mark.django_db
def test_change_form_keeps_an_untouched_mute_exactly(staff_client, team):
    """The page shows mute ends to the second; saving another field must neither move the end
    nor refuse an expired mute as "in the past"."""
    target = team.membership(team.member)
    ends = {
        "running": datetime.now().astimezone() + timedelta(hours=3, microseconds=654321),
        "expired": datetime.now().astimezone() - timedelta(hours=3, microseconds=123456),
    }
    for label, until in ends.items():
        Membership.objects.filter(pk=target.pk).update(muted_until=until)
        response = save_form(staff_client, target, nickname=label)
        assert shown(response) == [("success", changed_message(target))]
        target.refresh_from_db()
        assert (target.nickname, target.muted_until) == (label, until)
