"""The same uploads on an S3-compatible bucket (django-storages' S3Storage, the settings
`AWS_STORAGE_BUCKET_NAME` selects), against moto's in-process S3."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from django.test import Client
from django.utils import timezone
from moto import mock_aws

from attachments.models import Attachment
from attachments.services import attachments_cleanup
from tests.attachments.conftest import image_bytes, upload
from tests.support.envelope import assert_ok

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")]

BUCKET = "chat-test-uploads"


@pytest.fixture
def bucket(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "location": "chat", "default_acl": None, "max_memory_size": 1024},
            },
        }
        yield client


def objects(client: Any) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_uploads_are_stored_in_the_bucket_and_served_through_the_signed_url(uploader, bucket, media_root):
    content = image_bytes("PNG", (6, 5))
    data = assert_ok(upload(uploader, content, name="cat.png"))["data"]
    assert (data["content_type"], data["width"], data["height"]) == ("image/png", 6, 5)
    key = Attachment.objects.get().key
    assert objects(bucket) == [f"chat/attachments/{key[:2]}/{key}"]
    assert not media_root.exists()
    response = Client().get(urlsplit(data["url"]).path)
    assert response.status_code == 200
    assert b"".join(response) == content
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"


def test_cleanup_deletes_from_the_bucket(uploader, bucket):
    assert_ok(upload(uploader, b"%PDF-1.4"))
    Attachment.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert attachments_cleanup().deleted == 1
    assert objects(bucket) == []
