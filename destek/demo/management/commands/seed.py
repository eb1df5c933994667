"""`destek seed --tickets N`: fill the database with realistic tickets, fast, for benchmarks.

Tickets are generated as plain rows (destek.demo.seeding) in batches, so memory stays flat
whatever N is. On PostgreSQL they are streamed in with COPY; when the seed at least doubles
the tickets table, its secondary indexes and foreign keys (and those of messages and events)
are dropped first and built again at the end, all in one transaction. Elsewhere (SQLite) rows
go through `bulk_create`, one transaction per batch. Seeded tickets bypass the actions on
purpose: no intake rules, routing, notifications or jobs, only the rows a busy helpdesk would
hold (a ticket, its thread and its `created` event). Seeded customers are
`seed-customer-NNNNNN@example.test`; `--clear` removes their tickets.
"""

from __future__ import annotations

import contextlib
import random
import time
from array import array
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from destek.accounts.choices import Role, Tier
from destek.accounts.models import User
from destek.demo.data import load_demo
from destek.demo.seed_texts import TEXTS
from destek.demo.seeding import (
    LANGUAGE,
    TIER,
    CopyWriter,
    Desk,
    Generator,
    Weighted,
    indexes_rebuilt_after,
    write_models,
)
from destek.demo.surveys import seed_survey_answers
from destek.tickets.clocks import Schedules
from destek.tickets.models import Department, Membership, Message, Policy, Ticket, TicketEvent

SEED_EMAIL_PREFIX = "seed-customer-"
SEED_EMAIL_DOMAIN = "example.test"
TICKET_NUMBERS = range(10_000_000, 100_000_000)
CUSTOMER_NUMBERS = range(1_000_000, 10_000_000)


def seed_email(index: int) -> str:
    return f"{SEED_EMAIL_PREFIX}{index:06d}@{SEED_EMAIL_DOMAIN}"


def draw_unique(rng: random.Random, population: range, count: int, taken: set[int]) -> array[int]:
    """`count` distinct numbers from `population` that are not in `taken`, in random order."""
    if count + len(taken) > len(population):
        raise CommandError(f"Not enough free numbers in {population} for {count} more.")
    drawn = rng.sample(population, count + len(taken))
    return array("q", [n for n in drawn if n not in taken][:count])


