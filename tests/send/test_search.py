"""Search (API.md §8.4): the caller's rooms from their join onward, text messages only, never
deleted ones, newest first, limits. PostgreSQL matches whole words through a GIN-indexed
`tsvector`; SQLite falls back to a plain match of every word."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from meta.models import User
from meta.services import member_add, room_create
from send.models import Message
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import (
    FIXED_NOW,
    SEARCH,
    Group,
    assert_error,
    assert_ok,
    delete,
    edit,
    frozen_now,
    send,
    sent,
    text,
    updated,
)

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="full-text search is PostgreSQL's")


def _search(group: Group, user: User, q: str, **params: Any) -> dict[str, Any]:
    data = assert_ok(group.client(user).get(SEARCH, {"q": q, **params}))["data"]
    assert set(data) == {"messages", "has_more"}
    return data


def _texts(data: dict[str, Any]) -> list[str]:
    return [m["content"]["text"] for m in data["messages"]]


def test_newest_first_with_the_full_message_object(group: Group) -> None:
    for n, body in enumerate(["pizza tonight?", "no pizza, sushi", "Pizza it is"]):
        with frozen_now(FIXED_NOW + timedelta(minutes=n)):
            sent(group, group.alice, body)
    sent(group, group.alice, "something else")
    data = _search(group, group.bob, "pizza")
    assert _texts(data) == ["Pizza it is", "no pizza, sushi", "pizza tonight?"]
    assert data["has_more"] is False
    assert set(data["messages"][0]) >= {"id", "seq", "reactions", "pinned", "deleted", "mentions"}


def test_every_word_must_match(group: Group) -> None:
    sent(group, group.alice, "the blue train leaves at nine")
    sent(group, group.alice, "the red train")
    assert _texts(_search(group, group.bob, "blue train")) == ["the blue train leaves at nine"]
    assert _texts(_search(group, group.bob, "green train")) == []


def test_limit_offset_and_has_more(group: Group) -> None:
    for n in range(5):
        with frozen_now(FIXED_NOW + timedelta(minutes=n)):
            sent(group, group.alice, f"note {n}")
    page = _search(group, group.bob, "note", limit=2)
    assert (_texts(page), page["has_more"]) == (["note 4", "note 3"], True)
    page = _search(group, group.bob, "note", limit=2, offset=4)
    assert (_texts(page), page["has_more"]) == (["note 0"], False)


def test_only_the_callers_rooms_from_their_join_and_one_room_on_request(
    group: Group, make_user: Callable[..., User]
) -> None:
    sent(group, group.alice, "launch plan, old")
    carol = make_user("carol")
    other = room_create(actor=carol, name="Elsewhere", is_group=True, member_ids=[group.bob.pk])
    assert_ok(send(group.client(carol), other.pk, text("launch plan of another room")))
    secret = room_create(actor=group.outsider, name="Secret", is_group=True, member_ids=[])
    assert_ok(send(group.client(group.outsider), secret.pk, text("launch plan nobody else sees")))
    member_add(actor=group.owner, room_id=group.room.pk, user_id=carol.pk)
    sent(group, group.alice, "launch plan, new")
    assert sorted(_texts(_search(group, group.bob, "launch"))) == [
        "launch plan of another room",
        "launch plan, new",
        "launch plan, old",
    ]
    assert sorted(_texts(_search(group, carol, "launch"))) == ["launch plan of another room", "launch plan, new"]
    assert _texts(_search(group, carol, "launch", room_id=group.room.pk)) == ["launch plan, new"]
    assert_error(
        group.client(group.bob).get(SEARCH, {"q": "launch", "room_id": secret.pk}),
        403,
        f"you are not a member of room {secret.pk}",
    )
    assert_error(
        group.client(group.bob).get(SEARCH, {"q": "launch", "room_id": 987654}), 404, "room 987654 does not exist"
    )
    assert _search(group, make_user("lonely"), "launch") == {"messages": [], "has_more": False}


def test_deleted_and_non_text_messages_are_never_found(group: Group) -> None:
    gone = sent(group, group.alice, "meet at the harbour")
    sent(group, group.alice, "harbour again")
    assert_ok(
        send(
            group.client(group.alice),
            group.room.pk,
            {"type": "file", "url": "https://x.example/harbour.pdf", "file_name": "harbour.pdf"},
        )
    )
    updated(delete(group.client(group.alice), gone["msgID"]))
    assert _texts(_search(group, group.bob, "harbour")) == ["harbour again"]


def test_an_edit_is_found_by_its_new_words_only(group: Group) -> None:
    first = sent(group, group.alice, "lunch at noon")
    updated(edit(group.client(group.alice), first["msgID"], text("dinner at eight")))
    assert _texts(_search(group, group.bob, "dinner")) == ["dinner at eight"]
    assert _texts(_search(group, group.bob, "lunch")) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "x", "limit": 101}, "limit"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "offset": -1}, "offset"),
        ({"q": "x", "room_id": "a"}, "room_id"),
    ],
)
def test_refused_queries(group: Group, params: dict[str, Any], field: str) -> None:
    response = group.client(group.alice).get(SEARCH, params)
    assert response.status_code == 400 and set(response.json()["errors"]) == {field}


def test_a_query_of_200_characters_and_odd_punctuation_is_fine(group: Group, api: Any) -> None:
    sent(group, group.alice, "plain words")
    for q in ("x" * 200, '"unclosed', "-", "a | b & !c", "ü'; DROP TABLE send_message; --", "(((", "!!!"):
        assert _search(group, group.bob, q)["messages"] == []
    assert Message.objects.count() == 1
    assert_error(api.get(SEARCH, {"q": "x"}), 401, MISSING_TOKEN_MSG)


@postgres_only
def test_postgresql_matches_whole_words_and_search_syntax(group: Group) -> None:
    sent(group, group.alice, "the category is cats")
    sent(group, group.alice, "a cat sat")
    sent(group, group.alice, "Ünïcode wörds wörk")
    assert _texts(_search(group, group.bob, "cat")) == ["a cat sat"]  # not "category", not "cats"
    assert _texts(_search(group, group.bob, "CAT")) == ["a cat sat"]
    assert sorted(_texts(_search(group, group.bob, "cat or cats"))) == ["a cat sat", "the category is cats"]
    assert _texts(_search(group, group.bob, '"cat sat"')) == ["a cat sat"]
    assert _texts(_search(group, group.bob, "cats -category")) == []
    assert _texts(_search(group, group.bob, "wörds")) == ["Ünïcode wörds wörk"]


@postgres_only
def test_postgresql_keeps_a_gin_indexed_vector_that_a_delete_erases(group: Group) -> None:
    first = sent(group, group.alice, "indexed words")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'message_search_vector_gin'")
        assert "USING gin (search_vector)" in cursor.fetchone()[0]
        cursor.execute("SELECT search_vector::text FROM send_message WHERE id = %s", [first["msgID"]])
        assert cursor.fetchone()[0] == "'indexed':1 'words':2"
    updated(delete(group.client(group.alice), first["msgID"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector FROM send_message WHERE id = %s", [first["msgID"]])
        assert cursor.fetchone()[0] is None


@pytest.mark.skipif("connection.vendor == 'postgresql'", reason="the fallback of other databases")
def test_the_fallback_matches_every_word_anywhere_without_regard_to_case(group: Group) -> None:
    sent(group, group.alice, "The Category is cats")
    assert _texts(_search(group, group.bob, "cat category")) == ["The Category is cats"]
    assert Message.objects.get().search_vector is None


@postgres_only
def test_search_reindex_rebuilds_vectors_in_another_configuration(group: Group, settings: Any) -> None:
    from django.core.management import call_command

    sent(group, group.alice, "the runners were running")
    gone = sent(group, group.alice, "running gone")
    updated(delete(group.client(group.alice), gone["msgID"]))
    assert _texts(_search(group, group.bob, "run")) == []  # "simple": no stemming
    settings.MESSAGE_SEARCH_CONFIG = "english"
    call_command("search_reindex", "--batch", "1", stdout=open("/dev/null", "w"))
    assert _texts(_search(group, group.bob, "run")) == ["the runners were running"]
    assert Message.objects.filter(pk=gone["msgID"]).values_list("content", flat=True).get() is None


@pytest.mark.skipif("connection.vendor == 'postgresql'", reason="the refusal of other databases")
def test_search_reindex_says_other_databases_need_none() -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("search_reindex")
