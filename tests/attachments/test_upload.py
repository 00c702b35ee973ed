"""Uploading and fetching files (API.md §10) through the real URLs, middleware and handlers."""

from __future__ import annotations

import io
import re
import time
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from attachments.models import Attachment
from tests.attachments.conftest import UPLOAD, image_bytes, png_claiming, upload
from tests.support.envelope import assert_ok

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")]

URL = re.compile(r"^http://testserver/api/chat/files/[A-Za-z0-9_-]{22}/[0-9A-Za-z]+/[A-Za-z0-9_-]{43}$")


def fetch(url: str, method: str = "get"):
    """Fetch a file URL as a browser would: no header, no cookie."""
    parts = urlsplit(url)
    return getattr(Client(), method)(parts.path, HTTP_HOST=parts.netloc)


def body_of(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def test_an_image_is_stored_with_its_dimensions_and_served_inline(uploader, media_root):
    content = image_bytes("PNG", (3, 2))
    data = assert_ok(upload(uploader, content, name="holiday.png", content_type="text/html"))["data"]
    assert URL.match(data["url"]), data["url"]
    assert data == {
        "url": data["url"],
        "file_name": "holiday.png",
        "size": len(content),
        "content_type": "image/png",  # from the bytes, not from the client's word
        "width": 3,
        "height": 2,
    }
    attachment = Attachment.objects.get()
    assert attachment.uploader_id == uploader.user.pk
    stored = media_root / attachment.storage_name
    assert stored.read_bytes() == content
    assert "holiday" not in attachment.storage_name and attachment.key in attachment.storage_name
    response = fetch(data["url"])
    assert response.status_code == 200
    assert body_of(response) == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == "inline; filename=\"holiday.png\"; filename*=UTF-8''holiday.png"
    assert (
        "sandbox" in response["Content-Security-Policy"] and "default-src 'none'" in response["Content-Security-Policy"]
    )
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")]
)
def test_other_inline_image_formats(uploader, fmt, content_type):
    data = assert_ok(upload(uploader, image_bytes(fmt, (5, 4)), name=f"x.{fmt.lower()}"))["data"]
    assert (data["content_type"], data["width"], data["height"]) == (content_type, 5, 4)
    assert fetch(data["url"])["Content-Disposition"].startswith("inline;")


def test_a_turned_jpeg_reports_the_dimensions_a_browser_shows(uploader):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    data = assert_ok(upload(uploader, image_bytes("JPEG", (8, 3), exif=exif.tobytes()), name="turned.jpg"))["data"]
    assert (data["width"], data["height"]) == (3, 8)


def test_a_pdf_is_a_download(uploader):
    content = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    data = assert_ok(upload(uploader, content, name="minutes.pdf", content_type="application/pdf"))["data"]
    assert data["content_type"] == "application/pdf"
    assert "width" not in data
    response = fetch(data["url"])
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="minutes.pdf"')
    assert body_of(response) == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("page.html", b"<!doctype html><script>alert(document.cookie)</script>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("feed.xml", b'<?xml version="1.0"?><x/>'),
        ("app.js", b"fetch('/api/me')"),
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00"),
        ("notes.txt", b"just text"),
        ("gif.html", b"GIF8<html><script>alert(1)</script>"),  # almost a GIF, not one
    ],
)
def test_active_content_and_unknown_bytes_are_served_as_octet_stream_with_nosniff(uploader, name, content):
    data = assert_ok(upload(uploader, content, name=name, content_type="text/html"))["data"]
    assert data["content_type"] == "application/octet-stream"
    response = fetch(data["url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert body_of(response) == content


def test_an_image_claiming_too_many_pixels_is_kept_as_a_plain_download(uploader, settings):
    data = assert_ok(upload(uploader, png_claiming(100_000, 100_000), name="bomb.png"))["data"]
    assert data["content_type"] == "application/octet-stream"
    assert "width" not in data
    settings.UPLOAD_IMAGE_MAX_PIXELS = 10
    data = assert_ok(upload(uploader, image_bytes("PNG", (4, 4)), name="sixteen.png"))["data"]
    assert data["content_type"] == "application/octet-stream"


def test_a_truncated_image_is_a_plain_download(uploader):
    data = assert_ok(upload(uploader, b"\x89PNG\r\n\x1a\n" + b"\0" * 20, name="broken.png"))["data"]
    assert data["content_type"] == "application/octet-stream"


def test_the_client_cannot_choose_where_a_file_goes_and_its_name_is_cleaned(uploader, media_root):
    data = assert_ok(upload(uploader, b"%PDF-1.4", name="..\\..\\evil\u202egpj.exe"))["data"]
    assert data["file_name"] == "evilgpj.exe"
    attachment = Attachment.objects.get()
    assert attachment.storage_name.startswith("attachments/") and ".." not in attachment.storage_name
    assert [p.name for p in media_root.rglob("*") if p.is_file()] == [attachment.key]


def test_uploading_needs_a_token(api):
    response = upload(api, b"%PDF-1.4")
    assert response.status_code == 401
    assert not Attachment.objects.exists()


def test_over_the_limit_is_413_and_nothing_is_stored(uploader, settings, media_root):
    settings.UPLOAD_MAX_BYTES = 1000
    response = upload(uploader, b"%PDF-" + b"x" * 1000, name="big.pdf")
    assert response.status_code == 413
    assert response.json() == {"code": 413, "msg": "the file is larger than 1000 bytes"}
    assert not Attachment.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))
    assert_ok(upload(uploader, b"%PDF-" + b"x" * 995, name="fits.pdf"))


