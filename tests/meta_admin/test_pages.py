"""Every admin page renders for staff, finds what is searched for, and is closed to others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from meta.models import JoinRequest, Membership, Room, User
from meta.services import members_add, room_create

from .conftest import change_page, changelist, result_rows


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def first_columns(response, n: int) -> list[list[str]]:
    return [row[:n] for row in result_rows(response)]


@pytest.mark.django_db
def test_the_admin_index_lists_the_chat_models(staff_client):
    page = html(staff_client.get(reverse("admin:index")))
    for title in ("Users", "Rooms", "Memberships", "Join requests"):
        assert f">{title}</a>" in page


@pytest.mark.django_db
def test_users_list_search_filter_and_change_page(staff_client, team):
    User.objects.filter(pk=team.member.pk).update(nickname="Mimi", is_banned=True)
    assert first_columns(staff_client.get(changelist("user")), 5) == [
        ["admin", "-", "-", "False", "False"],
        ["member", "Mimi", "-", "True", "False"],
        ["moderator", "-", "mod@example.com", "False", "True"],
        ["outsider", "-", "-", "False", "False"],
        ["owner", "-", "-", "False", "False"],
    ]
    by_nickname = first_columns(staff_client.get(changelist("user"), {"q": "mimi"}), 1)
    assert by_nickname == [["member"]]
    by_username = first_columns(staff_client.get(changelist("user"), {"q": "OUTSID"}), 1)
    assert by_username == [["outsider"]]
    banned = first_columns(staff_client.get(changelist("user"), {"is_banned__exact": "1"}), 1)
    assert banned == [["member"]]
    staff_only = first_columns(staff_client.get(changelist("user"), {"is_staff__exact": "1"}), 1)
    assert staff_only == [["moderator"]]

    edit = html(staff_client.get(change_page("user", team.member.pk)))
    assert '<input type="text" name="nickname" value="Mimi"' in edit
    assert '<input type="checkbox" name="is_banned" id="id_is_banned" checked>' in edit


@pytest.mark.django_db
def test_users_cannot_be_deleted_here(staff_client, team):
    assert staff_client.get(reverse("admin:meta_user_delete", args=[team.owner.pk])).status_code == 403
    page = html(staff_client.get(changelist("user")))
    assert 'value="delete_selected"' not in page
    assert 'value="ban_users"' in page and 'value="unban_users"' in page


@pytest.mark.django_db
def test_rooms_list_shows_columns_and_links_member_counts(staff_client, team, make_user):
    private = room_create(actor=team.owner, name="dm", member_ids=[make_user("zed").pk])
    gated = Room.objects.create(name="Gated", is_group=True, join_policy="approval", last_seq=7)
    response = staff_client.get(changelist("room"))
    assert first_columns(response, 6) == [
        [str(gated.pk), "Gated", "True", "approval", "0", "7"],
        [str(private.pk), "dm", "False", "open", "2", "0"],
        [str(team.room.pk), "Team", "True", "open", "3", "0"],
    ]
    members_link = f"{changelist('membership')}?room__id__exact={team.room.pk}"
    assert f'<a href="{members_link}">3</a>' in html(response)


@pytest.mark.django_db
def test_rooms_search_by_name_and_by_id(staff_client, team):
    knitting = Room.objects.create(name="Knitting", is_group=True)
    by_name = first_columns(staff_client.get(changelist("room"), {"q": "knit"}), 2)
    assert by_name == [[str(knitting.pk), "Knitting"]]
    by_id = first_columns(staff_client.get(changelist("room"), {"q": str(team.room.pk)}), 2)
    assert by_id == [[str(team.room.pk), "Team"]]
    assert result_rows(staff_client.get(changelist("room"), {"q": "no such room"})) == []


@pytest.mark.django_db
def test_rooms_filter_by_kind_and_policy(staff_client, team, make_user):
    Room.objects.create(name="Gated", is_group=True, join_policy="approval")
    room_create(actor=team.owner, name="dm", member_ids=[make_user("zed").pk])
    gated = first_columns(staff_client.get(changelist("room"), {"join_policy__exact": "approval"}), 2)
    assert [name for _id, name in gated] == ["Gated"]
    private = first_columns(staff_client.get(changelist("room"), {"is_group__exact": "0"}), 2)
    assert [name for _id, name in private] == ["dm"]


@pytest.mark.django_db
def test_room_page_lists_members_read_only_owner_first(staff_client, team):
    Membership.objects.filter(room=team.room, user=team.member).update(nickname="the newbie")
    page = html(staff_client.get(change_page("room", team.room.pk)))
    assert page.index(">owner</a>") < page.index(">admin</a>") < page.index(">member</a>")
    assert "the newbie" in page
    assert 'name="name" value="Team"' in page
    # Read only: no inputs for the memberships, no way to add or delete one here.
    assert 'name="memberships-0-role"' not in page
    assert "memberships-0-DELETE" not in page
    assert 'name="memberships-TOTAL_FORMS" value="3"' in page
    for pk in Membership.objects.filter(room=team.room).values_list("pk", flat=True):
        assert change_page("membership", pk) in page


@pytest.mark.django_db
def test_room_page_shows_the_first_hundred_members_only(staff_client, team, make_user):
    crowd = [make_user(f"crowd{i:03}") for i in range(100)]
    members_add(actor=None, room_id=team.room.pk, user_ids=[u.pk for u in crowd])
    page = html(staff_client.get(change_page("room", team.room.pk)))
    assert 'name="memberships-TOTAL_FORMS" value="100"' in page
    assert ">owner</a>" in page and ">crowd096</a>" in page and ">crowd097</a>" not in page


@pytest.mark.django_db
def test_rooms_cannot_be_added_here(staff_client):
    assert staff_client.get(reverse("admin:meta_room_add")).status_code == 403


@pytest.mark.django_db
def test_memberships_list_search_filter_and_change_page(staff_client, team):
    elsewhere = Room.objects.create(name="Elsewhere", is_group=True)
    Membership.objects.create(room=elsewhere, user=team.outsider, role=0)
    team_label, elsewhere_label = f"Team (#{team.room.pk})", f"Elsewhere (#{elsewhere.pk})"
    assert first_columns(staff_client.get(changelist("membership")), 5) == [
        ["owner", team_label, "owner", "-", "-"],
        ["admin", team_label, "admin", "-", "-"],
        ["member", team_label, "member", "-", "-"],
        ["outsider", elsewhere_label, "owner", "-", "-"],
    ]
    by_room = first_columns(staff_client.get(changelist("membership"), {"q": "elsew"}), 2)
    assert by_room == [["outsider", elsewhere_label]]
    by_user = first_columns(staff_client.get(changelist("membership"), {"q": "admin"}), 2)
    assert by_user == [["admin", team_label]]
    owners = first_columns(staff_client.get(changelist("membership"), {"role__exact": "0"}), 2)
    assert owners == [["owner", team_label], ["outsider", elsewhere_label]]
    one_room = first_columns(staff_client.get(changelist("membership"), {"room__id__exact": team.room.pk}), 1)
    assert one_room == [["owner"], ["admin"], ["member"]]

    edit = html(staff_client.get(change_page("membership", team.membership(team.member).pk)))
    for field in ("role", "nickname", "muted_until_0", "muted_until_1"):
        assert f'name="{field}"' in edit
    assert 'name="room"' not in edit and 'name="user"' not in edit


@pytest.mark.django_db
def test_memberships_filter_by_muted(staff_client, team):
    now = timezone.now()
    Membership.objects.filter(room=team.room, user=team.member).update(muted_until=now + timedelta(hours=1))
    Membership.objects.filter(room=team.room, user=team.admin).update(muted_until=now - timedelta(hours=1))
    assert first_columns(staff_client.get(changelist("membership"), {"muted": "yes"}), 1) == [["member"]]
    assert first_columns(staff_client.get(changelist("membership"), {"muted": "no"}), 1) == [["owner"], ["admin"]]


@pytest.mark.django_db
def test_membership_add_page_asks_for_room_and_user_only(staff_client):
    page = html(staff_client.get(reverse("admin:meta_membership_add")))
    assert 'name="room"' in page and 'name="user"' in page
    assert 'name="role"' not in page and 'name="muted_until_0"' not in page


@pytest.mark.django_db
def test_join_requests_list_pending_first_search_filter_and_view(staff_client, team, make_user):
    late, early = make_user("latecomer"), make_user("earlybird")
    answered = JoinRequest.objects.create(room=team.room, user=early, status="rejected")
    pending = JoinRequest.objects.create(room=team.room, user=late, message="let me in")
    team_label = f"Team (#{team.room.pk})"
    assert first_columns(staff_client.get(changelist("joinrequest")), 5) == [
        [str(pending.pk), "latecomer", team_label, "pending", "let me in"],
        [str(answered.pk), "earlybird", team_label, "rejected", "-"],
    ]
    found = first_columns(staff_client.get(changelist("joinrequest"), {"q": "early"}), 2)
    assert found == [[str(answered.pk), "earlybird"]]
    assert len(result_rows(staff_client.get(changelist("joinrequest"), {"q": "team"}))) == 2
    by_status = first_columns(staff_client.get(changelist("joinrequest"), {"status__exact": "pending"}), 2)
    assert by_status == [[str(pending.pk), "latecomer"]]
    by_room = result_rows(staff_client.get(changelist("joinrequest"), {"room__id__exact": team.room.pk}))
    assert len(by_room) == 2

    view = html(staff_client.get(change_page("joinrequest", pending.pk)))
    assert "let me in" in view and 'name="status"' not in view and 'name="_save"' not in view


@pytest.mark.django_db
def test_join_requests_cannot_be_added_here(staff_client):
    assert staff_client.get(reverse("admin:meta_joinrequest_add")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["user", "room", "membership", "joinrequest"])
def test_non_staff_users_are_sent_to_the_admin_login(client, make_user, model):
    client.force_login(make_user("regular"))
    response = client.get(changelist(model))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={changelist(model)}"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={reverse('admin:index')}"


@pytest.mark.django_db
def test_createsuperuser_without_input_makes_a_staff_user_who_can_log_in(client, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-password")
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    call_command("createsuperuser", interactive=False, verbosity=0)
    root = User.objects.get(username="root")
    assert root.is_staff and root.is_superuser and root.check_password("a-long-password")

    response = client.post(
        reverse("admin:login"), {"username": "root", "password": "a-long-password", "next": "/admin/"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert "Site administration" in html(client.get("/admin/"))


@pytest.mark.django_db
def test_staff_who_may_only_view_get_no_moderation_actions(client, team):
    viewer = User.objects.create_user(username="viewer", password="secret123", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_user", "view_membership", "view_joinrequest", "view_room"])
    )
    client.force_login(viewer)
    request = JoinRequest.objects.create(room=team.room, user=team.outsider)
    for model, actions in {
        "user": ["ban_users", "unban_users"],
        "membership": ["remove_from_room", "make_owner", "mute_1h", "unmute"],
        "joinrequest": ["approve", "reject"],
        "room": ["delete_selected"],
    }.items():
        page = html(client.get(changelist(model)))
        for action in actions:
            assert f'value="{action}"' not in page

    response = client.post(changelist("joinrequest"), {"action": "approve", "_selected_action": [request.pk]})
    assert response.status_code == 200  # the changelist again, nothing done
    request.refresh_from_db()
    assert request.status == "pending"
    client.post(changelist("user"), {"action": "ban_users", "_selected_action": [team.member.pk]})
    assert User.objects.get(pk=team.member.pk).is_banned is False
