"""`destek poll-mail [--account NAME]`: poll the IMAP mailboxes now, as the worker does every
minute (all enabled mailboxes, or one by name, even a disabled one while setting it up)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from destek.mail.imap import poll_account
from destek.mail.models import MailAccount


class Command(BaseCommand):
    help = "Poll the IMAP mailboxes now: every enabled one, or the one named."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--account", metavar="NAME", help="only this mailbox (by its name)")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.get("account")
        accounts = MailAccount.objects.order_by("name")
        if name:
            accounts = accounts.filter(name=name)
            if not accounts.exists():
                raise CommandError(f"No mailbox is named {name!r}.")
        else:
            accounts = accounts.filter(enabled=True)
        failed = False
        for account in accounts:
            result = poll_account(account.pk, force=True)
            if result is None:
                self.stdout.write(f"{account.name}: being polled by another worker right now")
                continue
            failed = failed or bool(result.error)
            self.stdout.write(result.describe())
        if failed:
            raise CommandError("Some mailboxes could not be polled (see above).")
