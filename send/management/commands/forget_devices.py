"""`manage.py forget_devices [--days N]`: forget devices unseen for DEVICE_FORGET_DAYS (or N)
days, with their positions. A process with the registry role does it by itself every hour;
this is for deployments that prefer cron."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from send.positions import devices_forget_unseen


class Command(BaseCommand):
    help = "Forget devices unseen for DEVICE_FORGET_DAYS days (their positions go with them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=float, default=None, help="instead of DEVICE_FORGET_DAYS")

    def handle(self, *args: Any, days: float | None, **options: Any) -> None:
        days = settings.DEVICE_FORGET_DAYS if days is None else days
        forgotten = devices_forget_unseen(days=days)
        self.stdout.write(f"forgot {forgotten} device(s) unseen for {days:g} days")
