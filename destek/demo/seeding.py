"""Seeded tickets as plain rows, and the two ways they reach the database.

`Generator` draws each ticket, its thread and the values the actions would keep beside them
(the SLA clocks, `queue_due`, `priority_rank`, `customer_vip`, the `last_*_at` times) as
tuples, without model instances. `CopyWriter` streams them into PostgreSQL with binary COPY;
`write_models` turns them into model instances for `bulk_create` (SQLite, small sizes). The
columns the generator does not draw get the model field's own default, so both paths write
the same rows.
"""

from __future__ import annotations

import json
import random
from bisect import bisect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, Generic, TypeVar

from django.db import connection, models

from destek.accounts.choices import Tier
from destek.demo.seed_texts import DOMAIN_WORDS, LANGUAGE_WEIGHTS, LANGUAGES, MONTHS, TEXTS
from destek.sla.engine import Schedule, add_business_minutes, business_minutes_between
from destek.tickets.choices import (
    ActorKind,
    AuthorKind,
    Channel,
    CloseReason,
    EventKind,
    Priority,
    TicketStatus,
    priority_rank,
)
from destek.tickets.models import FAR_FUTURE, Message, Policy, Ticket, TicketEvent

T = TypeVar("T")
Row = tuple[Any, ...]

SPAN = timedelta(days=180)


class Weighted(Generic[T]):
    """`random.choices(items, weights)[0]` with the cumulative weights worked out once."""

    __slots__ = ("cumulative", "items", "last", "total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        self.items = tuple(items)
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]
        self.last = len(self.items) - 1

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cumulative, rng.random() * self.total, 0, self.last)]


# Plain strings (not the choices' enum members): the COPY path writes them as they are.
NEW, OPEN, PENDING, RESOLVED, CLOSED = (s.value for s in TicketStatus)
DONE = (RESOLVED, CLOSED)
RUNNING = (NEW, OPEN)
CUSTOMER = AuthorKind.CUSTOMER.value
AGENT = AuthorKind.AGENT.value
WEB = Channel.WEB.value

LANGUAGE = Weighted(LANGUAGES, LANGUAGE_WEIGHTS)  # az, en, fa, ru, tr
# By age: recent tickets are still being worked, old ones are mostly closed.
STATUSES = [NEW, OPEN, PENDING, RESOLVED, CLOSED]
STATUS_RECENT = Weighted(STATUSES, [30, 30, 20, 15, 5])
STATUS_MONTH = Weighted(STATUSES, [3, 12, 10, 20, 55])
STATUS_OLD = Weighted(STATUSES, [0, 2, 3, 5, 90])
PRIORITY = Weighted(
    [p.value for p in (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)],
    [20, 55, 20, 5],
)
PRIORITY_RANK = {p.value: priority_rank(p) for p in Priority}
CHANNEL = Weighted(
    [
        c.value
        for c in (
            Channel.WEB,
            Channel.EMAIL,
            Channel.API,
            Channel.CHAT,
            Channel.TELEGRAM,
            Channel.PHONE,
        )
    ],
    [40, 35, 10, 5, 5, 5],
)
CLOSE_REASON = Weighted(
    [
        r.value
        for r in (
            CloseReason.RESOLVED,
            CloseReason.NO_REPLY,
            CloseReason.CUSTOMER,
            CloseReason.DUPLICATE,
        )
    ],
    [70, 20, 8, 2],
)
TIER = Weighted([Tier.STANDARD.value, Tier.PREMIUM.value, Tier.VIP.value], [85, 10, 5])
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)

# What the generator draws, in the order of its tuples (attribute names; the ticket's id and
# the messages' ticket id are added by the writer).
TICKET_FIELDS = (
    "number",
    "subject",
    "department_id",
    "priority",
    "urgency",
    "status",
    "channel",
    "customer_id",
    "assignee_id",
    "language",
    "created_at",
    "first_seen_at",
    "first_response_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "resolved_at",
    "closed_at",
    "close_reason",
    "status_changed_at",
    "updated_at",
    "priority_rank",
    "policy_priority",
    "customer_vip",
    "sla_policy_id",
    "first_response_due",
    "resolution_due",
    "queue_due",
    "sla_check_at",
    "first_response_business_minutes",
    "resolution_business_minutes",
)
MESSAGE_FIELDS = ("author_id", "author_kind", "body", "channel", "created_at")
EVENT_FIELDS = ("kind", "actor_kind", "actor_id", "to_value", "data", "created_at")
_CUSTOMER, _CHANNEL, _CREATED = (
    TICKET_FIELDS.index("customer_id"),
    TICKET_FIELDS.index("channel"),
    TICKET_FIELDS.index("created_at"),
)
CREATED_EVENT = EventKind.CREATED.value
BY_CUSTOMER = ActorKind.CUSTOMER.value
EVENT_DATA = {channel: {"channel": channel, "related_to": None} for channel in CHANNEL.items}


