from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from destek.lib.demo import USERS, load_demo


class Command(BaseCommand):
    help = "Load the demo departments, users (password 'demo') and rules. Safe to run twice."

    def handle(self, *args: Any, **options: Any) -> None:
        load_demo()
        self.stdout.write("Demo data ready. Sign in with password 'demo' as:")
        for email, _name, role, *_rest in USERS:
            self.stdout.write(f"  {email:<24} {role}")
