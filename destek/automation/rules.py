"""Rules at work: event rules inside the change's transaction, a rule's actions through the
ticket actions (as the rule), and the dry run.

Loop guard. A change made by a rule is itself a change: after the rules that matched have
acted, the "updated" rules are evaluated again, at most `MAX_DEPTH` times per original
change. Within one chain a rule acts at most once: one that would act again on the changes
of its own chain (a ping-pong pair) is skipped and logged. The chain lives in a context
variable, so what a rule's actions set off inside the tickets actions is only noted, and
evaluated when the rule is done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.signals import request_started
from django.db import transaction
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.signals import post_save
from django.utils import translation
from django.utils.translation import gettext as _

from destek.accounts.choices import Role
from destek.accounts.models import User, normalize_email
from destek.automation import assignment, webhooks
from destek.automation.conditions import (
    Action,
    Facts,
    RuleInvalid,
    check_schedule_only,
    matches,
    parse_actions,
    parse_conditions,
)
from destek.automation.models import Rule, RuleKind, RuleMatch, RuleRun, RuleText
from destek.automation.selectors import in_language, render_text
from destek.lib import config_cache
from destek.lib.errors import ActionRefused
from destek.notify.actions import AutoSubmitted, queue_mail, queue_sms
from destek.notify.threads import Thread
from destek.tickets import actions, config, notifications
from destek.tickets.choices import (
    ACTIVE_STATUSES,
    ActorKind,
    AuthorKind,
    EventKind,
    Priority,
    TicketStatus,
    priority_rank,
)
from destek.tickets.models import Department, Message, Ticket, TicketEvent
from destek.tickets.signals import message_added, ticket_created, ticket_event

log = logging.getLogger(__name__)

#: How many times the changes rules make are evaluated again, per original change.
MAX_DEPTH = 3

#: History entries that are a change of the ticket ("updated" rules look at them).
UPDATE_KINDS = frozenset(
    {
        EventKind.TAGS,
        EventKind.STATUS,
        EventKind.PRIORITY,
        EventKind.DEPARTMENT,
        EventKind.ASSIGNEE,
        EventKind.TAGS,
        EventKind.REOPENED,
    }
)


@dataclass
class Chain:
    """One original change and what rules did because of it."""

    fired: set[int] = field(default_factory=set)
    #: Rules with "stop" that acted: they keep the rules after them away in every round.
    stopping: set[int] = field(default_factory=set)
    changed: bool = False
    stopped: list[str] = field(default_factory=list)


_chain: ContextVar[Chain | None] = ContextVar("automation_rule_chain", default=None)


def rules_of(kind: str) -> list[Rule]:
    """The enabled rules of `kind`, in order, with their mail texts: kept per process until
    a rule changes (`lib.config_cache`), so a change with no rules to run costs no query."""
    return config_cache.cached("automation:rules", _load_rules).get(kind, [])


def _load_rules() -> dict[str, list[Rule]]:
    """A stored rule that does not parse (written past the admin's checks) is left out and
    logged: one such rule must not refuse every change of every ticket. So is a rule on a
    change with an action only schedule rules take: a hand-over would set it off again, each
    hand-over's commit starting the next."""
    by_kind: dict[str, list[Rule]] = {}
    for rule in Rule.objects.filter(enabled=True).prefetch_related("texts"):
        try:
            parse_conditions(rule.conditions)
            parsed = parse_actions(rule.actions)
            if rule.kind != RuleKind.SCHEDULE:
                check_schedule_only(parsed)
        except RuleInvalid as invalid:
            log.warning("rule %r left out: %s", rule.name, invalid)
            continue
        by_kind.setdefault(rule.kind, []).append(rule)
    return by_kind


def fresh_ticket(ticket_id: int) -> Ticket:
    return Ticket.objects.select_related(
        "department", "customer__organisation", "assignee", "sla_policy"
    ).get(pk=ticket_id)


def run_event_rules(ticket_id: int, kind: str) -> Chain | None:
    """Apply the enabled rules of `kind` that match, in order, then the "updated" rules on
    what they changed, up to `MAX_DEPTH` rounds. Inside a running chain this only notes that
    something changed. Returns the chain (None when only noted)."""
    running = _chain.get()
    if running is not None:
        running.changed = True
        return None
    chain = Chain()
    token = _chain.set(chain)
    try:
        depth = 0
        while True:
            chain.changed = False
            _one_round(ticket_id, kind, chain)
            if not chain.changed:
                break
            depth += 1
            kind = RuleKind.UPDATED
            if depth > MAX_DEPTH:
                log.warning("rules on ticket %s stopped after %s rounds", ticket_id, MAX_DEPTH)
                chain.stopped.append(f"depth:{depth}")
                break
    finally:
        _chain.reset(token)
    return chain


def _one_round(ticket_id: int, kind: str, chain: Chain) -> None:
    # The ticket (and what conditions read of it) is read once, and again only after a rule
    # acted on it: rules that do not match cost no statement each.
    ticket: Ticket | None = None
    facts: Facts | None = None
    for rule in rules_of(kind):
        if ticket is None or facts is None:
            ticket = fresh_ticket(ticket_id)
            facts = Facts(ticket)
        if not _matches(rule, ticket, facts):
            continue
        if rule.pk in chain.fired:
            # It acted earlier in this chain and still matches. Acting again on what followed
            # would be a loop only when it would change the ticket again (a ping-pong pair);
            # one whose changes still hold ("priority high → tag x") is simply done.
            if _would_change(rule, ticket):
                log.warning("rule %r stopped on ticket %s: it would loop", rule.name, ticket_id)
                chain.stopped.append(rule.name)
            if rule.pk in chain.stopping:
                break  # its changes stand: the rules after it stay stopped in this chain
            continue
        chain.fired.add(rule.pk)
        acted = apply_rule(rule, ticket)
        ticket = facts = None  # changed (or a refused change rolled back): read it again
        if acted and rule.stop:
            chain.stopping.add(rule.pk)
            break  # "stop after this rule": later rules of this kind are not run


#: Actions that change the ticket itself (and so set off "updated" rules). Notes, mail, SMS
#: and calls out change nothing a rule reads: repeating them is not a loop.
_TICKET_CHANGES = frozenset(
    {"set_status", "set_priority", "set_department", "add_tags", "remove_tags", "unassign"}
)


def _would_change(rule: Rule, ticket: Ticket) -> bool:
    """Whether applying the rule again would change the ticket (the dry run's reading)."""
    for action in parse_actions(rule.actions):
        if action.type == "assign":
            if ticket.assignee is None or ticket.assignee.email.lower() != action.value.lower():
                return True
        elif action.type in _TICKET_CHANGES and describe(action, ticket) is not None:
            return True
    return False


def _matches(rule: Rule, ticket: Ticket, facts: Facts | None = None) -> bool:
    return matches(parse_conditions(rule.conditions), rule.match, facts or Facts(ticket))


def apply_rule(rule: Rule, ticket: Ticket) -> bool:
    """Make the rule's changes through the ticket actions, as the rule, all or nothing: a
    change the ticket refuses (a status it cannot move to, an agent not of its department)
    undoes this rule's changes only, and is logged. True when it acted."""
    actor = actions.Actor(ActorKind.RULE, rule=rule.name)
    try:
        with transaction.atomic():
            for action in parse_actions(rule.actions):
                ticket = _do(action, rule, ticket, actor)
    except ActionRefused as refused:
        log.warning("rule %r refused on ticket %s: %s", rule.name, ticket.pk, refused.detail)
        return False
    return True


def _do(action: Action, rule: Rule, ticket: Ticket, actor: actions.Actor) -> Ticket:
    kind = action.type
    if kind == "set_status":
        return actions.change_status(
            ticket, actor=actor, status=action.value, close_reason=action.close_reason
        )
    if kind == "set_priority":
        return actions.change_priority(ticket, actor=actor, priority=action.value)
    if kind == "set_department":
        return actions.change_department(ticket, actor=actor, department=_department(action))
    if kind == "raise_priority":
        if priority_rank(action.value) <= priority_rank(ticket.priority):
            return ticket  # a floor: never lowers
        return actions.change_priority(ticket, actor=actor, priority=action.value)
    if kind == "add_tags":
        return actions.change_tags(ticket, actor=actor, add=action.values)
    if kind == "remove_tags":
        return actions.change_tags(ticket, actor=actor, remove=action.values)
    if kind == "assign":
        return actions.assign(ticket, actor=actor, assignee=_agent(action))
    if kind == "unassign":
        return actions.assign(ticket, actor=actor, assignee=None)
    if kind == "reassign":
        assignment.hand_over_after_commit(ticket, rule=rule.name)
    elif kind == "note":
        actions.add_system_note(ticket, body=action.value, rule=rule.name)
    elif kind == "mail_customer":
        _mail_customer(rule, ticket)
    elif kind == "mail_department":
        _mail_department(rule, ticket, _department(action))
    elif kind == "sms_customer":
        _sms_customer(rule, ticket)
    elif kind == "call_webhook" and not webhooks.call_for_rule(rule.name, ticket, action.target):
        log.warning("rule %r: webhook target %s is not active", rule.name, action.target)
    return ticket


def _department(action: Action) -> Department:
    department = Department.objects.filter(slug=action.value).first()
    if department is None:
        raise ActionRefused(
            "invalid_department",
            _("The department “{slug}” does not exist.").format(slug=action.value),
        )
    return department


def _agent(action: Action) -> User:
    agent = User.objects.filter(
        email=normalize_email(action.value), role__in=[Role.AGENT, Role.ADMIN]
    ).first()
    if agent is None:
        raise ActionRefused(
            "invalid_assignee", _("No agent has the address {email}.").format(email=action.value)
        )
    return agent


# --- mail -----------------------------------------------------------------------------------


def text_for(rule: Rule, language: str) -> RuleText | None:
    """The rule's mail text in `language`, else the company's, else the one for any."""
    return in_language(rule.texts.all(), language)


def _mail(
    rule: Rule, ticket: Ticket, *, to: str, language: str, desk: bool = False, **where: Any
) -> None:
    """The rule's text in the reader's language, with the way to the ticket: the portal's
    page for the customer, the desk's for the team (`desk`)."""
    text = text_for(rule, language)
    if text is None:
        raise ActionRefused(
            "rule_text_missing", _("The rule “{name}” has no mail text.").format(name=rule.name)
        )
    queue_mail(
        to=to,
        template="automation_rule",
        context={
            "subject": render_text(text.subject, ticket=ticket, agent=ticket.assignee),
            "body": render_text(text.body, ticket=ticket, agent=ticket.assignee),
            "number": f"#{ticket.number}",
            "link": notifications.desk_link(ticket) if desk else notifications.portal_link(ticket),
            "desk": desk,
        },
        language=text.language or language,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.GENERATED,
        **where,
    )


def _mail_customer(rule: Rule, ticket: Ticket) -> None:
    address = notifications.customer_address(ticket)
    if address is None:  # the customer switched this ticket's mail off
        return
    customer = ticket.customer
    _mail(
        rule,
        ticket,
        to=address,
        language=ticket.language or customer.language,
        time_zone=customer.time_zone,
        calendar=customer.calendar,
    )


def _mail_department(rule: Rule, ticket: Ticket, department: Department) -> None:
    for agent in department.members.filter(is_active=True):
        _mail(
            rule,
            ticket,
            to=agent.email,
            language=agent.language,
            desk=True,
            time_zone=agent.time_zone,
        )


def _sms_customer(rule: Rule, ticket: Ticket) -> None:
    customer = ticket.customer
    if not (customer.phone and customer.phone_verified_at):
        return
    text = text_for(rule, ticket.language or customer.language)
    if text is None:
        return
    queue_sms(
        to=customer.phone,
        template="automation_rule",
        context={"body": render_text(text.body, ticket=ticket, agent=ticket.assignee)},
        language=ticket.language or customer.language,
        thread=Thread.of(ticket),
    )


# --- the events -----------------------------------------------------------------------------


def _on_created(sender: Any, ticket: Ticket, **kwargs: Any) -> None:
    run_event_rules(ticket.pk, RuleKind.CREATED)


#: Tickets with a change whose history entry is written and whose row is not saved yet.
_pending: ContextVar[frozenset[int]] = ContextVar("automation_rules_pending", default=frozenset())


def _on_event(sender: Any, ticket: Ticket, event: TicketEvent, **kwargs: Any) -> None:
    """The tickets actions write a change's history entry before they save the ticket, so
    "updated" rules wait for that save (`_on_saved`): evaluated now they would read the old
    row, and the action's save would then undo what they changed. Tags are stored before
    their entry and no save follows, so their rules run at once."""
    if event.kind == EventKind.TAGS:
        run_event_rules(ticket.pk, RuleKind.UPDATED)
    elif event.kind in UPDATE_KINDS:
        _pending.set(_pending.get() | {ticket.pk})


def _forget_pending(sender: Any, **kwargs: Any) -> None:
    """An action that wrote its history entry and was then refused never saves the ticket:
    its transaction rolled back, but the mark would stay in this thread and fire "updated"
    rules on an unrelated later save. Each request (and each worker task) starts clean."""
    forget_pending()


def forget_pending() -> None:
    _pending.set(frozenset())


def _on_saved(sender: Any, instance: Ticket, created: bool, **kwargs: Any) -> None:
    pending = _pending.get()
    if instance.pk in pending:
        _pending.set(pending - {instance.pk})
        run_event_rules(instance.pk, RuleKind.UPDATED)


def _on_message(sender: Any, ticket: Ticket, message: Message, **kwargs: Any) -> None:
    if message.internal:
        return
    if message.author_kind == AuthorKind.CUSTOMER:
        if message.created_at == ticket.created_at:
            return  # the ticket's first message: "created" rules answer it
        run_event_rules(ticket.pk, RuleKind.CUSTOMER_REPLIED)
    elif message.author_kind == AuthorKind.AGENT:
        run_event_rules(ticket.pk, RuleKind.AGENT_REPLIED)


def connect() -> None:
    """Called from apps.ready, after the webhooks' receivers (the order receivers run in)."""
    ticket_created.connect(_on_created, dispatch_uid="automation.rules.created")
    ticket_event.connect(_on_event, dispatch_uid="automation.rules.event")
    post_save.connect(_on_saved, sender=Ticket, dispatch_uid="automation.rules.saved")
    message_added.connect(_on_message, dispatch_uid="automation.rules.message")
    request_started.connect(_forget_pending, dispatch_uid="automation.rules.request")


def run_after_schedule(rule: Rule, ticket: Ticket) -> bool:
    """Apply a schedule rule; its changes are an original change the "updated" rules see."""
    chain = Chain(fired={rule.pk})
    token = _chain.set(chain)
    try:
        acted = apply_rule(rule, ticket)
    finally:
        _chain.reset(token)
    if acted and chain.changed:
        run_event_rules(ticket.pk, RuleKind.UPDATED)
    return acted


@contextmanager
def no_rules() -> Iterator[None]:
    """Changes made inside run no event rules (a chain that is never evaluated)."""
    token = _chain.set(Chain())
    try:
        yield
    finally:
        _chain.reset(token)


# --- the dry run ----------------------------------------------------------------------------

DRY_RUN_LIMIT = 50


#: Conditions the database checks first when every condition must hold (the rest are
#: checked on each ticket it returns): a sweep reads only the tickets that can match.
NARROWED = {
    "status": "status__in",
    "priority": "priority__in",
    "channel": "channel__in",
    "language": "language__in",
    "department": "department__slug__in",
}


def open_tickets(rule: Rule | None = None) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True)
    if rule is not None and rule.match == RuleMatch.ALL:
        for condition in parse_conditions(rule.conditions):
            if condition.op == "is" and condition.field in NARROWED:
                tickets = tickets.filter(**{NARROWED[condition.field]: condition.values})
    return (
        tickets.select_related("department", "customer__organisation", "assignee", "sla_policy")
        .prefetch_related("tags")
        .order_by("-id")
    )