def event_row(ticket: Row, data: dict[str, Any]) -> Row:
    """The ticket's `created` event, in EVENT_FIELDS order, as `create_ticket` writes it;
    `data` holds its data per channel (EVENT_DATA, or the same as JSON text)."""
    return (
        CREATED_EVENT,
        BY_CUSTOMER,
        ticket[_CUSTOMER],
        NEW,
        data[ticket[_CHANNEL]],
        ticket[_CREATED],
    )


@dataclass(frozen=True)
class Desk:
    """What the seeded tickets are filed against, read once before generating."""

    departments: Weighted[int]
    agents: dict[int, tuple[int, ...]]  # department id -> agents (admins when it has none)
    customers: tuple[int, ...]
    vip: frozenset[int]
    # Seeded tickets run on the default (last, condition-free) policy: their clocks come from
    # the same engine as real ones, without replaying each ticket's history.
    policy: Policy | None
    schedule: Schedule | None


class Generator:
    """Tickets spread evenly over the last 180 days up to `now`, in creation order."""

    def __init__(
        self, desk: Desk, *, rng: random.Random, now: datetime, total: int, messages: int
    ) -> None:
        self.desk = desk
        self.rng = rng
        self.now = now
        self.start = now - SPAN
        self.step = SPAN / total
        self.messages = messages

    def tickets(self, numbers: Iterable[int], first: int) -> Iterator[tuple[Row, list[Row]]]:
        """Ticket `first`, `first + 1`, ... of the run, one per number."""
        for i, number in enumerate(numbers, first):
            # Ids grow with creation time, as in a real queue; jitter within the step.
            yield self.ticket(number, self.start + self.step * (i + self.rng.random()))

    def ticket(self, number: int, created: datetime) -> tuple[Row, list[Row]]:
        """One ticket (TICKET_FIELDS) and its thread (MESSAGE_FIELDS each)."""
        rng, desk, now = self.rng, self.desk, self.now
        department_id = desk.departments.pick(rng)
        agent_ids = desk.agents[department_id]
        customer_id = rng.choice(desk.customers)
        language = LANGUAGE.pick(rng)
        texts = TEXTS[language]
        values = {
            "n": rng.randint(10_000, 999_999),
            "d": f"{rng.choice(DOMAIN_WORDS)}{rng.randint(1, 999)}.az",
            "m": rng.choice(MONTHS),
        }
        age = now - created
        statuses = STATUS_RECENT if age < WEEK else STATUS_MONTH if age < MONTH else STATUS_OLD
        status = statuses.pick(rng)
        channel = CHANNEL.pick(rng)
        agent_id = rng.choice(agent_ids) if agent_ids else None

        # The thread: the customer first, then agent and customer in turn, hours apart. Nobody
        # has answered a new ticket yet, so there the customer keeps writing ("any news?").
        thread: list[Row] = []
        when = created
        last_customer = last_agent = first_agent = None
        for position in range(self.messages):
            if status == NEW or position % 2 == 0:
                body = (
                    rng.choice(texts.bodies) if position == 0 else rng.choice(texts.follow_ups)
                ).format(**values)
                thread.append((customer_id, CUSTOMER, body, channel, when))
                last_customer = when
            else:
                thread.append((agent_id, AGENT, rng.choice(texts.replies), WEB, when))
                last_agent = when
                first_agent = first_agent or when
            when = min(now, when + timedelta(minutes=rng.randint(5, 36 * 60)))
        last_message = thread[-1][4]

        priority = PRIORITY.pick(rng)
        urgency = Priority.HIGH.value if rng.random() < 0.1 else Priority.NORMAL.value
        first_seen = (
            created + timedelta(minutes=rng.randint(1, 120))
            if status != NEW or rng.random() < 0.3
            else None
        )

        # The clocks, as tickets.clocks keeps them for a ticket on this policy.
        policy, schedule = desk.policy, desk.schedule
        policy_id = first_due = resolution_due = sla_check_at = None
        first_minutes = resolution_minutes = None
        queue_due = FAR_FUTURE
        changed = min(now, last_message + timedelta(minutes=rng.randint(1, 600)))
        if policy is not None and schedule is not None:
            policy_id = policy.pk
            # The reports' medians: a generated ticket has no pauses, its clock ran throughout.
            if first_agent is not None:
                first_minutes = round(business_minutes_between(schedule, created, first_agent))
            if status in DONE:
                resolution_minutes = round(business_minutes_between(schedule, created, changed))
            if policy.first_response_minutes:
                first_due = add_business_minutes(schedule, created, policy.first_response_minutes)
            if policy.resolution_minutes:
                resolution_due = add_business_minutes(schedule, created, policy.resolution_minutes)
            running = [
                due
                for due in (
                    first_due if first_agent is None else None,
                    resolution_due if status in RUNNING else None,
                )
                if due is not None
            ]
            if running:
                # The sweep then finds what is past due (warnings come with the breach).
                queue_due = sla_check_at = min(running)

        closed = status == CLOSED
        status_changed = changed if status != NEW else created
        ticket = (
            number,
            rng.choice(texts.subjects).format(**values),
            department_id,
            priority,
            urgency,
            status,
            channel,
            customer_id,
            agent_id if status != NEW else None,
            language,
            created,
            first_seen,
            first_agent,
            last_customer,
            last_agent,
            changed if status in DONE else None,
            changed if closed else None,
            CLOSE_REASON.pick(rng) if closed else "",
            status_changed,
            max(status_changed, last_message),
            PRIORITY_RANK[priority],
            priority,
            customer_id in desk.vip,
            policy_id,
            first_due,
            resolution_due,
            queue_due,
            sla_check_at,
            first_minutes,
            resolution_minutes,
        )
        return ticket, thread


