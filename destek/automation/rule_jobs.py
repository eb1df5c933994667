"""Schedule rules: the worker's sweep, every few minutes.

Each enabled schedule rule is checked against the open tickets; one that matches is acted on
once per ticket per state: a `RuleRun` row, unique on (rule, ticket, state key), is written
in the same transaction as the rule's changes, so a second sweep (or a second worker) finds
it and does nothing. The state key is the ticket's status and the moment it entered it: a
ticket that leaves "pending" and comes back is a new state, reminded again.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task
from huey.signals import SIGNAL_EXECUTING

from destek.automation.conditions import Facts, RuleInvalid, matches, parse_conditions
from destek.automation.models import Rule, RuleKind, RuleRun
from destek.automation.rules import (
    already_ran,
    forget_pending,
    fresh_ticket,
    open_tickets,
    run_after_schedule,
    state_key,
)
from destek.tickets.models import Ticket

log = logging.getLogger(__name__)

#: Tickets one rule acts on in one sweep; the rest wait for the next.
BATCH = 200


def sweep_rules_now() -> int:
    """Apply every schedule rule where it matches and has not run in this state. Returns
    how many times a rule acted."""
    acted = 0
    for rule in Rule.objects.filter(enabled=True, kind=RuleKind.SCHEDULE).prefetch_related("texts"):
        try:
            acted += sweep_rule(rule)
        except RuleInvalid as invalid:
            # Written past the admin's checks: the other schedule rules still run.
            log.warning("schedule rule %r left out: %s", rule.name, invalid)
    return acted


def sweep_rule(rule: Rule, *, batch: int = BATCH) -> int:
    conditions = parse_conditions(rule.conditions)
    acted = 0
    for ticket in open_tickets(rule).iterator(chunk_size=200):
        if acted >= batch:
            break
        if not matches(conditions, rule.match, Facts(ticket)):
            continue
        key = state_key(ticket)
        if already_ran(rule, ticket.pk, key):
            continue
        if _run_once(rule, ticket.pk, key):
            acted += 1
    return acted


@transaction.atomic
def _run_once(rule: Rule, ticket_id: int, key: str) -> bool:
    """Claim (rule, ticket, state) and act, in one transaction; the ticket is read again
    under its lock, and a ticket that changed state or no longer matches is left."""
    ticket = Ticket.objects.select_for_update(of=("self",)).filter(pk=ticket_id).first()
    if ticket is None:
        return False
    ticket = fresh_ticket(ticket_id)
    if state_key(ticket) != key or not matches(
        parse_conditions(rule.conditions), rule.match, Facts(ticket)
    ):
        return False
    try:
        with transaction.atomic():
            RuleRun.objects.create(rule=rule, ticket_id=ticket_id, state_key=key)
    except IntegrityError:  # another worker claimed it first
        return False
    return run_after_schedule(rule, ticket)


@db_periodic_task(crontab(minute="*/5"))
def rules_sweep() -> int:
    return sweep_rules_now()


@HUEY.signal(SIGNAL_EXECUTING)  # type: ignore[attr-defined, untyped-decorator]
def _start_clean(signal: str, task: object, *args: object) -> None:
    """Each task in a worker thread starts without a stale "updated" mark (see
    rules._forget_pending)."""
    forget_pending()
