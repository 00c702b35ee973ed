"""search, joined_rooms and members."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meta.models import JoinPolicy, Membership, Room
from meta.services import room_create
from registry.services import gateway_register, user_connect
from tests.meta.conftest import FIXED_NOW, FIXED_NOW_WIRE, assert_error, assert_ok, frozen_now

SEARCH = "/api/chat/group/search"


def _group(owner, name, members=(), **kwargs) -> Room:
    return room_create(actor=owner, name=name, is_group=True, member_ids=[m.pk for m in members], **kwargs)


# --- search -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_finds_groups_by_substring_without_regard_to_case(make_user, as_user):
    alice, bob = make_user(), make_user()
    with frozen_now():
        python = _group(alice, "Python Lovers", [bob], join_policy=JoinPolicy.APPROVAL)
        _group(alice, "Rustaceans")
        room_create(actor=alice, name="python dm", member_ids=[bob.pk])  # private: never listed
        snakes = _group(bob, "snakes & PYTHONS")
    response = as_user(bob).get(SEARCH, {"q": "pYtHoN"})
    assert_ok(
        response,
        {
            "rooms": [
                {
                    "id": python.pk,
                    "name": "Python Lovers",
                    "creator_id": alice.pk,
                    "created_at": FIXED_NOW_WIRE,
                    "member_count": 2,
                    "join_policy": "approval",
                },
                {
                    "id": snakes.pk,
                    "name": "snakes & PYTHONS",
                    "creator_id": bob.pk,
                    "created_at": FIXED_NOW_WIRE,
                    "member_count": 1,
                    "join_policy": "open",
                },
            ],
            "total": 2,
        },
    )


@pytest.mark.django_db
def test_search_treats_percent_and_underscore_literally(make_user, as_user):
    alice = make_user()
    percent = _group(alice, "100% fun")
    underscore = _group(alice, "snake_case")
    _group(alice, "100 fun")
    _group(alice, "snakeXcase")
    ids = lambda r: [room["id"] for room in r.json()["data"]["rooms"]]  # noqa: E731
    assert ids(as_user(alice).get(SEARCH, {"q": "%"})) == [percent.pk]
    assert ids(as_user(alice).get(SEARCH, {"q": "e_c"})) == [underscore.pk]


@pytest.mark.django_db
def test_search_with_empty_q_lists_all_groups_paged_by_id(make_user, as_user):
    alice = make_user()
    groups = [_group(alice, f"g{n}") for n in range(25)]
    room_create(actor=alice, name="dm", member_ids=[make_user().pk])
    first = assert_ok(as_user(alice).get(SEARCH))["data"]
    assert first["total"] == 25
    assert [r["id"] for r in first["rooms"]] == [g.pk for g in groups[:20]]
    page = assert_ok(as_user(alice).get(SEARCH, {"q": "", "limit": "10", "offset": "20"}))["data"]
    assert (page["total"], [r["id"] for r in page["rooms"]]) == (25, [g.pk for g in groups[20:]])
    assert assert_ok(as_user(alice).get(SEARCH, {"limit": "100", "offset": "1000"}))["data"] == {
        "rooms": [],
        "total": 25,
    }
    assert len(assert_ok(as_user(alice).get(SEARCH, {"limit": "1"}))["data"]["rooms"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"limit": "101"}, {"limit": ["must be an integer from 1 to 100"]}),
        ({"limit": "0"}, {"limit": ["must be an integer from 1 to 100"]}),
        ({"limit": "ten"}, {"limit": ["must be an integer from 1 to 100"]}),
        ({"limit": "2.5"}, {"limit": ["must be an integer from 1 to 100"]}),
        ({"offset": "-1"}, {"offset": ["must be an integer from 0 to 9007199254740991"]}),
        ({"offset": "x"}, {"offset": ["must be an integer from 0 to 9007199254740991"]}),
        ({"q": "q" * 101}, {"q": ["Ensure this field has no more than 100 characters."]}),
    ],
)
def test_search_rejects_bad_paging(make_user, as_user, params, errors):
    assert_error(as_user(make_user()).get(SEARCH, params), 400, next(iter(errors)), errors=errors)


@pytest.mark.django_db
def test_search_needs_authentication(api):
    assert_error(api.get(SEARCH), 401, "authentication required")


# --- joined_rooms -----------------------------------------------------------------------


@pytest.mark.django_db
def test_joined_rooms_lists_the_callers_rooms_with_role_and_last_seq(cast, as_user, make_user):
    dm = room_create(actor=cast.admin, name="dm", member_ids=[cast.member.pk])
    _group(cast.owner, "without the member")
    Room.objects.filter(pk=cast.room.pk).update(last_seq=9)
    data = assert_ok(as_user(cast.member).get("/api/joined_rooms"))["data"]
    # Most recently active first (API.md §7.3): the dm, created later and quiet since, leads.
    assert data["room_ids"] == [dm.pk, cast.room.pk] == [room["id"] for room in data["rooms"]]
    part_one = [{key: room[key] for key in ("id", "name", "is_group", "role", "last_seq")} for room in data["rooms"]]
    assert part_one == [
        {"id": dm.pk, "name": "dm", "is_group": False, "role": 2, "last_seq": 0},
        {"id": cast.room.pk, "name": "Team", "is_group": True, "role": 2, "last_seq": 9},
    ]
    assert_ok(as_user(cast.outsider).get("/api/joined_rooms"), {"room_ids": [], "rooms": []})


# --- members ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_members_lists_roles_nicknames_join_times_and_presence(cast, as_user):
    cast.member.nickname = "Mimi"
    cast.member.save()
    cast.admin.nickname = "Addy"
    cast.admin.save()
    Membership.objects.filter(room=cast.room, user=cast.admin).update(nickname="Room Admin")
    Membership.objects.filter(room=cast.room).update(joined_at=FIXED_NOW)
    with frozen_now(FIXED_NOW + timedelta(minutes=1)):
        assert_ok(as_user(cast.outsider).post("/api/chat/group/join", {"room_id": cast.room.pk}, format="json"))
    with frozen_now(FIXED_NOW + timedelta(minutes=2)):
        gateway_register(gateway_id="gw-1", address="127.0.0.1", port=8084)
        user_connect(user_id=cast.admin.pk, gateway_id="gw-1", connection_id="c1")
        user_connect(user_id=cast.outsider.pk, gateway_id="gw-1", connection_id="c2")
        response = as_user(cast.member).get("/api/chat/group/members", {"room_id": cast.room.pk})
    member = lambda user, nickname, role, joined_at, online: {  # noqa: E731
        "user_id": user.pk,
        "username": user.username,
        "nickname": nickname,
        "role": role,
        "joined_at": joined_at,
        "online": online,
        "last_seen": None,  # never seen (none of them opened a socket, then closed it)
        "read_seq": 0,  # nobody has read anything yet (API.md §7.3)
    }
    assert_ok(
        response,
        {
            "members": [
                member(cast.owner, "", 0, FIXED_NOW_WIRE, False),
                member(cast.admin, "Room Admin", 1, FIXED_NOW_WIRE, True),
                member(cast.member, "Mimi", 2, FIXED_NOW_WIRE, False),
                member(cast.outsider, "", 2, "2026-11-23T10:05:05.123Z", True),
            ]
        },
    )


@pytest.mark.django_db
def test_members_refusals(cast, as_user):
    path = "/api/chat/group/members"
    assert_error(
        as_user(cast.outsider).get(path, {"room_id": cast.room.pk}), 403, f"you are not a member of room {cast.room.pk}"
    )
    assert_error(as_user(cast.member).get(path, {"room_id": 999999}), 404, "room 999999 does not exist")
    assert_error(as_user(cast.member).get(path), 400, "room_id", errors={"room_id": ["This field is required."]})
    assert_error(as_user(cast.member).get(path, {"room_id": "x"}), 400, "room_id")
