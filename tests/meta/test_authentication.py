"""Bearer authentication of the JWT endpoints (API.md §1.2): every failure is a 401 saying why."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from meta.models import User
from meta.services.moderation import user_ban, user_unban
from meta.tokens import user_by_id
from tests.conftest import MISSING_TOKEN_MSG
from tests.meta.conftest import assert_error, assert_ok

PATH = "/api/joined_rooms"


def _access_token(user, **claims) -> AccessToken:
    token = AccessToken()
    token["user_id"] = user.pk
    token["username"] = user.username
    for name, value in claims.items():
        token[name] = value
    return token


@pytest.mark.django_db
def test_a_valid_token_is_accepted(api, make_user, token_for):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(make_user())}")
    assert_ok(api.get(PATH), {"room_ids": [], "rooms": []})


@pytest.mark.django_db
def test_missing_header(api):
    response = api.get(PATH)
    assert_error(response, 401, MISSING_TOKEN_MSG)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer a b", "abc"])
def test_malformed_header(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    assert_error(api.get(PATH), 401, "the Authorization header must be 'Bearer <token>'")


@pytest.mark.django_db
def test_expired_token(api, make_user):
    token = _access_token(make_user())
    token.set_exp(lifetime=-timedelta(seconds=5))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api.get(PATH), 401, "the access token has expired")


@pytest.mark.django_db
def test_forged_token(api, make_user):
    user = make_user()
    payload = dict(_access_token(user).payload)
    forged = jwt.encode(payload, "not-the-server-secret-" + "x" * 40, algorithm="HS256")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_error(api.get(PATH), 401, "the access token is invalid")


@pytest.mark.django_db
def test_unsigned_token(api, make_user):
    payload = dict(_access_token(make_user()).payload)
    unsigned = jwt.encode(payload, key=None, algorithm="none")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {unsigned}")
    assert_error(api.get(PATH), 401, "the access token is invalid")


@pytest.mark.django_db
def test_token_of_a_banned_user(api, make_user, token_for):
    user = make_user()
    token = token_for(user)
    user.is_banned = True
    user.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api.get(PATH), 401, "this user is banned")


@pytest.mark.django_db
def test_token_of_a_deleted_user(api, make_user, token_for):
    user = make_user()
    token = token_for(user)
    user.delete()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_error(api.get(PATH), 401, "the user of this token no longer exists")


@pytest.mark.django_db
def test_the_messages_are_distinct(api, make_user, token_for):
    """Each failure names its own cause in plain words."""
    user = make_user()
    expired = _access_token(user)
    expired.set_exp(lifetime=-timedelta(seconds=5))
    forged = jwt.encode(dict(_access_token(user).payload), "another-secret-" + "y" * 40, algorithm="HS256")
    banned = make_user(is_banned=True)
    headers = [None, "Basic abc", f"Bearer {expired}", f"Bearer {forged}", f"Bearer {token_for(banned)}"]
    messages = set()
    for header in headers:
        api.credentials(**({"HTTP_AUTHORIZATION": header} if header else {}))
        response = api.get(PATH)
        assert response.status_code == 401
        messages.add(response.json()["msg"])
    assert len(messages) == len(headers)


def test_tokens_are_signed_with_the_server_secret_hs256(make_user, db, token_for):
    user = make_user()
    claims = jwt.decode(token_for(user), settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["user_id"] == user.pk
    assert isinstance(claims["user_id"], int)
    assert {"username", "exp", "iat"} <= set(claims)


@pytest.mark.django_db
def test_a_ban_refuses_the_next_request_at_once(api, make_user, token_for):
    # The user lookup is compiled once per process, never cached: a ban (or a deactivation)
    # made anywhere refuses the very next request of a token that worked a moment before.
    user = make_user()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
    assert_ok(api.get(PATH), {"room_ids": [], "rooms": []})
    user_ban(user_id=user.pk)
    assert_error(api.get(PATH), 401, "this user is banned")
    user_unban(user_id=user.pk)
    assert_ok(api.get(PATH), {"room_ids": [], "rooms": []})
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(api.get(PATH), 401, "the user of this token no longer exists")


@pytest.mark.django_db
def test_the_user_of_a_token_is_the_row_as_the_orm_reads_it(make_user):
    user = make_user()
    User.objects.filter(pk=user.pk).update(nickname="Zoë", last_login=timezone.now(), is_staff=True)
    expected = User.objects.get(pk=user.pk)
    found = user_by_id(user.pk)
    assert found is not None
    assert found._state.adding is False and found._state.db == expected._state.db
    for field in User._meta.concrete_fields:
        value, wanted = getattr(found, field.attname), getattr(expected, field.attname)
        assert value == wanted and type(value) is type(wanted), field.name
    assert found.last_login.tzinfo is not None
    assert user_by_id(user.pk + 1000) is None
