"""`destek drain-mail-spool`: file the mail `destek ingest-email` spooled, now, as the worker
does every second (handy when the worker is stopped, and in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from destek.mail import spool
from destek.mail.jobs import drain_mail_spool_now


class Command(BaseCommand):
    help = "File the spooled inbound mail now (one line per message)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reclaim",
            action="store_true",
            help="first take back every claimed file (only when no worker is running)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reclaim"]:
            spool.reclaim(Path(settings.DESTEK_MAIL_SPOOL_DIR), older_than=-1)
        for outcome in drain_mail_spool_now():
            self.stdout.write(outcome.describe())