# --- writing ----------------------------------------------------------------------------------


def write_models(batch: Sequence[tuple[Row, list[Row]]]) -> None:
    """Model instances and `bulk_create`: any database (both return the new ids)."""
    tickets = [Ticket(**dict(zip(TICKET_FIELDS, row, strict=True))) for row, _ in batch]
    Ticket.objects.bulk_create(tickets, batch_size=1000)
    Message.objects.bulk_create(
        [
            Message(ticket_id=ticket.pk, **dict(zip(MESSAGE_FIELDS, row, strict=True)))
            for ticket, (_, thread) in zip(tickets, batch, strict=True)
            for row in thread
        ],
        batch_size=2000,
    )
    TicketEvent.objects.bulk_create(
        [
            TicketEvent(
                ticket_id=ticket.pk,
                **dict(zip(EVENT_FIELDS, event_row(row, EVENT_DATA), strict=True)),
            )
            for ticket, (row, _) in zip(tickets, batch, strict=True)
        ],
        batch_size=2000,
    )


def jsonb(value: Any) -> bytes:
    """A value in jsonb's binary COPY format: a version byte, then the JSON text."""
    return b"\x01" + json.dumps(value).encode()


@dataclass(frozen=True)
class CopyTable:
    """A binary COPY into a model's table: the given fields first, then every other column at
    the model field's default, prepared once.

    Binary, because psycopg formats dates and numbers for it in C (the text format goes
    through Python per value, several times slower). jsonb columns are declared as bytea so
    that values prepared with `jsonb()` go through as they are, not through json.dumps per row.
    """

    statement: str
    types: tuple[str, ...]
    constants: Row

    @classmethod
    def of(cls, cursor: Any, model: type[models.Model], fields: Sequence[str]) -> CopyTable:
        qn = connection.ops.quote_name
        opts = model._meta
        cursor.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            [opts.db_table],
        )
        typenames = dict(cursor.fetchall())
        by_attname = {field.attname: field for field in opts.concrete_fields}
        columns = [by_attname[name].column for name in fields]
        constants: list[Any] = []
        for field in opts.concrete_fields:
            if field.column in columns or field.primary_key:
                continue
            columns.append(field.column)
            default = field.get_default()
            if typenames[field.column] == "jsonb":
                constants.append(jsonb(default))
            else:
                constants.append(field.get_db_prep_save(default, connection))
        statement = "COPY {} ({}) FROM STDIN (FORMAT BINARY)".format(
            qn(opts.db_table), ", ".join(qn(c) for c in columns)
        )
        types = tuple("bytea" if typenames[c] == "jsonb" else typenames[c] for c in columns)
        return cls(statement, types, tuple(constants))


