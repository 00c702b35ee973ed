"""Which attachments stored messages refer to, for `attachments_cleanup` (installed into the
attachments app's port by `send.apps`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db.models.fields.json import KT

from attachments.signing import FILES_PATH, key_in_url
from send.models import Message


def attachment_keys_referenced(*, keys: Collection[str], since: datetime) -> set[str]:
    """The keys among `keys` that the `url` of a message stored since `since` names. Reads
    only media messages of that period, in chunks."""
    wanted = set(keys)
    found: set[str] = set()
    urls = (
        Message.objects.filter(created_at__gte=since)
        .annotate(url=KT("content__url"))
        .filter(url__contains=FILES_PATH)
        .values_list("url", flat=True)
        .iterator(chunk_size=2000)
    )
    for url in urls:
        key = key_in_url(url) if isinstance(url, str) else None
        if key in wanted:
            found.add(key)
            if found == wanted:
                break
    return found