def describe(action: Action, ticket: Ticket) -> str | None:
    """What the action would change on `ticket`, in the reader's words; None for nothing."""
    kind = action.type
    if kind == "set_status":
        if ticket.status == action.value:
            return None
        return _("Status: {old} → {new}").format(
            old=TicketStatus(ticket.status).label, new=TicketStatus(action.value).label
        )
    if kind == "set_priority":
        if ticket.priority == action.value:
            return None
        return _("Priority: {old} → {new}").format(
            old=Priority(ticket.priority).label, new=Priority(action.value).label
        )
    if kind == "raise_priority":
        if priority_rank(action.value) <= priority_rank(ticket.priority):
            return None
        return _("Priority: {old} → {new}").format(
            old=Priority(ticket.priority).label, new=Priority(action.value).label
        )
    if kind == "set_department":
        if ticket.department.slug == action.value:
            return None
        return _("Department → {slug}").format(slug=_department_name(action.value))
    current = {tag.name for tag in ticket.tags.all()}
    if kind == "add_tags":
        added = [name for name in action.values if name not in current]
        return _("Add tags: {tags}").format(tags=", ".join(added)) if added else None
    if kind == "remove_tags":
        removed = [name for name in action.values if name in current]
        return _("Remove tags: {tags}").format(tags=", ".join(removed)) if removed else None
    if kind == "assign":
        return _("Assign to {email}").format(email=action.value)
    if kind == "unassign":
        return _("Unassign") if ticket.assignee_id else None
    if kind == "reassign":
        if ticket.department_id not in assignment.automatic_departments():
            # Agents take this department's tickets by hand: back to its queue, and an
            # unassigned ticket stays as it is (assignment.hand_over).
            return _("Unassign") if ticket.assignee_id else None
        return _("Hand over to another available agent")
    if kind == "note":
        return _("Internal note: {text}").format(text=action.value[:80])
    if kind == "mail_customer":
        return _("Mail the customer")
    if kind == "mail_department":
        return _("Mail the department {slug}").format(slug=_department_name(action.value))
    if kind == "call_webhook":
        return _("Call the webhook target {id}").format(id=action.target)
    return _("SMS the customer")


