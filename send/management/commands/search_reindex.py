"""`manage.py search_reindex`: rebuild the full-text search vectors of stored messages in the
MESSAGE_SEARCH_CONFIG text search configuration (after changing it). PostgreSQL only; in
batches of ids, each its own transaction, so the table is never locked whole."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from send.models import Message

BATCH = 5000


class Command(BaseCommand):
    help = "Rebuild messages' search vectors in MESSAGE_SEARCH_CONFIG (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help=f"messages per transaction (default {BATCH})")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("search vectors exist on PostgreSQL only; other databases search without them")
        table = Message._meta.db_table
        batch = max(1, options["batch"])
        last = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
        done = 0
        for start in range(0, last, batch):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET search_vector = CASE "  # noqa: S608 (the table name is ours)
                    "WHEN deleted_at IS NULL AND content->>'type' = 'text' "
                    "THEN to_tsvector(%s::regconfig, content->>'text') ELSE NULL END "
                    "WHERE id > %s AND id <= %s",
                    [settings.MESSAGE_SEARCH_CONFIG, start, start + batch],
                )
                done += cursor.rowcount
        self.stdout.write(f"{done} messages reindexed in the {settings.MESSAGE_SEARCH_CONFIG!r} configuration")
