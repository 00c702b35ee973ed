"""POST /api/chat/send_message: reply shape, seq numbering, content and input validation, access."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from meta.models import Membership, Room
from meta.services import room_create
from send.models import Message
from tests.conftest import MISSING_TOKEN_MSG
from tests.send.conftest import FIXED_NOW, FIXED_NOW_WIRE, SEND, Group, assert_error, assert_ok, frozen_now, send, text

pytestmark = pytest.mark.django_db


def test_reply_carries_the_stored_message(group: Group) -> None:
    with frozen_now():
        response = send(group.client(group.alice), group.room.pk, text("hi all"), client_msg_id="c-1")
    message = Message.objects.get()
    body = assert_ok(response, msg="message sent")
    assert body == {
        "code": 0,
        "msg": "message sent",
        "data": {
            "msgID": message.pk,
            "seq": 1,
            "room_id": group.room.pk,
            "created_at": FIXED_NOW_WIRE,
            "client_msg_id": "c-1",
        },
    }
    assert type(body["data"]["msgID"]) is int and type(body["data"]["room_id"]) is int
    assert (message.room_id, message.sender_id, message.seq, message.client_msg_id) == (
        group.room.pk,
        group.alice.pk,
        1,
        "c-1",
    )
    assert message.content == {"type": "text", "text": "hi all"}
    assert message.created_at == FIXED_NOW
    group.room.refresh_from_db()
    assert group.room.last_seq == 1


def test_client_msg_id_is_optional_and_null_in_the_reply(group: Group) -> None:
    with frozen_now():
        response = send(group.client(group.alice), group.room.pk)
    message = Message.objects.get()
    assert_ok(
        response,
        {"msgID": message.pk, "seq": 1, "room_id": group.room.pk, "created_at": FIXED_NOW_WIRE, "client_msg_id": None},
    )
    assert message.client_msg_id is None


def test_explicit_null_client_msg_id_is_no_id(group: Group) -> None:
    first = assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id=None))["data"]
    second = assert_ok(send(group.client(group.alice), group.room.pk, client_msg_id=None))["data"]
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["msgID"] != second["msgID"]
    assert Message.objects.filter(client_msg_id__isnull=True).count() == 2


def test_seq_counts_per_room_independently(group: Group) -> None:
    other = room_create(actor=group.owner, name="Other", is_group=True, member_ids=[group.alice.pk])
    alice = group.client(group.alice)
    seqs = [
        (room_id, assert_ok(send(alice, room_id))["data"]["seq"])
        for room_id in (group.room.pk, group.room.pk, other.pk, group.room.pk, other.pk)
    ]
    assert seqs == [(group.room.pk, 1), (group.room.pk, 2), (other.pk, 1), (group.room.pk, 3), (other.pk, 2)]
    assert_ok(send(group.client(group.bob), group.room.pk), None)
    assert dict(Room.objects.filter(pk__in=[group.room.pk, other.pk]).values_list("pk", "last_seq")) == {
        group.room.pk: 4,
        other.pk: 2,
    }
    assert list(Message.objects.filter(room=group.room).order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]


WHOLE = "must be a whole number"
URL = "https://cdn.example.com/a"
VALID_CONTENTS = [
    pytest.param({"type": "text", "text": "x"}, id="text-1-char"),
    pytest.param({"type": "text", "text": "é" * 4000}, id="text-4000-chars"),
    pytest.param({"type": "image", "url": "https://cdn.example.com/a.png"}, id="image"),
    pytest.param({"type": "image", "url": "http://cdn.example.com/a.png", "width": 640, "height": 0}, id="image-size"),
    pytest.param({"type": "voice", "url": "https://cdn.example.com/a.ogg"}, id="voice"),
    pytest.param({"type": "voice", "url": "https://cdn.example.com/a.ogg", "duration": 3.5}, id="voice-float"),
    pytest.param({"type": "voice", "url": "https://cdn.example.com/a.ogg", "duration": 12}, id="voice-int"),
    pytest.param({"type": "image", "url": URL, "width": 2**53 - 1, "height": 2**53 - 1}, id="image-largest"),
    pytest.param({"type": "text", "text": "emoji 😀 and 中文 stay"}, id="text-unicode"),
    pytest.param({"type": "file", "url": "https://cdn.example.com/r.pdf", "file_name": "r.pdf"}, id="file"),
    pytest.param(
        {"type": "file", "url": "https://cdn.example.com/r.pdf", "file_name": "r.pdf", "size": 1048576}, id="file-size"
    ),
]


@pytest.mark.parametrize("content", VALID_CONTENTS)
def test_each_content_type_is_stored_as_sent(group: Group, content: dict[str, Any]) -> None:
    data = assert_ok(send(group.client(group.bob), group.room.pk, content))["data"]
    assert Message.objects.get(pk=data["msgID"]).content == content
    history = assert_ok(group.client(group.alice).get("/api/chat/messages", {"room_id": group.room.pk}))
    assert [m["content"] for m in history["data"]["messages"]] == [content]


INURL = "https://cdn.example.com/a"
TYPES = "must be one of text, image, voice, file"
INVALID_CONTENTS = [
    pytest.param({"text": "hi"}, "content.type", TYPES, id="missing-type"),
    pytest.param({"type": "video", "url": URL}, "content.type", TYPES, id="unknown"),
    pytest.param({"type": "TEXT", "text": "hi"}, "content.type", TYPES, id="upper"),
    pytest.param({"type": None, "text": "hi"}, "content.type", TYPES, id="null"),
    pytest.param({"type": ["text"], "text": "hi"}, "content.type", TYPES, id="list"),
    pytest.param({"type": {"a": 1}}, "content.type", TYPES, id="object-type"),
    pytest.param({"type": "text"}, "content.text", "is required", id="text-missing"),
    pytest.param({"type": "text", "text": ""}, "content.text", "must be 1 to 4000 characters", id="text-empty"),
    pytest.param({"type": "text", "text": "a" * 4001}, "content.text", "must be 1 to 4000 characters", id="text-4001"),
    pytest.param({"type": "text", "text": 42}, "content.text", "must be a string", id="text-number"),
    pytest.param({"type": "text", "text": ["hi"]}, "content.text", "must be a string", id="text-list"),
    pytest.param({"type": "text", "text": None}, "content.text", "must be a string", id="text-null"),
    pytest.param({"type": "text", "text": "hi", "url": URL}, "content.url", "is not a field of a text message", id="x"),
    pytest.param({"type": "image"}, "content.url", "is required", id="image-no-url"),
    pytest.param(
        {"type": "image", "url": "ftp://cdn.example.com/a.png"},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="ftp-url",
    ),
    pytest.param(
        {"type": "image", "url": "javascript:alert(1)"},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="javascript-url",
    ),
    pytest.param(
        {"type": "image", "url": "https://"},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="url-no-host",
    ),
    pytest.param(
        {"type": "image", "url": "cdn.example.com/a.png"},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="url-no-scheme",
    ),
    pytest.param(
        {"type": "image", "url": "https://cdn.example.com/" + "a" * 2030},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="url-too-long",
    ),
    pytest.param(
        {"type": "image", "url": "http://[::1"},
        "content.url",
        "must be an http(s) URL of at most 2048 characters",
        id="url-unparsable",
    ),
    pytest.param({"type": "image", "url": 7}, "content.url", "must be a string", id="url-number"),
    pytest.param({"type": "image", "url": URL, "width": True}, "content.width", WHOLE, id="bool-width"),
    pytest.param({"type": "image", "url": URL, "width": 1.5}, "content.width", WHOLE, id="float-width"),
    pytest.param({"type": "image", "url": URL, "height": "480"}, "content.height", WHOLE, id="str-height"),
    pytest.param({"type": "image", "url": URL, "width": -1}, "content.width", "must not be negative", id="neg-width"),
    pytest.param(
        {"type": "image", "url": URL, "height": 2**53}, "content.height", "must be at most 9007199254740991", id="2^53"
    ),
    pytest.param(
        {"type": "text", "text": "a\x00b"},
        "content.text",
        "must not contain NUL or unpaired surrogate characters",
        id="text-nul",
    ),
    pytest.param(
        {"type": "file", "url": URL, "file_name": "a\x00.txt"},
        "content.file_name",
        "must not contain NUL or unpaired surrogate characters",
        id="file-name-nul",
    ),
    pytest.param(
        {"type": "image", "url": URL, "caption": "hi"}, "content.caption", "is not a field of a image message", id="ex"
    ),
    pytest.param({"type": "voice", "url": URL, "duration": -0.5}, "content.duration", "must not be negative", id="neg"),
    pytest.param({"type": "voice", "url": URL, "duration": False}, "content.duration", "must be a number", id="bool"),
    pytest.param({"type": "file", "url": URL}, "content.file_name", "is required", id="file-no-name"),
    pytest.param(
        {"type": "file", "url": URL, "file_name": ""}, "content.file_name", "must be 1 to 255 characters", id="fn-empty"
    ),
    pytest.param(
        {"type": "file", "url": URL, "file_name": "f" * 256},
        "content.file_name",
        "must be 1 to 255 characters",
        id="fn-long",
    ),
    pytest.param(
        {"type": "file", "url": URL, "file_name": "a.txt", "size": -1}, "content.size", "must not be negative", id="neg"
    ),
]


@pytest.mark.parametrize(("content", "field", "reason"), INVALID_CONTENTS)
def test_invalid_content_is_refused_naming_the_field(group: Group, content: Any, field: str, reason: str) -> None:
    response = send(group.client(group.alice), group.room.pk, content)
    assert_error(response, 400, f"{field}: {reason}", errors={field: [reason]})
    assert not Message.objects.exists()
    group.room.refresh_from_db()
    assert group.room.last_seq == 0


@pytest.mark.parametrize(
    "raw_content",
    [
        pytest.param(f'{{"type": "voice", "url": "{URL}", "duration": 1e400}}', id="infinity"),
        pytest.param('{"type": "text", "text": "a\\ud800b"}', id="lone-surrogate"),
    ],
)
def test_json_that_no_client_could_read_back_is_refused_before_parsing_content(group: Group, raw_content: str) -> None:
    raw = f'{{"room_id": {group.room.pk}, "content": {raw_content}}}'
    response = group.client(group.alice).post(SEND, raw, content_type="application/json")
    assert_error(response, 400, "the body is not valid JSON")
    assert not Message.objects.exists()


def test_integer_beyond_64_bits_is_not_a_whole_number(group: Group) -> None:
    raw = f'{{"room_id": {group.room.pk}, "content": {{"type": "image", "url": "{URL}", "width": {2**64}}}}}'
    response = group.client(group.alice).post(SEND, raw, content_type="application/json")
    assert_error(
        response, 400, "content.width: must be a whole number", errors={"content.width": ["must be a whole number"]}
    )


@pytest.mark.parametrize("content", ["hello", ["text", "hi"], 3, True], ids=str)
def test_content_that_is_not_an_object_is_refused(group: Group, content: Any) -> None:
    response = group.client(group.alice).post(SEND, {"room_id": group.room.pk, "content": content}, format="json")
    assert_error(response, 400, "content: must be an object", errors={"content": ["must be an object"]})
    assert not Message.objects.exists()


def test_null_content_is_refused(group: Group) -> None:
    response = group.client(group.alice).post(SEND, {"room_id": group.room.pk, "content": None}, format="json")
    reason = "This field may not be null."
    assert_error(response, 400, f"content: {reason}", errors={"content": [reason]})
    assert not Message.objects.exists()


def test_missing_content_is_refused(group: Group) -> None:
    response = group.client(group.alice).post(SEND, {"room_id": group.room.pk}, format="json")
    assert_error(response, 400, "content: This field is required.", errors={"content": ["This field is required."]})


@pytest.mark.parametrize(
    ("room_id", "reason"),
    [
        pytest.param("1", "must be an integer id", id="string"),
        pytest.param(1.0, "must be an integer id", id="float"),
        pytest.param(True, "must be an integer id", id="bool"),
        pytest.param(None, "This field may not be null.", id="null"),
        pytest.param(0, "must be an id from 1 to 9007199254740991", id="zero"),
        pytest.param(-3, "must be an id from 1 to 9007199254740991", id="negative"),
        pytest.param(2**53, "must be an id from 1 to 9007199254740991", id="2^53"),
    ],
)
def test_bad_room_id_is_refused(group: Group, room_id: Any, reason: str) -> None:
    response = send(group.client(group.alice), room_id)
    assert_error(response, 400, f"room_id: {reason}", errors={"room_id": [reason]})
    assert not Message.objects.exists()


def test_missing_room_id_is_refused(group: Group) -> None:
    response = group.client(group.alice).post(SEND, {"content": text()}, format="json")
    assert_error(response, 400, "room_id: This field is required.", errors={"room_id": ["This field is required."]})


def test_the_largest_id_is_a_valid_but_unknown_room(group: Group) -> None:
    assert_error(send(group.client(group.alice), 2**53 - 1), 404, f"room {2**53 - 1} does not exist")


def test_unknown_room_is_404(group: Group) -> None:
    missing = group.room.pk + 1000
    assert_error(send(group.client(group.alice), missing), 404, f"room {missing} does not exist")
    assert not Message.objects.exists()


def test_non_member_is_403(group: Group) -> None:
    response = send(group.client(group.outsider), group.room.pk)
    assert_error(response, 403, f"you are not a member of room {group.room.pk}")
    assert not Message.objects.exists()
    group.room.refresh_from_db()
    assert group.room.last_seq == 0


def test_muted_member_is_403_until_the_mute_ends(group: Group) -> None:
    until = FIXED_NOW + timedelta(minutes=5)
    Membership.objects.filter(room=group.room, user=group.alice).update(muted_until=until)
    with frozen_now():
        response = send(group.client(group.alice), group.room.pk)
    assert_error(response, 403, f"you are muted in room {group.room.pk} until 2026-11-23T10:09:05.123Z")
    assert not Message.objects.exists()
    assert_ok(send(group.client(group.bob), group.room.pk))
    with frozen_now(until + timedelta(microseconds=1)):
        data = assert_ok(send(group.client(group.alice), group.room.pk))["data"]
    assert data["seq"] == 2


def test_mute_in_the_past_does_not_stop_sending(group: Group) -> None:
    Membership.objects.filter(room=group.room, user=group.alice).update(
        muted_until=timezone.now() - timedelta(seconds=1)
    )
    data = assert_ok(send(group.client(group.alice), group.room.pk))["data"]
    assert data["seq"] == 1
    assert Message.objects.get().sender_id == group.alice.pk


def test_no_token_is_401(group: Group, api: APIClient) -> None:
    response = send(api, group.room.pk)
    assert_error(response, 401, MISSING_TOKEN_MSG)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not Message.objects.exists()


def test_forged_token_is_401(group: Group, api: APIClient) -> None:
    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    response = send(api, group.room.pk)
    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert "data" not in response.json()
    assert not Message.objects.exists()


def test_body_that_is_not_json_is_415(group: Group) -> None:
    response = group.client(group.alice).post(
        SEND, json.dumps({"room_id": group.room.pk, "content": text()}), content_type="text/plain"
    )
    assert_error(response, 415, "the body must be JSON (Content-Type: application/json)")
    assert not Message.objects.exists()


@pytest.mark.parametrize("raw", ['{"room_id": 1, "content": ', "{'room_id': 1}", "", "NaN"], ids=repr)
def test_malformed_json_is_400(group: Group, raw: str) -> None:
    response = group.client(group.alice).post(SEND, raw, content_type="application/json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == 400
    assert "data" not in response.json()
    assert not Message.objects.exists()


def test_truncated_json_says_so(group: Group) -> None:
    response = group.client(group.alice).post(SEND, '{"room_id": 1, "content": ', content_type="application/json")
    assert_error(response, 400, "the body is not valid JSON")


def test_wrong_method_is_405_in_the_envelope(group: Group) -> None:
    response = group.client(group.alice).get(SEND)
    assert_error(response, 405, 'Method "GET" not allowed.')
