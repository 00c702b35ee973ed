"""People (API.md §9): your profile and password, finding users by name, blocking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from meta.models import Room, User
from meta.services import room_create
from meta.services.moderation import user_ban
from tests.meta.conftest import FIXED_NOW, FIXED_NOW_WIRE, assert_error, assert_ok, post

pytestmark = pytest.mark.django_db


# --- /api/me ------------------------------------------------------------------------------


def test_me_shows_the_account(as_user, make_user):
    carol = make_user("Carol", nickname="Caro", date_joined=FIXED_NOW)
    assert_ok(
        as_user(carol).get("/api/me"),
        {"user_id": carol.pk, "username": "Carol", "nickname": "Caro", "created_at": FIXED_NOW_WIRE},
    )


def test_me_changes_the_nickname_under_the_rules_of_register(as_user, make_user):
    carol = make_user("carol")
    client = as_user(carol)
    body = assert_ok(post(client, "/api/me", {"nickname": "Caro ✨"}))
    assert body["data"]["nickname"] == "Caro ✨"
    assert User.objects.get(pk=carol.pk).nickname == "Caro ✨"
    assert_ok(post(client, "/api/me", {"nickname": ""}))
    assert User.objects.get(pk=carol.pk).nickname == ""
    assert_error(post(client, "/api/me", {"nickname": "x" * 51}), 400, "nickname")
    assert_error(
        post(client, "/api/me", {"nickname": "evil\x1b[31m"}),
        400,
        "nickname",
        errors={"nickname": ["must not contain control characters"]},
    )
    assert_error(post(client, "/api/me", {"nickname": 5}), 400, "nickname")
    assert_error(post(client, "/api/me", {}), 400, "nickname")


def test_me_needs_a_token(api):
    assert_error(api.get("/api/me"), 401, "authentication required")


# --- /api/me/password ---------------------------------------------------------------------


def login(api, username, password):
    return api.post("/login", {"username": username, "password": password}, format="json")


def test_a_password_change_ends_older_refresh_tokens_and_gives_this_device_a_new_pair(api, as_user, make_user):
    carol = make_user("carol", password="old-secret")
    other_device = login(api, "carol", "old-secret").json()["data"]["refresh"]
    body = assert_ok(
        post(as_user(carol), "/api/me/password", {"old_password": "old-secret", "new_password": "new-secret"})
    )
    assert set(body["data"]) == {"token", "refresh", "expires_in"}
    refused = api.post("/api/token/refresh", {"refresh": other_device}, format="json")
    assert refused.status_code == 401
    assert refused.json() == {"code": 401, "msg": "the refresh token was used already or revoked: log in again"}
    # The pair the reply carries was issued after the change: it works.
    assert_ok(api.post("/api/token/refresh", {"refresh": body["data"]["refresh"]}, format="json"))
    assert login(api, "carol", "old-secret").status_code == 401
    assert_ok(login(api, "carol", "new-secret"))


def test_a_wrong_old_password_is_400_with_errors_old_password(as_user, make_user):
    carol = make_user("carol", password="old-secret")
    assert_error(
        post(as_user(carol), "/api/me/password", {"old_password": "guess", "new_password": "new-secret"}),
        400,
        "the old password is wrong",
        errors={"old_password": ["the old password is wrong"]},
    )
    assert User.objects.get(pk=carol.pk).check_password("old-secret")


def test_the_new_password_follows_the_rules_of_register(as_user, make_user):
    carol = make_user("carol", password="old-secret")
    assert_error(
        post(as_user(carol), "/api/me/password", {"old_password": "old-secret", "new_password": "short"}),
        400,
        "new_password",
        errors={"new_password": ["must be 6 to 128 characters long"]},
    )
    assert_error(post(as_user(carol), "/api/me/password", {"old_password": "old-secret"}), 400, "new_password")


def test_guessing_the_old_password_locks_the_account_out(as_user, make_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    carol = make_user("carol", password="old-secret")
    client = as_user(carol)
    for _ in range(3):
        post(client, "/api/me/password", {"old_password": "guess", "new_password": "new-secret"})
    response = post(client, "/api/me/password", {"old_password": "old-secret", "new_password": "new-secret"})
    assert_error(response, 429, "too many failed logins")
    assert int(response["Retry-After"]) > 0


# --- /api/users/search --------------------------------------------------------------------


def search(client, **query):
    return client.get("/api/users/search", query)


def found(response):
    body = assert_ok(response)
    return [user["username"] for user in body["data"]["users"]], body["data"]["has_more"]


def test_search_matches_a_username_prefix_or_a_nickname_substring_without_regard_to_case(as_user, make_user):
    me = make_user("me")
    ann = make_user("Annabel", nickname="Bel")
    make_user("joanna", nickname="Jo")  # "ann" inside the username, not at its start
    make_user("zed", nickname="Queen Anne")
    make_user("annex", nickname="")
    client = as_user(me)
    assert found(search(client, q="ann")) == (["Annabel", "annex", "zed"], False)
    body = assert_ok(search(client, q="ANN"))
    assert body["data"]["users"][0] == {"user_id": ann.pk, "username": "Annabel", "nickname": "Bel"}
    assert found(search(client, q="queen a")) == (["zed"], False)
    assert found(search(client, q="nobody")) == ([], False)


def test_search_compares_usernames_as_login_does(as_user, make_user):
    me = make_user("me")
    make_user("straße")
    make_user("Ǆemal")  # "Ǆ" is one letter; NFKC (Django applies it on save) makes it "DŽ"
    client = as_user(me)
    assert found(search(client, q="STRASS")) == (["straße"], False)
    assert found(search(client, q="ｄžem")) == (["DŽemal"], False)


def test_search_never_shows_banned_users(as_user, make_user):
    me = make_user("me")
    gone = make_user("annoying")
    make_user("anna")
    user_ban(user_id=gone.pk)
    assert found(search(as_user(me), q="ann")) == (["anna"], False)


def test_search_pages_with_limit_and_offset(as_user, make_user):
    me = make_user("me")
    for n in range(5):
        make_user(f"pat{n}")
    client = as_user(me)
    assert found(search(client, q="pat", limit=2)) == (["pat0", "pat1"], True)
    assert found(search(client, q="pat", limit=2, offset=2)) == (["pat2", "pat3"], True)
    assert found(search(client, q="pat", limit=2, offset=4)) == (["pat4"], False)


def test_percent_and_underscore_match_themselves(as_user, make_user):
    me = make_user("me")
    make_user("a_b")
    make_user("axb")
    make_user("carl", nickname="100% sure")
    make_user("dora", nickname="1000 sure")
    client = as_user(me)
    assert found(search(client, q="a_")) == (["a_b"], False)
    assert found(search(client, q="0%")) == (["carl"], False)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 51}, "q"),
        ({"q": "a", "limit": "0"}, "limit"),
        ({"q": "a", "limit": "101"}, "limit"),
        ({"q": "a", "limit": ""}, "limit"),
        ({"q": "a", "offset": "-1"}, "offset"),
    ],
)
def test_search_refuses_bad_queries(as_user, make_user, query, field):
    response = search(as_user(make_user("me")), **query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_search_takes_one_query_whatever_the_number_of_matches(as_user, make_user):
    me = make_user("me")
    for n in range(30):
        make_user(f"sam{n:02d}")
    client = as_user(me)
    search(client, q="sam")  # warm up authentication's own queries
    with CaptureQueriesContext(connection) as queries:
        assert found(search(client, q="sam", limit=100))[0][:2] == ["sam00", "sam01"]
    user_queries = [q["sql"] for q in queries.captured_queries if "meta_user" in q["sql"]]
    assert len(user_queries) == 2  # the token's user, then the search


# --- blocking -------------------------------------------------------------------------------


def block(client, user_id, blocked=None):
    body = {"user_id": user_id} if blocked is None else {"user_id": user_id, "blocked": blocked}
    return post(client, "/api/users/block", body)


def test_block_and_unblock_and_the_blocked_list(as_user, make_user):
    me, troll, spammer = make_user("me"), make_user("troll", nickname="T"), make_user("spammer")
    client = as_user(me)
    assert_ok(block(client, troll.pk), {"user_id": troll.pk, "blocked": True})
    assert_ok(block(client, troll.pk), {"user_id": troll.pk, "blocked": True})  # twice: no change
    assert_ok(block(client, spammer.pk, True))
    listed = assert_ok(client.get("/api/users/blocked"))["data"]["users"]
    assert listed == [
        {"user_id": spammer.pk, "username": "spammer", "nickname": ""},
        {"user_id": troll.pk, "username": "troll", "nickname": "T"},
    ]
    assert_ok(block(client, troll.pk, False), {"user_id": troll.pk, "blocked": False})
    assert_ok(block(client, troll.pk, False), {"user_id": troll.pk, "blocked": False})
    assert [u["user_id"] for u in assert_ok(client.get("/api/users/blocked"))["data"]["users"]] == [spammer.pk]
    # Nobody else's list shows it.
    assert_ok(as_user(troll).get("/api/users/blocked"), {"users": []})


def test_block_refusals(as_user, make_user):
    me = make_user("me")
    client = as_user(me)
    assert_error(block(client, me.pk), 400, "you cannot block yourself")
    assert_error(block(client, 999999), 404, "user 999999 does not exist")
    assert_error(block(client, "2"), 400, "user_id")
    assert_error(post(client, "/api/users/block", {"user_id": me.pk + 1, "blocked": "yes"}), 400, "blocked")


def create_private(client, other_id):
    return post(client, "/api/chat/group/create", {"name": "dm", "member_ids": [other_id]})


def test_the_blocked_user_cannot_create_the_private_room_and_the_blocker_gets_it_back(as_user, make_user):
    ann, bob = make_user("ann"), make_user("bob")
    room_id = assert_ok(create_private(as_user(ann), bob.pk))["data"]["room_id"]
    assert_ok(block(as_user(ann), bob.pk))
    refused = create_private(as_user(bob), ann.pk)
    assert_error(refused, 403, f"you cannot start a private chat with user {ann.pk}")
    assert "block" not in refused.json()["msg"]  # never says who blocked
    assert_ok(create_private(as_user(ann), bob.pk), {"room_id": room_id})
    assert_ok(block(as_user(ann), bob.pk, False))
    assert_ok(create_private(as_user(bob), ann.pk), {"room_id": room_id})


def test_a_blocked_user_cannot_create_a_private_room_that_does_not_exist_yet(as_user, make_user):
    ann, bob = make_user("ann"), make_user("bob")
    assert_ok(block(as_user(ann), bob.pk))
    assert_error(create_private(as_user(bob), ann.pk), 403, "you cannot start a private chat")
    assert not Room.objects.filter(is_group=False).exists()
    # The blocker may create it; it is frozen until they unblock.
    assert_ok(create_private(as_user(ann), bob.pk))


def test_groups_are_unaffected_by_blocks(as_user, make_user):
    ann, bob = make_user("ann"), make_user("bob")
    assert_ok(block(as_user(ann), bob.pk))
    room = room_create(actor=bob, name="g", is_group=True, member_ids=[ann.pk])
    assert_ok(post(as_user(bob), "/api/chat/group/add_member", {"room_id": room.pk, "member_id": ann.pk}))
    assert_ok(post(as_user(ann), "/api/chat/group/create", {"name": "g2", "is_group": True, "member_ids": [bob.pk]}))
