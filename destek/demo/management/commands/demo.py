from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from destek.demo.data import USERS, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo departments, users (password 'demo'), rules, knowledge base and sample "
        "tickets. Safe to run twice."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-tickets", action="store_true", help="Leave out the sample tickets."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        load_demo(sample_tickets=not options["no_tickets"])
        self.stdout.write("Demo data ready. Sign in with password 'demo' as:")
        for email, _name, role, *_rest in USERS:
            self.stdout.write(f"  {email:<24} {role}")
