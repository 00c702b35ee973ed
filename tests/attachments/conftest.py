"""Fixtures of the attachments tests: uploads land in a temporary MEDIA_ROOT; files to upload."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

UPLOAD = "/api/chat/upload"


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PUBLIC_BASE_URL = ""
    return Path(settings.MEDIA_ROOT)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (3, 2), **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt, **save)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def upload(client: APIClient, content: bytes, name: str = "photo.png", content_type: str = "image/png", **extra: Any):
    """POST one part `file` as multipart/form-data, as a browser's FormData does."""
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content, content_type=content_type), **extra})


@pytest.fixture
def uploader(make_user: Callable[..., Any], client_for: Callable[[Any], APIClient]) -> Any:
    user = make_user("uploader")
    client = client_for(user)
    client.user = user
    return client
