"""Storing uploads and deleting the files no message refers to (API.md §10).

Files go through Django's storage API (`default_storage`: the local filesystem by default, an
S3-compatible bucket through django-storages when configured) from a temporary file, never
whole in memory, under a name the client cannot choose.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import ExifTags, Image

from attachments import references
from attachments.models import Attachment
from attachments.signing import key_in_url
from attachments.sniff import IMAGE_TYPES, OCTET_STREAM, SNIFF_BYTES, sniff_content_type
from meta.models import User

logger = logging.getLogger(__name__)

FILE_NAME_MAX = 255
STORAGE_PREFIX = "attachments"
_PILLOW_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
# EXIF orientations that turn the picture a quarter: browsers show it with width and height swapped.
_QUARTER_TURNS = {5, 6, 7, 8}


def file_name_clean(raw: str) -> str:
    """The client's file name as shown to others: no path, no control or format characters
    (a right-to-left override could make `gpj.exe` read as `exe.jpg`), at most 255 characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in {"Cc", "Cf", "Zl", "Zp"}).strip()
    return name[:FILE_NAME_MAX] or "file"


def image_dimensions(file: IO[bytes], content_type: str) -> tuple[int, int] | None:
    """(width, height) as a browser shows the image, read from its header with Pillow (the
    pixels are never decoded); None when Pillow does not read it as `content_type`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file, formats=[_PILLOW_FORMATS[content_type]]) as image:
                width, height = image.size
                orientation = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # not an image after all, truncated, or a decompression bomb Pillow refuses
        return None
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return width, height


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    width: int | None = None
    height: int | None = None


def file_sniff(file: IO[bytes]) -> Sniffed:
    """What the file's bytes say it is. Images also get their dimensions; one that Pillow
    cannot read, or of more than UPLOAD_IMAGE_MAX_PIXELS pixels (a decompression bomb, or a
    picture no browser should be asked to draw inline), is kept as a plain download."""
    file.seek(0)
    content_type = sniff_content_type(file.read(SNIFF_BYTES))
    file.seek(0)
    if content_type not in IMAGE_TYPES:
        return Sniffed(content_type)
    dimensions = image_dimensions(file, content_type)
    file.seek(0)
    if dimensions is None or dimensions[0] * dimensions[1] > settings.UPLOAD_IMAGE_MAX_PIXELS:
        return Sniffed(OCTET_STREAM)
    return Sniffed(content_type, *dimensions)


def attachment_store(*, uploader: User, file: File, file_name: str) -> Attachment:
    """Store an uploaded file and describe it: its content type sniffed from its bytes, an
    image's dimensions read from it, a random key (its storage name and URL; the client
    chooses neither). `file` is read from its start; a temporary file is moved or copied in
    chunks, never loaded whole.

    The row is written first: a file whose upload failed half-way leaves at most a row without
    a file, which `attachments_cleanup` removes after a day.
    """
    sniffed = file_sniff(file)
    key = secrets.token_urlsafe(16)
    attachment = Attachment.objects.create(
        key=key,
        storage_name=f"{STORAGE_PREFIX}/{key[:2]}/{key}",
        uploader=uploader,
        file_name=file_name_clean(file_name),
        content_type=sniffed.content_type,
        size=file.size,
        width=sniffed.width,
        height=sniffed.height,
    )
    try:
        stored = default_storage.save(attachment.storage_name, file)
    except BaseException:
        attachment.delete()
        raise
    if stored != attachment.storage_name:  # a storage that renames on save
        Attachment.objects.filter(pk=attachment.pk).update(storage_name=stored)
        attachment.storage_name = stored
    return attachment


def attachments_release(*, content: Any) -> int:
    """A message with this content no longer refers to its file (it was deleted or edited):
    the next `attachments_cleanup` looks again whether any other message does, and deletes the
    file if none does. Returns how many attachments were released."""
    url = content.get("url") if isinstance(content, dict) else None
    key = key_in_url(url) if isinstance(url, str) else None
    if key is None:
        return 0
    return Attachment.objects.filter(key=key, referenced=True).update(referenced=False)


@dataclass(frozen=True)
class Cleanup:
    deleted: int
    kept: int


def attachments_cleanup(*, older_than: timedelta | None = None, batch_size: int = 500) -> Cleanup:
    """Delete the files that no message refers to, uploaded more than `older_than` ago
    (`ATTACHMENTS_ORPHAN_SECONDS`, a day, by default), with their rows. Files a message refers
    to are marked so and not looked up again. Idempotent; safe to run in several processes at
    once (a file is deleted at most once, a storage delete of a missing file is no error).

    Raises references.NoFinder when no message store installed its finder: nothing is deleted.
    """
    cutoff = timezone.now() - (older_than or timedelta(seconds=settings.ATTACHMENTS_ORPHAN_SECONDS))
    deleted = kept = 0
    last_id = 0
    while True:
        candidates = list(
            Attachment.objects.filter(referenced=False, created_at__lt=cutoff, pk__gt=last_id).order_by("pk")[
                :batch_size
            ]
        )
        if not candidates:
            break
        last_id = candidates[-1].pk
        used = references.referenced_keys(keys=[a.key for a in candidates], since=min(a.created_at for a in candidates))
        Attachment.objects.filter(key__in=used).update(referenced=True)
        kept += len(used)
        for attachment in candidates:
            if attachment.key not in used:
                deleted += _attachment_delete(attachment)
    if deleted or kept:
        logger.info("attachments cleanup: deleted %d unreferenced files, %d are in use", deleted, kept)
    return Cleanup(deleted=deleted, kept=kept)


def _attachment_delete(attachment: Attachment) -> int:
    with transaction.atomic():
        # Whoever deletes the row deletes the file: two cleanups at once delete it once.
        rows, _ = Attachment.objects.filter(pk=attachment.pk, referenced=False).delete()
        if rows:
            default_storage.delete(attachment.storage_name)
    return 1 if rows else 0
