"""Banning and unbanning users from the admin, and what a banned user's client sees."""

from __future__ import annotations

import pytest

from meta.models import User

from .conftest import change_page, run_action, shown, submit_form


@pytest.mark.django_db
def test_ban_action_bans_each_selected_user_and_their_token_stops_working(staff_client, team, client_for):
    member_api = client_for(team.member)
    assert member_api.get("/api/joined_rooms").status_code == 200

    response = run_action(staff_client, "user", "ban_users", [team.member.pk, team.admin.pk])
    assert shown(response) == [
        ("success", "Banned admin: their tokens are refused from their next request."),
        ("success", "Banned member: their tokens are refused from their next request."),
    ]
    assert "Banned member: their tokens are refused from their next request." in response.content.decode()
    assert set(User.objects.filter(is_banned=True).values_list("username", flat=True)) == {"admin", "member"}

    refused = member_api.get("/api/joined_rooms")
    assert refused.status_code == 401
    assert refused.json() == {"code": 401, "msg": "this user is banned"}


@pytest.mark.django_db
def test_unban_action_lets_the_token_work_again(staff_client, team, client_for):
    User.objects.filter(pk=team.member.pk).update(is_banned=True)
    member_api = client_for(team.member)
    assert member_api.get("/api/joined_rooms").status_code == 401

    response = run_action(staff_client, "user", "unban_users", [team.member.pk])
    assert shown(response) == [("success", "Unbanned member.")]
    team.member.refresh_from_db()
    assert team.member.is_banned is False
    reply = member_api.get("/api/joined_rooms")
    assert reply.status_code == 200
    assert reply.json()["data"]["room_ids"] == [team.room.pk]


@pytest.mark.django_db
def test_banning_twice_keeps_the_user_banned(staff_client, team):
    run_action(staff_client, "user", "ban_users", [team.member.pk])
    response = run_action(staff_client, "user", "ban_users", [team.member.pk])
    assert shown(response) == [("success", "Banned member: their tokens are refused from their next request.")]
    assert User.objects.get(pk=team.member.pk).is_banned is True


@pytest.mark.django_db
def test_banning_in_the_change_form_takes_effect_on_the_next_request(staff_client, team, client_for):
    member_api = client_for(team.member)
    response = submit_form(staff_client, change_page("user", team.member.pk), nickname="Troublemaker", is_banned="on")
    link = f'<a href="{change_page("user", team.member.pk)}">member</a>'
    assert shown(response) == [("success", f"The user “{link}” was changed successfully.")]
    team.member.refresh_from_db()
    assert (team.member.is_banned, team.member.nickname) == (True, "Troublemaker")
    assert team.member.check_password("secret123")  # the password stays as it was
    assert member_api.get("/api/joined_rooms").status_code == 401


@pytest.mark.django_db
def test_unbanning_in_the_change_form(staff_client, team, client_for):
    User.objects.filter(pk=team.member.pk).update(is_banned=True)
    response = submit_form(staff_client, change_page("user", team.member.pk), is_banned=None)
    assert [level for level, _ in shown(response)] == ["success"]
    assert User.objects.get(pk=team.member.pk).is_banned is False
    assert client_for(team.member).get("/api/joined_rooms").status_code == 200