class CopyWriter:
    """PostgreSQL: each batch's tickets, then their messages, then their events, with one
    COPY each."""

    def __init__(self) -> None:
        with connection.cursor() as cursor:
            self.tickets = CopyTable.of(cursor, Ticket, ("id", *TICKET_FIELDS))
            self.messages = CopyTable.of(cursor, Message, ("ticket_id", *MESSAGE_FIELDS))
            self.events = CopyTable.of(cursor, TicketEvent, ("ticket_id", *EVENT_FIELDS))
        self.event_data = {channel: jsonb(data) for channel, data in EVENT_DATA.items()}

    def write(self, batch: Iterable[tuple[Row, list[Row]]], size: int) -> None:
        """Write `size` tickets from `batch`.

        Ticket ids are taken from the table's own sequence first, so the messages and events
        can name them; they grow in creation order. `batch` may be a generator: tickets are
        drawn while the ticket COPY streams, so Python and the database work at the same time.
        """
        tickets, messages, events = self.tickets, self.messages, self.events
        written: list[tuple[int, Row, list[Row]]] = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Ticket._meta.db_table, size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
            with raw.copy(tickets.statement) as copy:
                copy.set_types(tickets.types)
                for ticket_id, (ticket, thread) in zip(ids, batch, strict=True):
                    copy.write_row((ticket_id, *ticket, *tickets.constants))
                    written.append((ticket_id, ticket, thread))
            with raw.copy(messages.statement) as copy:
                copy.set_types(messages.types)
                for ticket_id, _, thread in written:
                    for message in thread:
                        copy.write_row((ticket_id, *message, *messages.constants))
            with raw.copy(events.statement) as copy:
                copy.set_types(events.types)
                for ticket_id, ticket, _ in written:
                    copy.write_row(
                        (ticket_id, *event_row(ticket, self.event_data), *events.constants)
                    )


# Secondary indexes and foreign keys of the tables a seed fills (PostgreSQL). Partial indexes
# stay: they are small (active tickets only), and their predicate, printed by pg_get_indexdef
# and run again, would come back spelled differently from the one the migration made.
_INDEXES = """
SELECT index.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_class index ON index.oid = i.indexrelid
WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
  AND NOT i.indisprimary AND i.indpred IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
ORDER BY index.relname
"""
_FOREIGN_KEYS = """
SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
WHERE c.contype = 'f' AND t.relname = ANY(%s)
  AND t.relnamespace = current_schema()::regnamespace
ORDER BY t.relname, c.conname
"""
SEEDED_TABLES = [Ticket._meta.db_table, Message._meta.db_table, TicketEvent._meta.db_table]


@contextmanager
def indexes_rebuilt_after() -> Iterator[None]:
    """PostgreSQL, inside a transaction: drop the seeded tables' secondary indexes and foreign
    keys, and create them again after the block.

    Building an index once over all rows is several times cheaper than updating it row by
    row, and a foreign key added afterwards is checked with one join instead of a trigger per
    row. Indexes that back a constraint (primary keys, `number`'s uniqueness) stay. DDL is
    transactional here: if the block fails, the rollback restores everything. Other sessions
    wait on the tables' locks until the commit.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_rebuilt_after() needs a transaction")
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Foreign-key checks still pending from earlier in the transaction (a caller's, a
        # test's) run now: a table with pending trigger events cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(_INDEXES, [SEEDED_TABLES])
        indexes = cursor.fetchall()
        cursor.execute(_FOREIGN_KEYS, [SEEDED_TABLES])
        foreign_keys = cursor.fetchall()
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    yield
    with connection.cursor() as cursor:
        # For this transaction only: sorts for the index builds stay in memory.
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