class Command(BaseCommand):
    help = (
        "Fill the database with realistic tickets for benchmarks: demo data, seeded customers "
        "and N tickets with their messages and events, written in bulk."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=0, help="tickets to add (default 0)")
        parser.add_argument("--messages", type=int, default=3, help="messages per ticket")
        parser.add_argument(
            "--customers", type=int, default=1000, help="seeded customers the tickets belong to"
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=20_000,
            help="tickets per COPY or bulk insert (and per transaction unless indexes are rebuilt)",
        )
        parser.add_argument(
            "--clear", action="store_true", help="first delete the tickets of seeded customers"
        )
        parser.add_argument(
            "--random-seed", type=int, default=None, help="make the generated data repeatable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tickets: int = options["tickets"]
        messages: int = options["messages"]
        customers: int = options["customers"]
        batch: int = options["batch"]
        if tickets < 0 or messages < 1 or customers < 1 or batch < 1:
            raise CommandError("--tickets must be >= 0; --messages, --customers and --batch >= 1.")
        self.rng = random.Random(options["random_seed"])
        self.verbose = options["verbosity"] >= 1
        started = time.monotonic()
        if options["clear"]:
            self.clear(min(batch, 5000))
        load_demo()
        if not tickets:
            return
        customer_ids = self.ensure_customers(customers)
        self.fill(tickets, messages=messages, customer_ids=customer_ids, batch=batch)
        surveyed = time.monotonic()
        sent, answered = seed_survey_answers()
        self.say(
            f"  {sent:,} surveys sent and {answered:,} answered "
            f"({time.monotonic() - surveyed:.1f} s)"
        )
        elapsed = time.monotonic() - started
        rows = tickets * (messages + 2)
        self.say(
            f"Seeded {tickets:,} tickets, {tickets * messages:,} messages and {tickets:,} "
            f"events in {elapsed:.1f} s: {tickets / elapsed:,.0f} tickets/s, "
            f"{rows / elapsed:,.0f} rows/s."
        )

    def say(self, line: str) -> None:
        if self.verbose:
            self.stdout.write(line)
            self.stdout.flush()

    # --- clearing ----------------------------------------------------------------------------

    def clear(self, batch: int) -> None:
        """Delete seeded customers' tickets in chunks, children first.

        A single `.delete()` would make Django's collector load every ticket and message
        into memory; per chunk, events go with one DELETE and messages are loaded as ids only.
        """
        seeded = Ticket.objects.filter(customer__email__startswith=SEED_EMAIL_PREFIX)
        deleted = 0
        started = time.monotonic()
        while True:
            with transaction.atomic():
                ids = list(seeded.order_by("pk").values_list("pk", flat=True)[:batch])
                if not ids:
                    break
                TicketEvent.objects.filter(ticket_id__in=ids).delete()
                Message.objects.filter(ticket_id__in=ids).only("pk").delete()
                Ticket.objects.filter(pk__in=ids).only("pk").delete()
            deleted += len(ids)
            self.say(f"  cleared {deleted:,} tickets")
        self.say(f"Cleared {deleted:,} seeded tickets in {time.monotonic() - started:.1f} s.")

    # --- customers ---------------------------------------------------------------------------

    def ensure_customers(self, count: int) -> list[int]:
        """The ids of seed customers 0..count-1, creating the missing ones in bulk."""
        wanted = {seed_email(i): i for i in range(count)}
        existing = set(
            User.objects.filter(email__startswith=SEED_EMAIL_PREFIX).values_list("email", flat=True)
        )
        missing = [email for email in wanted if email not in existing]
        if missing:
            taken = {
                int(n)
                for n in User.objects.filter(customer_number__isnull=False)
                .values_list("customer_number", flat=True)
                .iterator()
                if n and n.isdigit()
            }
            numbers = draw_unique(self.rng, CUSTOMER_NUMBERS, len(missing), taken)
            # Seeded customers never sign in: one unusable password ("!...") serves them all.
            unusable = make_password(None)
            users = []
            for email, number in zip(missing, numbers, strict=True):
                language = LANGUAGE.pick(self.rng)
                users.append(
                    User(
                        email=email,
                        full_name=self.rng.choice(TEXTS[language].names),
                        role=Role.CUSTOMER,
                        tier=TIER.pick(self.rng),
                        language=language,
                        customer_number=str(number),
                        password=unusable,
                    )
                )
            with transaction.atomic():
                User.objects.bulk_create(users, batch_size=1000)
            self.say(f"Created {len(users):,} seeded customers.")
        ids = dict(
            User.objects.filter(email__startswith=SEED_EMAIL_PREFIX).values_list("email", "pk")
        )
        return [ids[email] for email in wanted]

    # --- tickets -----------------------------------------------------------------------------

    def desk(self, customer_ids: list[int]) -> Desk:
        policy = Policy.objects.filter(enabled=True).order_by("-position", "-pk").first()
        departments = list(Department.objects.order_by("position", "pk"))
        if not departments:
            raise CommandError("No departments: load_demo() should have created them.")
        admins = list(User.objects.filter(role=Role.ADMIN).values_list("pk", flat=True))
        agents: dict[int, list[int]] = {d.pk: [] for d in departments}
        for department_id, user_id in Membership.objects.filter(
            user__is_active=True, user__role__in=[Role.AGENT, Role.ADMIN]
        ).values_list("department_id", "user_id"):
            agents[department_id].append(user_id)
        return Desk(
            # Technical carries most of the traffic, as at a hosting company.
            departments=Weighted(
                [d.pk for d in departments],
                [2 if d.slug == "technical" else 1 for d in departments],
            ),
            agents={pk: tuple(members or admins) for pk, members in agents.items()},
            customers=tuple(customer_ids),
            vip=frozenset(User.objects.filter(tier=Tier.VIP).values_list("pk", flat=True)),
            policy=policy,
            schedule=Schedules().get(policy.calendar_id) if policy else None,
        )

    def fill(self, total: int, *, messages: int, customer_ids: list[int], batch: int) -> None:
        desk = self.desk(customer_ids)
        taken = set(Ticket.objects.values_list("number", flat=True).iterator())
        numbers = draw_unique(self.rng, TICKET_NUMBERS, total, taken)
        generator = Generator(
            desk, rng=self.rng, now=timezone.now(), total=total, messages=messages
        )
        copy = CopyWriter() if connection.vendor == "postgresql" else None
        # Rebuilding the indexes costs about as much as the rows already there: worth it when
        # the seed at least doubles the table (an empty database, a bench tier 10x the last).
        rebuild = copy is not None and total >= len(taken)
        del taken
        started = time.monotonic()
        with contextlib.ExitStack() as rebuilding:
            if rebuild:
                rebuilding.enter_context(transaction.atomic())
                rebuilding.enter_context(indexes_rebuilt_after())
            done = 0
            while done < total:
                size = min(batch, total - done)
                rows = generator.tickets(numbers[done : done + size], done)
                with transaction.atomic():
                    if copy is not None:
                        copy.write(rows, size)
                    else:
                        write_models(list(rows))
                done += size
                rate = done / max(time.monotonic() - started, 1e-6)
                self.say(f"  {done:,} / {total:,} tickets ({rate:,.0f} tickets/s)")
            if rebuild:
                self.say("  building the indexes and foreign keys again")
        if rebuild:
            self.say(f"  rows and indexes committed after {time.monotonic() - started:.1f} s")
