"""`destek search_index`: rebuild the ticket search words (after an upgrade that adds search,
or a restore), newest tickets first; `--missing` only for tickets that have none."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from destek.tickets.search_jobs import index_all


class Command(BaseCommand):
    help = "Rebuild the words ticket search finds tickets by."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--missing", action="store_true", help="only tickets that have no search words yet"
        )

    def handle(self, *args: Any, missing: bool = False, **options: Any) -> None:
        started = time.monotonic()
        done = index_all(only_missing=missing)
        seconds = time.monotonic() - started
        self.stdout.write(f"{done} tickets indexed in {seconds:.1f} s")
