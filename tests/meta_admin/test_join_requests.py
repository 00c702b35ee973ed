"""Answering join requests from the admin, through join_request_respond."""

from __future__ import annotations

import pytest

from meta.models import JoinRequest, Membership, Role

from .conftest import run_action, shown


@pytest.fixture
def requests(team, make_user):
    """Two pending requests to join "Team"."""
    alice, bob = make_user("alice"), make_user("bob")
    return (
        JoinRequest.objects.create(room=team.room, user=alice, message="hello"),
        JoinRequest.objects.create(room=team.room, user=bob),
    )


@pytest.mark.django_db
def test_approve_makes_the_applicants_members(staff_client, team, requests, client_for):
    alice_request, bob_request = requests
    response = run_action(staff_client, "joinrequest", "approve", [alice_request.pk, bob_request.pk])
    room = f"“Team” (#{team.room.pk})"
    assert shown(response) == [
        ("success", f"Approved request #{alice_request.pk} (alice → {room}): alice is now a member."),
        ("success", f"Approved request #{bob_request.pk} (bob → {room}): bob is now a member."),
    ]
    assert team.roles() == {"owner": 0, "admin": 1, "member": 2, "alice": Role.MEMBER, "bob": Role.MEMBER}
    alice_request.refresh_from_db()
    assert (alice_request.status, alice_request.handled_by_id) == ("approved", None)
    assert alice_request.handled_at is not None
    joined = client_for(alice_request.user).get("/api/joined_rooms").json()["data"]["room_ids"]
    assert joined == [team.room.pk]


@pytest.mark.django_db
def test_reject_keeps_the_applicant_out(staff_client, team, requests):
    alice_request, _ = requests
    response = run_action(staff_client, "joinrequest", "reject", [alice_request.pk])
    assert shown(response) == [("success", f"Rejected request #{alice_request.pk} (alice → “Team” (#{team.room.pk})).")]
    alice_request.refresh_from_db()
    assert alice_request.status == "rejected"
    assert not Membership.objects.filter(room=team.room, user=alice_request.user).exists()


@pytest.mark.django_db
def test_answering_twice_shows_an_error_and_keeps_the_first_answer(staff_client, team, requests):
    alice_request, bob_request = requests
    run_action(staff_client, "joinrequest", "reject", [alice_request.pk])

    response = run_action(staff_client, "joinrequest", "approve", [alice_request.pk, bob_request.pk])
    (level, text), approved = shown(response)
    prefix = f"Could not approve request #{alice_request.pk} (alice → “Team” (#{team.room.pk})): "
    assert level == "error" and text.startswith(prefix)
    assert "already rejected" in text
    assert approved == (
        "success",
        f"Approved request #{bob_request.pk} (bob → “Team” (#{team.room.pk})): bob is now a member.",
    )
    alice_request.refresh_from_db()
    assert alice_request.status == "rejected"
    assert not Membership.objects.filter(room=team.room, user=alice_request.user).exists()

    again = run_action(staff_client, "joinrequest", "reject", [bob_request.pk])
    [(level, text)] = shown(again)
    assert level == "error" and "already approved" in text
    bob_request.refresh_from_db()
    assert bob_request.status == "approved"
