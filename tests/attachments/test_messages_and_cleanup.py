"""Attachments in messages (URLs re-signed on output, API.md §10) and the cleanup of files no
message refers to (`manage.py attachments_cleanup`)."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from attachments import references
from attachments.models import Attachment
from attachments.services import attachments_cleanup, attachments_release
from attachments.signing import content_with_signed_urls
from meta.services import room_create
from send.services import message_send
from tests.attachments.conftest import image_bytes, upload
from tests.support.envelope import assert_ok

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")]


@pytest.fixture
def room(uploader, make_user):
    return room_create(actor=uploader.user, name="g", is_group=True, member_ids=[make_user("friend").pk])


def send_image(uploader, room, url, **extra):
    content = {"type": "image", "url": url, "width": 3, "height": 2, **extra}
    return assert_ok(uploader.post("/api/chat/send_message", {"room_id": room.pk, "content": content}, format="json"))


def history_urls(client, room):
    body = assert_ok(client.get("/api/chat/messages", {"room_id": room.pk}))
    return [m["content"].get("url") for m in body["data"]["messages"]]


def test_a_message_carries_the_upload_url_re_signed_so_it_outlives_the_first_signature(uploader, room, settings):
    settings.UPLOAD_URL_SECONDS = 3600
    issued = time.time()
    with mock.patch("django.core.signing.time.time", return_value=issued):
        url = assert_ok(upload(uploader, image_bytes()))["data"]["url"]
        send_image(uploader, room, url)
    later = issued + 2 * 3600
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert Client().get(urlsplit(url).path).status_code == 403  # the first URL has expired
        [fresh] = history_urls(uploader, room)
    assert fresh != url and fresh.startswith("http://testserver/api/chat/files/")
    with mock.patch("django.core.signing.time.time", return_value=later + 60):
        response = Client().get(urlsplit(fresh).path)
    assert response.status_code == 200
    assert b"".join(response) == image_bytes()


def test_foreign_and_tampered_urls_stay_as_sent(uploader, room):
    url = assert_ok(upload(uploader, image_bytes()))["data"]["url"]
    tampered = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    foreign = "https://cdn.example.org/cat.png"
    lookalike = "https://evil.example/api/chat/files/AAAAAAAAAAAAAAAAAAAAAA/1xXouE/" + "A" * 43
    for sent in (tampered, foreign, lookalike):
        send_image(uploader, room, sent)
    assert history_urls(uploader, room) == [tampered, foreign, lookalike]


def test_re_signing_keeps_the_host_unless_public_base_url_is_set(settings):
    from attachments.signing import signed_url

    url = signed_url("k" * 22, base="https://old.example.com/chat")
    assert content_with_signed_urls({"type": "file", "url": url, "file_name": "a"})["url"].startswith(
        "https://old.example.com/chat/api/chat/files/kkkk"
    )
    settings.PUBLIC_BASE_URL = "https://new.example.com"
    assert content_with_signed_urls({"type": "file", "url": url, "file_name": "a"})["url"].startswith(
        "https://new.example.com/api/chat/files/kkkk"
    )
    text = {"type": "text", "text": "see /api/chat/files/"}
    assert content_with_signed_urls(text) is text


def test_message_frames_carry_the_re_signed_url_too(uploader, room):
    from send.models import Message
    from send.representation import chat_frame, message_object

    url = assert_ok(upload(uploader, image_bytes()))["data"]["url"]
    send_image(uploader, room, url)
    frame = chat_frame(message_object(Message.objects.get()))
    assert frame["payload"]["url"].startswith("http://testserver/api/chat/files/")
    assert Message.objects.get().content["url"] == url  # stored as sent


# --- cleanup ------------------------------------------------------------------------------


def age(key: str, hours: float) -> None:
    Attachment.objects.filter(key=key).update(created_at=timezone.now() - timedelta(hours=hours))


def key_of(url: str) -> str:
    return urlsplit(url).path.split("/")[4]


def test_cleanup_deletes_files_no_message_refers_to_after_a_day(uploader, room, media_root):
    used, orphan, fresh = (assert_ok(upload(uploader, b"%PDF-" + bytes([n])))["data"]["url"] for n in range(3))
    message_send(sender=uploader.user, room_id=room.pk, content={"type": "file", "url": used, "file_name": "a.pdf"})
    for url in (used, orphan):
        age(key_of(url), 25)
    age(key_of(fresh), 23)
    result = attachments_cleanup()
    assert (result.deleted, result.kept) == (1, 1)
    assert set(Attachment.objects.values_list("key", "referenced")) == {(key_of(used), True), (key_of(fresh), False)}
    stored = {p.name for p in media_root.rglob("*") if p.is_file()}
    assert stored == {key_of(used), key_of(fresh)}
    assert Client().get(urlsplit(orphan).path).json() == {"code": 404, "msg": "this file no longer exists"}
    # Again: nothing left to do; the file in use is not looked up again.
    with mock.patch("send.attachment_refs.Message.objects") as messages:
        assert attachments_cleanup().deleted == 0
    messages.filter.assert_not_called()


def test_a_released_file_is_looked_at_again(uploader, room):
    url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    content = {"type": "file", "url": url, "file_name": "a.pdf"}
    message = message_send(sender=uploader.user, room_id=room.pk, content=content)
    age(key_of(url), 25)
    assert attachments_cleanup().kept == 1
    # Another message still refers to it: released, looked at, kept.
    assert attachments_release(content=content) == 1
    assert attachments_cleanup().kept == 1
    # When no message refers to it any more (issue 12's delete erases the content), it goes.
    from send.models import Message

    Message.objects.filter(pk=message["id"]).update(content={"type": "text", "text": "(deleted)"})
    attachments_release(content=content)
    assert attachments_cleanup().deleted == 1
    assert attachments_release(content={"type": "text", "text": "hi"}) == 0


def test_without_a_finder_nothing_is_deleted(uploader, monkeypatch):
    url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    age(key_of(url), 48)
    monkeypatch.setattr(references, "_finder", None)
    with pytest.raises(references.NoFinder):
        attachments_cleanup()
    assert Attachment.objects.count() == 1


def test_a_row_whose_file_never_arrived_is_cleaned_up_too(uploader):
    Attachment.objects.create(
        key="x" * 22, storage_name="attachments/xx/" + "x" * 22, file_name="a", content_type="a", size=1
    )
    age("x" * 22, 30)
    assert attachments_cleanup().deleted == 1


def test_the_management_command_reports_what_it_did(uploader):
    url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    age(key_of(url), 3)
    out = io.StringIO()
    call_command("attachments_cleanup", stdout=out)
    assert out.getvalue().strip() == "deleted 0 unreferenced files; 0 files found in use"
    call_command("attachments_cleanup", "--older-than", "7200", stdout=out)
    assert out.getvalue().strip().endswith("deleted 1 unreferenced files; 0 files found in use")
