"""Usernames after API.md §9: unique after NFKC and full case folding, TS #39 "highly
restrictive" scripts (400), confusable skeletons (409), the same normalisation at login, and the
migration that reports, without renaming, accounts that would now collide."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from meta.models import User

pytestmark = pytest.mark.django_db


def register(api, username, password="secret123"):
    return api.post("/register", {"username": username, "password": password}, format="json")


def login(api, username, password="secret123"):
    return api.post("/login", {"username": username, "password": password}, format="json")


def test_a_cyrillic_letter_in_a_latin_name_is_refused(api, make_user):
    make_user("alice")
    response = register(api, "\u0430lice")  # Cyrillic а
    assert response.status_code == 400
    assert response.json()["errors"]["username"] == [
        "must be written in one script (or Latin with Han, Japanese or Korean), not a mix such as Latin and Cyrillic"
    ]


@pytest.mark.parametrize(("first", "second"), [("straße", "STRASSE"), ("alice", "ＡＬＩＣＥ"), ("Zoë", "ZOË")])
def test_names_equal_after_nfkc_and_case_folding_are_one(api, first, second):
    assert register(api, first).status_code == 200
    response = register(api, second)
    assert response.status_code == 409
    assert response.json()["msg"] == f"the username {second!r} is already taken"


@pytest.mark.parametrize(("first", "second"), [("rnoney", "money"), ("l0l", "I0I")])
def test_a_name_that_looks_like_an_existing_one_is_409(api, first, second):
    assert register(api, first).status_code == 200
    response = register(api, second)
    assert response.status_code == 409, response.json()
    assert response.json()["msg"] == f"the username {second!r} is too like an existing one"


def test_whole_script_names_of_other_scripts_register(api):
    for name in ("пётр", "Ελένη", "東京たろう", "tarō東京", "서울kim"):
        assert register(api, name).status_code == 200, name


def test_login_applies_the_same_normalisation(api):
    assert register(api, "straße").status_code == 200
    assert register(api, "alice").status_code == 200
    for name in ("STRASSE", "Straße", "ＳＴＲＡＳＳＥ"):
        assert login(api, name).status_code == 200, name
    assert login(api, "ＡＬＩＣＥ").status_code == 200
    assert login(api, "ALICE").json()["data"]["username"] == "alice"


def test_control_characters_are_refused_in_usernames(api):
    response = register(api, "bob\u001b[31m")
    assert response.status_code == 400
    assert "username" in response.json()["errors"]


def test_the_migration_reports_collisions_and_renames_nobody(capsys):
    # Accounts from before the rule: write them without their keys, as the old schema did.
    users = User.objects.bulk_create([User(username=name) for name in ("STRASSE", "straße", "alice", "аlice")])
    migration = importlib.import_module("meta.migrations.0003_username_key")
    migration.fill_keys(django_apps, None)
    out = capsys.readouterr().out
    assert f"user {users[1].pk} 'straße' has the same name as user {users[0].pk} 'STRASSE'" in out
    assert f"user {users[3].pk} 'аlice' looks like user {users[2].pk} 'alice'" in out
    rows = dict(User.objects.filter(pk__in=[u.pk for u in users]).values_list("username", "username_key"))
    assert rows == {"STRASSE": "strasse", "straße": None, "alice": "alice", "аlice": "аlice"}
