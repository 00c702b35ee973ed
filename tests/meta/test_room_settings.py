"""Group settings and invite links (API.md §9)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from meta.models import Invite, JoinPolicy, Membership, Room
from meta.services import room_create
from tests.meta.conftest import FIXED_NOW, assert_error, assert_ok, frozen_now, post

pytestmark = pytest.mark.django_db

SETTINGS = "/api/chat/group/settings"
INVITE = "/api/chat/group/invite"
REVOKE = "/api/chat/group/invite/revoke"
INVITES = "/api/chat/group/invites"
JOIN = "/api/chat/group/join"


def settings_of(room):
    room.refresh_from_db()
    return {
        "room_id": room.pk,
        "name": room.name,
        "join_policy": room.join_policy,
        "announcement_only": room.announcement_only,
        "history_visible": room.history_visible,
    }


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admins_change_the_settings(cast, as_user, who):
    body = {"room_id": cast.room.pk, "name": "Crew", "join_policy": "approval", "announcement_only": True}
    response = post(as_user(cast.user(who)), SETTINGS, body)
    expected = {
        "room_id": cast.room.pk,
        "name": "Crew",
        "join_policy": "approval",
        "announcement_only": True,
        "history_visible": False,
    }
    assert_ok(response, expected)
    assert settings_of(cast.room) == expected
    # Fields left out stay as they are.
    assert_ok(post(as_user(cast.owner), SETTINGS, {"room_id": cast.room.pk, "history_visible": True}))
    assert settings_of(cast.room) == {**expected, "history_visible": True}


def test_members_read_the_settings_and_outsiders_do_not(cast, as_user):
    assert_ok(as_user(cast.member).get(SETTINGS, {"room_id": cast.room.pk}), settings_of(cast.room))
    assert_error(as_user(cast.outsider).get(SETTINGS, {"room_id": cast.room.pk}), 403, "not a member")
    assert_error(as_user(cast.outsider).get(SETTINGS, {"room_id": 999999}), 404, "room 999999 does not exist")


def test_settings_refusals(cast, as_user, make_user):
    room_id = cast.room.pk
    assert_error(post(as_user(cast.member), SETTINGS, {"room_id": room_id, "name": "x"}), 403, "owner or an admin")
    assert_error(post(as_user(cast.outsider), SETTINGS, {"room_id": room_id, "name": "x"}), 403, "not a member")
    assert_error(post(as_user(cast.owner), SETTINGS, {"room_id": 999999, "name": "x"}), 404, "does not exist")
    owner = as_user(cast.owner)
    for body, field in [
        ({"room_id": room_id, "name": ""}, "name"),
        ({"room_id": room_id, "name": "x" * 101}, "name"),
        ({"room_id": room_id, "name": "bell\x07"}, "name"),
        ({"room_id": room_id, "join_policy": "closed"}, "join_policy"),
        ({"room_id": room_id, "announcement_only": "yes"}, "announcement_only"),
        ({"room_id": room_id, "history_visible": 1}, "history_visible"),
    ]:
        response = post(owner, SETTINGS, body)
        assert response.status_code == 400, body
        assert field in response.json()["errors"], body
    assert_error(post(owner, SETTINGS, {"room_id": room_id, "name": "   "}), 400, "name")
    private = room_create(actor=cast.owner, name="dm", member_ids=[cast.member.pk])
    assert_error(post(owner, SETTINGS, {"room_id": private.pk, "announcement_only": True}), 400, "private room")
    assert_error(post(as_user(cast.admin), SETTINGS, {"room_id": private.pk, "name": "x"}), 403, "not a member")


def test_a_change_announces_settings_changed_to_every_member(cast, as_user):
    with mock.patch("meta.notices.notice_publish_on_commit") as publish:
        post(as_user(cast.admin), SETTINGS, {"room_id": cast.room.pk, "announcement_only": True, "name": "Team"})
    publish.assert_called_once()
    call = publish.call_args.kwargs
    assert call["room_id"] == cast.room.pk
    assert sorted(call["user_ids"]) == sorted([cast.owner.pk, cast.admin.pk, cast.member.pk])
    assert call["payload"] == {
        "event": "settings_changed",
        "room_id": cast.room.pk,
        "name": "Team",
        "join_policy": "open",
        "announcement_only": True,
        "history_visible": False,
        "changed": ["announcement_only"],  # the name was the same
        "by": cast.admin.pk,
    }
    with mock.patch("meta.notices.notice_publish_on_commit") as publish:
        assert_ok(post(as_user(cast.admin), SETTINGS, {"room_id": cast.room.pk, "announcement_only": True}))
    publish.assert_not_called()  # nothing changed, nothing to tell


# --- invite links ---------------------------------------------------------------------------


def invite(client, room_id, **fields):
    return post(client, INVITE, {"room_id": room_id, **fields})


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owner_and_admins_create_invite_links(cast, as_user, who):
    with frozen_now(FIXED_NOW):
        body = assert_ok(invite(as_user(cast.user(who)), cast.room.pk))
    data = body["data"]
    assert len(data["code"]) >= 20
    assert data == {
        "code": data["code"],
        "room_id": cast.room.pk,
        "expires_at": "2026-11-30T10:04:05.123Z",  # 7 days by default
        "max_uses": None,
        "uses": 0,
        "created_at": "2026-11-23T10:04:05.123Z",
        "created_by": cast.user(who).pk,
    }
    other = assert_ok(invite(as_user(cast.owner), cast.room.pk, expires_in=60, max_uses=3))["data"]
    assert other["code"] != data["code"]
    assert other["max_uses"] == 3


def test_invite_refusals(cast, as_user):
    room_id = cast.room.pk
    assert_error(invite(as_user(cast.member), room_id), 403, "owner or an admin")
    assert_error(invite(as_user(cast.outsider), room_id), 403, "not a member")
    assert_error(invite(as_user(cast.owner), 999999), 404, "does not exist")
    for fields, field in [
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": 2_592_001}, "expires_in"),
        ({"expires_in": "60"}, "expires_in"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": 1.5}, "max_uses"),
        ({"max_uses": 2_147_483_648}, "max_uses"),
    ]:
        response = invite(as_user(cast.owner), room_id, **fields)
        assert response.status_code == 400, fields
        assert field in response.json()["errors"], fields
    assert_ok(invite(as_user(cast.owner), room_id, expires_in=2_592_000, max_uses=None))
    private = room_create(actor=cast.owner, name="dm", member_ids=[cast.member.pk])
    assert_error(invite(as_user(cast.owner), private.pk), 400, "private room")


def test_anyone_with_the_code_joins_an_approval_group(cast, as_user, make_user):
    Room.objects.filter(pk=cast.room.pk).update(join_policy=JoinPolicy.APPROVAL)
    code = assert_ok(invite(as_user(cast.owner), cast.room.pk))["data"]["code"]
    newcomer = make_user("newcomer")
    assert_error(post(as_user(newcomer), JOIN, {"room_id": cast.room.pk}), 403, "approval")
    with mock.patch("meta.notices.notice_publish_on_commit") as publish:
        assert_ok(post(as_user(newcomer), JOIN, {"invite_code": code}), {"room_id": cast.room.pk, "role": 2})
    assert publish.call_args.kwargs["payload"]["event"] == "member_added"
    assert Membership.objects.filter(room=cast.room, user=newcomer, role=2).exists()
    # A member joining again changes nothing and uses nothing.
    assert_ok(post(as_user(newcomer), JOIN, {"invite_code": code}), {"room_id": cast.room.pk, "role": 2})
    assert_ok(post(as_user(cast.member), JOIN, {"invite_code": code}), {"room_id": cast.room.pk, "role": 2})
    assert Invite.objects.get(code=code).uses == 1


def test_a_used_up_link_is_404(cast, as_user, make_user):
    code = assert_ok(invite(as_user(cast.owner), cast.room.pk, max_uses=2))["data"]["code"]
    first, second, third = make_user("first"), make_user("second"), make_user("third")
    assert_ok(post(as_user(first), JOIN, {"invite_code": code}))
    assert_ok(post(as_user(second), JOIN, {"invite_code": code}))
    assert_error(post(as_user(third), JOIN, {"invite_code": code}), 404, "this invite link is used up")
    assert not Membership.objects.filter(room=cast.room, user=third).exists()


def test_an_expired_link_is_404(cast, as_user, make_user):
    code = assert_ok(invite(as_user(cast.owner), cast.room.pk, expires_in=60))["data"]["code"]
    later = timezone.now() + timedelta(seconds=61)
    with frozen_now(later):
        assert_error(post(as_user(make_user("late")), JOIN, {"invite_code": code}), 404, "this invite link is expired")


def test_a_revoked_link_is_404_and_revoking_is_for_managers(cast, as_user, make_user):
    code = assert_ok(invite(as_user(cast.admin), cast.room.pk))["data"]["code"]
    assert_error(post(as_user(cast.member), REVOKE, {"code": code}), 403, "owner or an admin")
    assert_error(post(as_user(cast.outsider), REVOKE, {"code": code}), 404, "no invite link has this code")
    assert_error(post(as_user(cast.owner), REVOKE, {"code": "nope"}), 404, "no invite link has this code")
    assert_error(post(as_user(cast.owner), REVOKE, {"code": "has space"}), 400, "code")
    revoked = assert_ok(post(as_user(cast.owner), REVOKE, {"code": code}))["data"]
    assert revoked["code"] == code
    assert_ok(post(as_user(cast.owner), REVOKE, {"code": code}))  # again: no change
    assert_error(post(as_user(make_user("late")), JOIN, {"invite_code": code}), 404, "this invite link is revoked")


def test_unknown_codes_and_malformed_join_bodies(cast, as_user):
    client = as_user(cast.outsider)
    assert_error(post(client, JOIN, {"invite_code": "x" * 22}), 404, "no invite link has this code")
    assert_error(post(client, JOIN, {"invite_code": "x" * 65}), 400, "invite_code")
    assert_error(post(client, JOIN, {"invite_code": 5}), 400, "invite_code")
    assert_error(post(client, JOIN, {"room_id": cast.room.pk, "invite_code": "abc"}), 400, "not both")
    assert_error(post(client, JOIN, {}), 400, "room_id", errors={"room_id": ["This field is required."]})


def test_managers_list_the_links_that_still_admit_someone(cast, as_user):
    owner = as_user(cast.owner)
    live = assert_ok(invite(owner, cast.room.pk))["data"]["code"]
    revoked = assert_ok(invite(owner, cast.room.pk))["data"]["code"]
    post(owner, REVOKE, {"code": revoked})
    used_up = assert_ok(invite(owner, cast.room.pk, max_uses=1))["data"]["code"]
    Invite.objects.filter(code=used_up).update(uses=1)
    expired = assert_ok(invite(owner, cast.room.pk))["data"]["code"]
    Invite.objects.filter(code=expired).update(expires_at=timezone.now() - timedelta(seconds=1))
    newest = assert_ok(invite(as_user(cast.admin), cast.room.pk, max_uses=5))["data"]["code"]
    listed = assert_ok(as_user(cast.admin).get(INVITES, {"room_id": cast.room.pk}))["data"]["invites"]
    assert [i["code"] for i in listed] == [newest, live]
    assert_error(as_user(cast.member).get(INVITES, {"room_id": cast.room.pk}), 403, "owner or an admin")
