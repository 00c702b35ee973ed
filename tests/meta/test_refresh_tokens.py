"""Refresh tokens work once (rotation, the spent one blacklisted), and a password change or a
ban revokes all of a user's; a JWT whose user_id is not an integer is no user's."""

from __future__ import annotations

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from meta.services.moderation import user_ban, user_unban


def login(api, username="carol", password="secret123"):
    response = api.post("/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def refresh(api, token):
    return api.post("/api/token/refresh", {"refresh": token}, format="json")


@pytest.mark.django_db
def test_a_refresh_token_works_once_and_the_new_one_works(api, make_user):
    make_user("carol", password="secret123")
    first = login(api)["refresh"]
    response = refresh(api, first)
    assert response.status_code == 200
    second = response.json()["data"]["refresh"]
    assert second != first
    again = refresh(api, first)
    assert again.status_code == 401
    assert again.json() == {"code": 401, "msg": "the refresh token was used already or revoked: log in again"}
    assert refresh(api, second).status_code == 200


@pytest.mark.django_db
def test_a_password_change_revokes_every_refresh_token(api, make_user):
    user = make_user("carol", password="secret123")
    tokens = [login(api)["refresh"], login(api)["refresh"]]
    user.set_password("a-new-password")
    user.save()
    for token in tokens:
        assert refresh(api, token).status_code == 401
    assert refresh(api, login(api, password="a-new-password")["refresh"]).status_code == 200


@pytest.mark.django_db
def test_a_ban_revokes_every_refresh_token_for_good(api, make_user):
    user = make_user("carol", password="secret123")
    token = login(api)["refresh"]
    user_ban(user_id=user.pk)
    user_unban(user_id=user.pk)
    response = refresh(api, token)
    assert response.status_code == 401
    assert response.json()["msg"] == "the refresh token was used already or revoked: log in again"


@pytest.mark.django_db
def test_a_jwt_whose_user_id_is_true_is_refused(api, make_user):
    make_user("carol", id=1)  # the user `true` would be taken for
    forged = AccessToken()
    forged["user_id"] = True
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api.get("/api/joined_rooms")
    assert response.status_code == 401
    assert response.json()["msg"] == "the access token is invalid"
