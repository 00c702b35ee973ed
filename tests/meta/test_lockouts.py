"""Lockouts after failed logins, on /login and on the Django admin's login page: per client
address across usernames, and per account across addresses (meta.services.login_guard)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from tests.support.servers import running_server


def login(api, username, password, address="10.0.0.1"):
    return api.post("/login", {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


@pytest.mark.django_db
def test_one_address_spraying_one_password_over_many_accounts_is_locked_out(api, make_user, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 20
    for n in range(40):
        make_user(f"victim{n}", password="the-real-one")
    statuses = [login(api, f"victim{n}", "password1").status_code for n in range(40)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    response = login(api, "victim39", "the-real-one")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == 429 and body["msg"].startswith("too many failed logins")
    # Another address is not affected.
    assert login(api, "victim39", "the-real-one", address="10.0.0.2").status_code == 200


@pytest.mark.django_db
def test_an_account_guessed_from_many_addresses_is_locked_out_everywhere(api, make_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 10
    make_user("alice", password="the-real-one")
    for n in range(10):
        assert login(api, "alice", f"guess{n}", address=f"10.1.0.{n}").status_code == 401
    # The right password, from a fresh address, in another case: still locked out.
    response = login(api, "ALICE", "the-real-one", address="10.2.0.1")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # Other accounts are not.
    make_user("bob", password="the-real-one")
    assert login(api, "bob", "the-real-one", address="10.2.0.1").status_code == 200


@pytest.mark.django_db
def test_a_successful_login_forgets_the_accounts_failures(api, make_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 3
    make_user("carol", password="the-real-one")
    for _ in range(2):
        assert login(api, "carol", "wrong-one").status_code == 401
    assert login(api, "carol", "the-real-one").status_code == 200
    for _ in range(2):
        assert login(api, "carol", "wrong-one", address="10.0.0.9").status_code == 401
    assert login(api, "carol", "the-real-one", address="10.0.0.9").status_code == 200


def admin_login(username, password, address="10.3.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return response


@pytest.mark.django_db
def test_the_admin_login_locks_an_account_out(make_user, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 10
    make_user("boss", password="the-real-one", is_staff=True, is_superuser=True)
    for n in range(10):
        response = admin_login("boss", f"guess{n}", address=f"10.4.0.{n}")
        assert response.status_code == 200 and b"Please enter the correct username" in response.content
    response = admin_login("boss", "the-real-one", address="10.5.0.1")
    assert response.status_code == 200
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in response.wsgi_request.session
    # The API's /login is locked for the account too.
    assert login(APIClient(), "boss", "the-real-one", address="10.6.0.1").status_code == 429


@pytest.mark.django_db
def test_the_admin_login_locks_an_address_out(make_user, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 20
    make_user("boss", password="the-real-one", is_staff=True)
    for n in range(20):
        assert b"Please enter the correct username" in admin_login(f"nobody{n}", "password1").content
    assert b"Too many failed logins" in admin_login("boss", "the-real-one").content
    response = admin_login("boss", "the-real-one", address="10.3.0.2")
    assert response.status_code == 302  # logged in from elsewhere


@pytest.mark.crossprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_lockout_holds_in_every_process_of_a_cluster(make_user):
    if not django_settings.REDIS_URL:
        pytest.skip("needs REDIS_URL: without Redis each process keeps its own counts")
    make_user("erin", password="the-real-one")
    shared = {"CACHE_KEY_PREFIX": "lockout-test-" + __import__("uuid").uuid4().hex, "LOGIN_FAILURES_PER_ACCOUNT": "3"}
    with (
        running_server(name="a", roles="meta", env=shared) as a,
        running_server(name="b", roles="meta", env=shared) as b,
    ):
        for n in range(3):
            assert a.post("/login", {"username": "erin", "password": f"guess{n}"})[0] == 401
    with running_server(name="b", roles="meta", env=shared) as b:
        status, body = b.post("/login", {"username": "erin", "password": "the-real-one"})
        assert (status, body["code"]) == (429, 429)