def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(uploader, settings):
    limit = settings.STREAMING_BODY_PATHS[UPLOAD]
    response = uploader.generic(
        "POST", UPLOAD, b"", content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(limit + 1)
    )
    assert response.status_code == 413
    assert response.json() == {"code": 413, "msg": f"the body is larger than {limit} bytes"}


def test_the_upload_path_alone_takes_bodies_over_1_mib(uploader, settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    content = b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024)
    data = assert_ok(upload(uploader, content, name="photos.zip"))["data"]
    assert (data["size"], data["content_type"]) == (len(content), "application/zip")


def test_malformed_uploads(uploader):
    no_file = uploader.post(UPLOAD, {"note": "hello"})
    assert no_file.status_code == 400
    assert no_file.json()["errors"] == {
        "file": ["is required: send the file as the part 'file' of a multipart/form-data body"]
    }
    wrong_name = uploader.post(UPLOAD, {"image": SimpleUploadedFile("a.png", b"x")})
    assert wrong_name.status_code == 400
    two = uploader.post(
        UPLOAD, {"file": [SimpleUploadedFile("a.pdf", b"%PDF-1"), SimpleUploadedFile("b.pdf", b"%PDF-2")]}
    )
    assert two.status_code == 400
    assert "send one file" in two.json()["msg"]
    json_body = uploader.post(UPLOAD, {"file": "x"}, format="json")
    assert json_body.status_code == 415
    assert json_body.json() == {"code": 415, "msg": "the body must be multipart/form-data with one part 'file'"}
    broken = uploader.generic("POST", UPLOAD, b"--x\r\nnot a part", content_type="multipart/form-data; boundary=x")
    assert broken.status_code == 400
    assert not Attachment.objects.exists()


def test_an_empty_file_is_stored(uploader):
    data = assert_ok(upload(uploader, b"", name="empty.bin"))["data"]
    assert (data["size"], data["content_type"]) == (0, "application/octet-stream")
    assert body_of(fetch(data["url"])) == b""


def test_urls_are_built_on_public_base_url_when_set(uploader, settings):
    settings.PUBLIC_BASE_URL = "https://chat.example.com/base"
    data = assert_ok(upload(uploader, b"%PDF-1"))["data"]
    assert data["url"].startswith("https://chat.example.com/base/api/chat/files/")


# --- the signed URL -------------------------------------------------------------------------


def test_a_tampered_url_is_refused(uploader):
    url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    key, stamp, signature = urlsplit(url).path.rsplit("/", 3)[1:]
    other = assert_ok(upload(uploader, b"%PDF-2"))["data"]["url"]
    other_key = urlsplit(other).path.rsplit("/", 3)[1]
    for path in (
        f"/api/chat/files/{other_key}/{stamp}/{signature}",  # another file, this signature
        f"/api/chat/files/{key}/{stamp}/{signature[:-1]}A"
        if signature[-1] != "A"
        else f"/api/chat/files/{key}/{stamp}/{signature[:-1]}B",
        f"/api/chat/files/{key}/zzzzzz/{signature}",  # a later expiry
    ):
        response = Client().get(path)
        assert response.status_code == 403, path
        assert response.json() == {"code": 403, "msg": "this link is not valid"}
    assert Client().get(f"/api/chat/files/{key}").json() == {"code": 403, "msg": "this link is not valid"}


def test_an_expired_url_is_refused(uploader, settings):
    settings.UPLOAD_URL_SECONDS = 60
    issued = time.time()
    with mock.patch("django.core.signing.time.time", return_value=issued):
        url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    with mock.patch("django.core.signing.time.time", return_value=issued + 59):
        assert fetch(url).status_code == 200
    with mock.patch("django.core.signing.time.time", return_value=issued + 61):
        response = fetch(url)
    assert response.status_code == 403
    assert response.json() == {"code": 403, "msg": "this link has expired: open the message again for a fresh one"}


def test_a_deleted_file_is_404(uploader, media_root):
    url = assert_ok(upload(uploader, b"%PDF-1"))["data"]["url"]
    Attachment.objects.all().delete()
    assert fetch(url).json() == {"code": 404, "msg": "this file no longer exists"}


def test_head_answers_the_headers_and_other_methods_are_405(uploader):
    url = assert_ok(upload(uploader, b"%PDF-1.4 head"))["data"]["url"]
    head = fetch(url, "head")
    assert head.status_code == 200
    assert head["Content-Length"] == "13"
    assert head["X-Content-Type-Options"] == "nosniff"
    post = Client().post(urlsplit(url).path)
    assert post.status_code == 405
    assert post["Allow"] == "GET, HEAD"


def test_a_stored_file_is_read_in_chunks_never_whole(uploader, settings):
    settings.UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    content = b"PK\x03\x04" + bytes(range(256)) * 8192
    url = assert_ok(upload(uploader, content, name="big.zip"))["data"]["url"]
    reads: list[int] = []
    real_open = default_storage.open

    class Spy:
        def __init__(self, file):
            self.file = file

        def read(self, size=-1):
            reads.append(size)
            return self.file.read(size)

        def close(self):
            self.file.close()

    def spying_open(name, mode="rb"):
        return Spy(real_open(name, mode))

    with mock.patch("attachments.views.default_storage.open", side_effect=spying_open):
        assert body_of(fetch(url)) == content
    assert reads and all(0 < size <= 64 * 1024 for size in reads)


def test_streamed_files_leave_io_alone(uploader):
    # The upload handler writes a temporary file, not a buffer in memory.
    from attachments.uploads import AttachmentUploadHandler

    handler = AttachmentUploadHandler(mock.Mock(), limit=10)
    handler.new_file("file", "a.bin", "application/octet-stream", None)
    assert not isinstance(handler.upload.file, io.BytesIO)
    handler.upload_interrupted()
