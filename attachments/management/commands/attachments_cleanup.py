"""`manage.py attachments_cleanup`: delete uploaded files that no message refers to.

Run it periodically, e.g. hourly from cron:

    17 * * * *  cd /srv/chat && .venv/bin/python manage.py attachments_cleanup

(`make cluster` runs it inside the cluster; see the README, Attachments.)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from attachments.services import attachments_cleanup


class Command(BaseCommand):
    help = "Delete uploaded files that no message refers to, once older than ATTACHMENTS_ORPHAN_SECONDS (a day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=settings.ATTACHMENTS_ORPHAN_SECONDS,
            metavar="SECONDS",
            help="only files uploaded at least this long ago (default: ATTACHMENTS_ORPHAN_SECONDS, 86400)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = attachments_cleanup(older_than=timedelta(seconds=options["older_than"]))
        self.stdout.write(f"deleted {result.deleted} unreferenced files; {result.kept} files found in use")
