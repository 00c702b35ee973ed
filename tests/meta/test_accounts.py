"""POST /register, /login and /api/token/refresh."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework_simplejwt.tokens import AccessToken

from meta.models import User
from tests.meta.conftest import assert_error, assert_ok, post

USERNAME_RULE = "may contain only letters, digits and the characters @ . + - _"


# --- /register --------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_user_with_hashed_password(api):
    response = post(api, "/register", {"username": "Alice.W", "password": "secret123", "nickname": "Al"})
    user = User.objects.get()
    assert_ok(response, {"user_id": user.pk, "username": "Alice.W"}, msg="registered")
    assert user.nickname == "Al"
    assert user.password != "secret123"
    assert user.check_password("secret123")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body", [{"username": "bob", "password": "secret1"}, {"username": "bob", "password": "secret1", "nickname": ""}]
)
def test_register_nickname_is_optional_and_may_be_empty(api, body):
    response = post(api, "/register", body)
    assert_ok(response, {"user_id": User.objects.get().pk, "username": "bob"})
    assert User.objects.get().nickname == ""


@pytest.mark.django_db
def test_register_accepts_the_bounds(api):
    assert_ok(post(api, "/register", {"username": "abc", "password": "123456", "nickname": "n" * 50}))
    assert_ok(post(api, "/register", {"username": "u" * 50, "password": "p" * 128}))
    assert_ok(post(api, "/register", {"username": "a@b.c+d-e_f", "password": "123456"}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"password": "secret1"}, {"username": ["This field is required."]}),
        ({"username": "bob"}, {"password": ["This field is required."]}),
        ({"username": "ab", "password": "secret1"}, {"username": ["must be 3 to 50 characters long"]}),
        ({"username": "u" * 51, "password": "secret1"}, {"username": ["must be 3 to 50 characters long"]}),
        ({"username": "bob smith", "password": "secret1"}, {"username": [USERNAME_RULE]}),
        ({"username": "bob/", "password": "secret1"}, {"username": [USERNAME_RULE]}),
        ({"username": " bob", "password": "secret1"}, {"username": [USERNAME_RULE]}),
        ({"username": 12345, "password": "secret1"}, {"username": ["must be a string"]}),
        ({"username": None, "password": "secret1"}, {"username": ["This field may not be null."]}),
        ({"username": "", "password": "secret1"}, {"username": ["This field may not be blank."]}),
        ({"username": "bob", "password": "12345"}, {"password": ["must be 6 to 128 characters long"]}),
        ({"username": "bob", "password": "p" * 129}, {"password": ["must be 6 to 128 characters long"]}),
        ({"username": "bob", "password": 1234567}, {"password": ["must be a string"]}),
        (
            {"username": "bob", "password": "secret1", "nickname": "n" * 51},
            {"nickname": ["Ensure this field has no more than 50 characters."]},
        ),
        ({"username": "bob", "password": "secret1", "nickname": ["x"]}, {"nickname": ["must be a string"]}),
    ],
)
def test_register_rejects_bad_input(api, body, errors):
    response = post(api, "/register", body)
    field, reasons = next(iter(errors.items()))
    assert_error(response, 400, f"{field}: {reasons[0]}", errors=errors)
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_rejects_a_body_that_is_not_an_object(api):
    response = post(api, "/register", ["bob", "secret1"])
    assert_error(response, 400, "Expected a dictionary", errors={"non_field_errors": [mock.ANY]})


@pytest.mark.django_db
def test_register_rejects_a_body_that_is_not_json(api):
    response = api.post("/register", "username=bob&password=secret1", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "the body must be JSON")
    response = api.generic("POST", "/register", b"{not json", content_type="application/json")
    assert_error(response, 400, "the body is not valid JSON")


@pytest.mark.django_db
@pytest.mark.parametrize("taken", ["bob", "BOB", "Bob"])
def test_register_refuses_a_taken_username_in_any_case(api, make_user, taken):
    make_user("bOb")
    response = post(api, "/register", {"username": taken, "password": "secret1"})
    assert_error(response, 409, f"the username '{taken}' is already taken")
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_register_is_rate_limited_per_address(api):
    for n in range(30):
        assert_ok(post(api, "/register", {"username": f"user{n:03d}", "password": "secret1"}))
    response = post(api, "/register", {"username": "one_more", "password": "secret1"})
    assert_error(response, 429, "too many requests")
    assert int(response["Retry-After"]) >= 1
    # A spoofed X-Forwarded-For is no way around the limit.
    response = api.post(
        "/register", {"username": "sneaky", "password": "secret1"}, format="json", HTTP_X_FORWARDED_FOR="10.9.8.7"
    )
    assert_error(response, 429, "too many requests")
    other = api.post(
        "/register", {"username": "elsewhere", "password": "secret1"}, format="json", REMOTE_ADDR="10.0.0.2"
    )
    assert_ok(other)


# --- /login -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_returns_tokens_that_work(api, make_user):
    user = make_user("Carol", password="secret123")
    response = post(api, "/login", {"username": "Carol", "password": "secret123"})
    body = assert_ok(response, msg="logged in")
    data = body["data"]
    assert set(data) == {"token", "refresh", "user_id", "username", "expires_in"}
    assert data["user_id"] == user.pk
    assert data["username"] == "Carol"
    assert data["expires_in"] == 7200
    claims = AccessToken(data["token"]).payload
    assert claims["user_id"] == user.pk
    assert claims["username"] == "Carol"
    assert claims["exp"] - claims["iat"] == 7200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {data['token']}")
    assert_ok(api.get("/api/joined_rooms"), {"room_ids": [], "rooms": []})


@pytest.mark.django_db
def test_login_matches_the_username_without_regard_to_case(api, make_user):
    user = make_user("Carol", password="secret123")
    body = assert_ok(post(api, "/login", {"username": "cAROL", "password": "secret123"}))
    assert body["data"]["user_id"] == user.pk
    assert body["data"]["username"] == "Carol"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"username": "carol", "password": "wrong-password"},
        {"username": "nobody", "password": "secret123"},
        {"username": "carol", "password": "SECRET123"},
    ],
)
def test_login_refuses_wrong_credentials_with_one_message(api, make_user, body):
    make_user("carol", password="secret123")
    response = post(api, "/login", body)
    assert response.json() == {"code": 401, "msg": "wrong username or password"}
    assert response.status_code == 401


@pytest.mark.django_db
def test_login_hashes_a_password_even_for_an_unknown_user(api, make_user):
    """The reply time must not tell whether a username exists: both paths hash once."""
    make_user("carol", password="secret123")
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode) as spy:
        assert_error(post(api, "/login", {"username": "nobody", "password": "secret123"}), 401, "wrong")
        unknown_calls = spy.call_count
        spy.reset_mock()
        assert_error(post(api, "/login", {"username": "carol", "password": "nope-nope"}), 401, "wrong")
        known_calls = spy.call_count
    assert unknown_calls == known_calls == 1


@pytest.mark.django_db
def test_login_of_an_inactive_user_is_a_wrong_login(api, make_user):
    make_user("carol", password="secret123", is_active=False)
    response = post(api, "/login", {"username": "carol", "password": "secret123"})
    assert response.json() == {"code": 401, "msg": "wrong username or password"}


@pytest.mark.django_db
def test_login_of_a_banned_user_is_403_only_with_the_right_password(api, make_user):
    make_user("carol", password="secret123", is_banned=True)
    assert_error(post(api, "/login", {"username": "carol", "password": "secret123"}), 403, "this user is banned")
    assert_error(post(api, "/login", {"username": "carol", "password": "guess123"}), 401, "wrong username or password")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"username": "carol", "password": 123456}, {"password": ["must be a string"]}),
    ],
)
def test_login_rejects_bad_input(api, body, errors):
    assert_error(post(api, "/login", body), 400, next(iter(errors)), errors=errors)


@pytest.mark.django_db
def test_login_ignores_a_stale_authorization_header(api, make_user):
    make_user("carol", password="secret123")
    api.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert_ok(post(api, "/login", {"username": "carol", "password": "secret123"}))


@pytest.mark.django_db
def test_login_is_rate_limited_per_address_and_username(api, make_user, settings):
    # The rate limit alone (the lockouts after failed logins are tests/meta/test_lockouts.py).
    settings.LOGIN_FAILURES_PER_ACCOUNT = settings.LOGIN_FAILURES_PER_ADDRESS = 1000
    make_user("carol", password="secret123")
    for _ in range(30):
        assert_error(post(api, "/login", {"username": "carol", "password": "guess123"}), 401, "wrong")
    response = post(api, "/login", {"username": "CAROL", "password": "secret123"})
    assert_error(response, 429, "too many requests")
    assert int(response["Retry-After"]) >= 1
    # Another account from the same address, or the same account from elsewhere, still works.
    make_user("dave", password="secret123")
    assert_ok(post(api, "/login", {"username": "dave", "password": "secret123"}))
    elsewhere = api.post(
        "/login", {"username": "carol", "password": "secret123"}, format="json", REMOTE_ADDR="10.0.0.2"
    )
    assert_ok(elsewhere)


# --- /api/token/refresh -----------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_gives_a_new_working_access_token(api, make_user):
    user = make_user("carol", password="secret123")
    refresh = assert_ok(post(api, "/login", {"username": "carol", "password": "secret123"}))["data"]["refresh"]
    body = assert_ok(post(api, "/api/token/refresh", {"refresh": refresh}), msg="token refreshed")
    assert set(body["data"]) == {"token", "refresh", "expires_in"}
    assert body["data"]["expires_in"] == 7200
    claims = AccessToken(body["data"]["token"]).payload
    assert (claims["user_id"], claims["username"]) == (user.pk, "carol")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {body['data']['token']}")
    assert_ok(api.get("/api/joined_rooms"))


@pytest.mark.django_db
def test_refresh_refuses_bad_tokens(api, make_user, token_for):
    user = make_user("carol")
    assert_error(post(api, "/api/token/refresh", {"refresh": "not-a-token"}), 401, "the refresh token is invalid")
    # An access token is not a refresh token.
    assert_error(post(api, "/api/token/refresh", {"refresh": token_for(user)}), 401, "the refresh token is invalid")
    assert_error(post(api, "/api/token/refresh", {}), 400, "refresh: This field is required.")


@pytest.mark.django_db
def test_refresh_refuses_a_banned_user(api, make_user):
    make_user("carol", password="secret123")
    refresh = assert_ok(post(api, "/login", {"username": "carol", "password": "secret123"}))["data"]["refresh"]
    User.objects.filter(username="carol").update(is_banned=True)
    assert_error(post(api, "/api/token/refresh", {"refresh": refresh}), 401, "this user is banned")