def _department_name(slug: str) -> str:
    """A department as the reader knows it (its name in their language), else its slug."""
    department = config.department_by_slug(slug)
    return department.display_name() if department is not None else slug


def _with_language(rule: Rule, action: Action, ticket: Ticket, change: str) -> str:
    """A mail or SMS in the dry run says which of the rule's texts the customer would get,
    or that none would go (the rule has no text for them)."""
    if action.type not in ("mail_customer", "sms_customer"):
        return change
    language = ticket.language or ticket.customer.language
    text = text_for(rule, language)
    if text is None:
        return _("{change}: not sent, the rule has no text for it").format(change=change)
    if not text.language:
        return _("{change}, the text for any language").format(change=change)
    return _("{change}, in {language}").format(
        change=change, language=translation.get_language_info(text.language)["name_translated"]
    )


def state_key(ticket: Ticket) -> str:
    """A schedule rule acts once per ticket per this: its status and when it entered it."""
    return f"{ticket.status}@{ticket.status_changed_at.isoformat()}"


def already_ran(rule: Rule, ticket_id: int, key: str) -> bool:
    return RuleRun.objects.filter(rule=rule, ticket_id=ticket_id, state_key=key).exists()


@dataclass
class DryRunRow:
    ticket: Ticket
    changes: list[str]


def dry_run(rule: Rule, *, limit: int = DRY_RUN_LIMIT) -> list[DryRunRow]:
    """Which open tickets the rule would touch now, and how: reads only, writes nothing.
    A schedule rule leaves out the tickets it already acted on in their present state."""
    conditions = parse_conditions(rule.conditions)
    parsed = parse_actions(rule.actions)
    prefetch_related_objects([rule], "texts")
    rows: list[DryRunRow] = []
    with translation.override(translation.get_language()):
        for ticket in open_tickets(rule).iterator(chunk_size=200):
            if not matches(conditions, rule.match, Facts(ticket)):
                continue
            if rule.kind == RuleKind.SCHEDULE and already_ran(rule, ticket.pk, state_key(ticket)):
                continue
            changes = [
                _with_language(rule, action, ticket, text)
                for action in parsed
                if (text := describe(action, ticket))
            ]
            if changes:
                rows.append(DryRunRow(ticket, changes))
            if len(rows) >= limit:
                break
    return rows
