"""Uploaded files (API.md §10): the bytes live in Django's storage, this row says what they are."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Attachment(models.Model):
    """One uploaded file. `key` (random, unguessable) names it in signed URLs and in storage;
    `content_type` was sniffed from its bytes; `width` and `height` were read from an image.

    `referenced` is the cleanup's memory: a message referred to the file when
    `attachments_cleanup` last looked, so it is not looked up again (until released).
    """

    key = models.CharField(max_length=32, unique=True)
    storage_name = models.CharField(max_length=255)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    referenced = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["referenced", "created_at"], name="attachment_unreferenced_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.content_type}, {self.size} bytes)"
