"""Fair assignment (issue 18): a department's tickets go to its available agents by round
robin or by least load, on creation (`ticket_created`, inside its transaction) and in a
sweep a minute (`assignment_jobs`) for tickets still waiting, tickets whose agent went on
leave and tickets whose agent did not reply in time.

Available: a member of the department, active, not away or on leave, inside their own
working hours (`AgentProfile.calendar`, none: any hour), online when the department asks for
it (chat presence, told by registration), speaking the ticket's language when the department
asks for it, and having the skills of the ticket's skill tags (the department's
`skill_tags` found on the ticket).

Fair: round robin gives the ticket to whoever has waited longest since their last automatic
assignment; least loaded to the fewest open tickets (new, in progress, awaiting customer) plus
active chats times the department's chat weight, ties to whoever has waited longest.

Every change goes through `tickets.actions.assign` with a rule actor whose name is in the
history entry. The department's `DepartmentAssignment` row is locked first, so two tickets
filed at once in one department pick one after the other, the second seeing the first's
choice; a ticket is re-read under its lock, so running the sweep twice changes nothing more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.accounts.models import User
from destek.lib import config_cache
from destek.lib.errors import ActionRefused
from destek.sla.engine import business_minutes_between, is_working_time
from destek.tickets.actions import Actor, assign
from destek.tickets.choices import ACTIVE_STATUSES, ActorKind, AuthorKind, EventKind, TicketStatus
from destek.tickets.clocks import Schedules
from destek.tickets.models import Membership, Message, Ticket, TicketEvent

from .choices import (
    RULE_LEAST_LOADED,
    RULE_NO_REPLY,
    RULE_ON_LEAVE,
    RULE_ROUND_ROBIN,
    AssignmentMode,
)
from .models import AgentProfile, DepartmentAssignment

log = logging.getLogger(__name__)

#: The rule names written in the ticket's history (data `rule`).
RULE_NAMES = {
    AssignmentMode.ROUND_ROBIN: RULE_ROUND_ROBIN,
    AssignmentMode.LEAST_LOADED: RULE_LEAST_LOADED,
}

#: Statuses an unassigned ticket is given an agent in; `ACTIVE_STATUSES` count as load.
WAITING_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN)
SWEEP_BATCH = 500

_NEVER = datetime.min.replace(tzinfo=timezone.get_fixed_timezone(0))

# --- what the floors above tell (chat registers in its `apps.ready`) ---------------------------

ActiveChats = Callable[[Collection[int]], Mapping[int, int]]
Online = Callable[[Collection[int]], Collection[int]]


@dataclass
class _Chat:
    active_chats: ActiveChats | None = None
    online: Online | None = None


_chat = _Chat()


def register_chat(*, active_chats: ActiveChats, online: Online) -> None:
    """Chat tells how many active chats each agent has and who is online now."""
    _chat.active_chats = active_chats
    _chat.online = online


# --- who may take a ticket -------------------------------------------------------------------


def automatic_departments() -> frozenset[int]:
    """Departments that assign by themselves, kept until the configuration changes."""
    return config_cache.cached(
        "automation:assigning_departments",
        lambda: frozenset(
            DepartmentAssignment.objects.exclude(mode=AssignmentMode.MANUAL).values_list(
                "department_id", flat=True
            )
        ),
    )


@dataclass(frozen=True)
class Candidate:
    agent_id: int
    load: int
    waited_since: datetime


def candidates(
    row: DepartmentAssignment,
    ticket: Ticket,
    *,
    now: datetime,
    exclude: Collection[int] = (),
) -> list[Candidate]:
    """The department's agents available for `ticket` now, the fairest first."""
    member_ids = list(
        Membership.objects.filter(
            department_id=row.department_id,
            user__is_active=True,
            user__role__in=[Role.AGENT, Role.ADMIN],
        )
        .exclude(user_id__in=list(exclude))
        .values_list("user_id", flat=True)
    )
    if not member_ids:
        return []
    profiles = {
        p.agent_id: p
        for p in AgentProfile.objects.filter(agent_id__in=member_ids).prefetch_related("skills")
    }
    needed_skills: set[int] = set()
    skill_tag_ids = {tag.pk for tag in row.skill_tags.all()}
    if skill_tag_ids:
        needed_skills = set(ticket.tags.filter(pk__in=skill_tag_ids).values_list("pk", flat=True))
    online = set(_chat.online(member_ids)) if row.require_online and _chat.online else None
    schedules = Schedules()
    chosen: list[int] = []
    for agent_id in member_ids:
        profile = profiles.get(agent_id)
        if profile is not None and profile.is_away(now):
            continue
        if (
            profile is not None
            and profile.calendar_id is not None
            and not is_working_time(schedules.get(profile.calendar_id), now)
        ):
            continue
        if online is not None and agent_id not in online:
            continue
        if row.require_language and (
            profile is None or ticket.language not in (profile.languages or [])
        ):
            continue
        if needed_skills and (
            profile is None or not needed_skills <= {tag.pk for tag in profile.skills.all()}
        ):
            continue
        chosen.append(agent_id)
    if not chosen:
        return []
    loads = _loads(chosen, row) if row.mode == AssignmentMode.LEAST_LOADED else {}
    found = [
        Candidate(
            agent_id=agent_id,
            load=loads.get(agent_id, 0),
            waited_since=_waited_since(profiles.get(agent_id)),
        )
        for agent_id in chosen
    ]
    found.sort(key=lambda c: (c.load, c.waited_since, c.agent_id))
    return found


def _waited_since(profile: AgentProfile | None) -> datetime:
    if profile is None or profile.last_assigned_at is None:
        return _NEVER
    return profile.last_assigned_at


def _loads(agent_ids: list[int], row: DepartmentAssignment) -> dict[int, int]:
    """Open tickets of each agent (in every department) plus active chats times the weight."""
    loads: dict[int, int] = dict.fromkeys(agent_ids, 0)
    counted = (
        Ticket.objects.filter(assignee_id__in=agent_ids, status__in=ACTIVE_STATUSES)
        .values_list("assignee_id")
        .order_by()
    )
    for agent_id, count in counted.annotate(n=Count("id")).values_list("assignee_id", "n"):
        loads[agent_id] += count
    if _chat.active_chats is not None:
        for agent_id, chats in _chat.active_chats(agent_ids).items():
            if agent_id in loads:
                loads[agent_id] += chats * row.chat_weight
    return loads


# --- assigning -------------------------------------------------------------------------------


def _locked_row(department_id: int) -> DepartmentAssignment | None:
    """The department's settings, locked: the turn of one ticket at a time."""
    row = (
        DepartmentAssignment.objects.select_for_update().filter(department_id=department_id).first()
    )
    if row is None or not row.automatic:
        return None
    return row


def _give(
    ticket: Ticket,
    row: DepartmentAssignment,
    *,
    now: datetime,
    rule: str,
    exclude: Collection[int] = (),
    release: bool = False,
) -> User | None:
    """Give `ticket` to the fairest available agent; with `release`, to nobody when none is."""
    for candidate in candidates(row, ticket, now=now, exclude=exclude):
        # The chosen agent's profile is locked (after the department's row and the ticket:
        # the one order of locks) and read again: one who went away since the candidates
        # were read is passed over, so no ticket lands on an agent just handing theirs over.
        profile, _made = AgentProfile.objects.select_for_update().get_or_create(
            agent_id=candidate.agent_id
        )
        if profile.is_away(now):
            continue
        agent = User.objects.get(pk=candidate.agent_id)
        assign(ticket, actor=Actor(ActorKind.RULE, rule=rule), assignee=agent)
        profile.last_assigned_at = _stamp(now)
        profile.save(update_fields=["last_assigned_at"])
        return agent
    if release and ticket.assignee_id is not None:
        assign(ticket, actor=Actor(ActorKind.RULE, rule=rule), assignee=None)
    return None


def _stamp(now: datetime) -> datetime:
    """When this assignment happened, later than every one before it: the tickets of one
    sweep share `now`, and equal stamps would tie every agent again (round robin would then
    start over from the same agent)."""
    latest: datetime | None = AgentProfile.objects.aggregate(latest=Max("last_assigned_at"))[
        "latest"
    ]
    if latest is not None and latest >= now:
        return latest + timedelta(microseconds=1)
    return now


def _lock_ticket(ticket_id: int) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).get(pk=ticket_id)


@transaction.atomic
def assign_waiting(ticket_id: int, *, now: datetime | None = None) -> User | None:
    """Give an unassigned new or open ticket of an assigning department an agent."""
    now = now or timezone.now()
    department_id = Ticket.objects.values_list("department_id", flat=True).get(pk=ticket_id)
    row = _locked_row(department_id)
    if row is None:
        return None
    ticket = _lock_ticket(ticket_id)
    if (
        ticket.department_id != department_id
        or ticket.assignee_id is not None
        or ticket.status not in WAITING_STATUSES
    ):
        return None
    return _give(ticket, row, now=now, rule=RULE_NAMES[AssignmentMode(row.mode)])


@transaction.atomic
def reassign_from_away(ticket_id: int, *, now: datetime | None = None) -> User | None:
    """A ticket whose agent is away goes to a colleague, or back to the pool."""
    now = now or timezone.now()
    department_id = Ticket.objects.values_list("department_id", flat=True).get(pk=ticket_id)
    row = _locked_row(department_id)
    if row is None:
        return None
    ticket = _lock_ticket(ticket_id)
    if ticket.assignee_id is None or ticket.status not in ACTIVE_STATUSES:
        return None
    profile = AgentProfile.objects.filter(agent_id=ticket.assignee_id).first()
    if profile is None or not profile.is_away(now):
        return None
    return _give(
        ticket, row, now=now, rule=RULE_ON_LEAVE, exclude=[ticket.assignee_id], release=True
    )


@transaction.atomic
def reassign_unanswered(ticket_id: int, *, now: datetime | None = None) -> User | None:
    """A ticket whose agent has not replied within the department's time goes to another
    available agent (it stays when there is none)."""
    now = now or timezone.now()
    department_id = Ticket.objects.values_list("department_id", flat=True).get(pk=ticket_id)
    row = _locked_row(department_id)
    if row is None or not row.reassign_after_minutes:
        return None
    ticket = _lock_ticket(ticket_id)
    if not _unanswered_too_long(ticket, row, now):
        return None
    assert ticket.assignee_id is not None
    return _give(ticket, row, now=now, rule=RULE_NO_REPLY, exclude=[ticket.assignee_id])


@transaction.atomic
def hand_over(
    ticket_id: int, *, rule: str, from_agent_id: int | None, now: datetime | None = None
) -> User | None:
    """A rule's "hand over to another available agent". In a department that assigns by
    round robin or least load, the ticket goes to the fairest available colleague of
    `from_agent_id` (it stays with them when nobody else is available); in a department whose
    agents take tickets by hand, it goes back to the department's unassigned queue. A ticket
    whose agent or department changed since the rule read it, or that is no longer active, is
    left: run twice, it hands over once."""
    now = now or timezone.now()
    department_id = Ticket.objects.values_list("department_id", flat=True).get(pk=ticket_id)
    row = _locked_row(department_id)
    ticket = _lock_ticket(ticket_id)
    if (
        ticket.department_id != department_id
        or ticket.assignee_id != from_agent_id
        or ticket.status not in ACTIVE_STATUSES
    ):
        # Moved to another department since its id was read: the row locked is not its
        # department's (whose agents and mode would be the wrong ones), and locking the right
        # one now, after the ticket, would break the lock order. Left as it is.
        return None
    if row is None:
        if ticket.assignee_id is not None:
            assign(ticket, actor=Actor(ActorKind.RULE, rule=rule), assignee=None)
        return None
    exclude = [from_agent_id] if from_agent_id is not None else []
    return _give(ticket, row, now=now, rule=rule, exclude=exclude)


def hand_over_after_commit(ticket: Ticket, *, rule: str) -> None:
    """Hand `ticket` over once the caller's transaction commits, in its own transaction with
    the locks in the sweep's order (department row, ticket, agent): a rule holds the ticket's
    lock already, and taking the department's row after it could deadlock with the sweep. A
    refusal or a lost lock is logged; the ticket stays with its agent."""
    ticket_id, from_agent_id = ticket.pk, ticket.assignee_id

    def run() -> None:
        try:
            hand_over(ticket_id, rule=rule, from_agent_id=from_agent_id)
        except (ActionRefused, DatabaseError):
            log.warning("rule %r could not hand over ticket %s", rule, ticket_id, exc_info=True)

    transaction.on_commit(run)


def _assigned_at(ticket: Ticket) -> datetime | None:
    return (
        TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNEE)
        .exclude(to_value="")
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )


def _unanswered_too_long(ticket: Ticket, row: DepartmentAssignment, now: datetime) -> bool:
    if ticket.assignee_id is None or ticket.status not in WAITING_STATUSES:
        return False
    since = _assigned_at(ticket)
    if since is None or row.reassign_after_minutes is None:
        return False
    replied = Message.objects.filter(
        ticket=ticket, author_kind=AuthorKind.AGENT, internal=False, created_at__gte=since
    ).exists()
    if replied:
        return False
    if row.calendar_id is None:
        minutes = (now - since).total_seconds() / 60
    else:
        minutes = business_minutes_between(Schedules().get(row.calendar_id), since, now)
    return minutes >= row.reassign_after_minutes


# --- where it runs ---------------------------------------------------------------------------


def ticket_created(sender: Any, *, ticket: Ticket, **kwargs: Any) -> None:
    """A new ticket of an assigning department gets its agent in its own transaction."""
    if ticket.assignee_id is not None or ticket.department_id not in automatic_departments():
        return
    try:
        with transaction.atomic():
            assign_waiting(ticket.pk)
    except (ActionRefused, DatabaseError):
        # The ticket is filed all the same (the savepoint took back only the assignment: a
        # lock that timed out, a deadlock ...); the sweep tries again within a minute.
        log.warning("assignment refused for ticket %s", ticket.pk, exc_info=True)


def _each(ticket_ids: Iterable[int], step: Callable[..., User | None], now: datetime) -> int:
    changed = 0
    for ticket_id in ticket_ids:
        try:
            if step(ticket_id, now=now) is not None:
                changed += 1
        except (ActionRefused, DatabaseError):
            # Each ticket is its own transaction (a savepoint inside one): a lock that timed
            # out on one ticket leaves the others to go on; the sweep tries it again.
            log.warning("assignment refused for ticket %s", ticket_id, exc_info=True)
    return changed


def sweep(now: datetime | None = None) -> int:
    """Agents on leave hand their tickets on; unanswered tickets move on; waiting tickets get
    an agent, VIP first, then the higher priority, then the oldest. Safe to run twice."""
    now = now or timezone.now()
    departments = list(
        DepartmentAssignment.objects.exclude(mode=AssignmentMode.MANUAL).values_list(
            "department_id", "reassign_after_minutes"
        )
    )
    if not departments:
        return 0
    department_ids = [department_id for department_id, _minutes in departments]
    away = AgentProfile.objects.filter(away=True).filter(
        Q(away_until__isnull=True) | Q(away_until__gt=now)
    )
    changed = _each(
        Ticket.objects.filter(
            department_id__in=department_ids,
            status__in=ACTIVE_STATUSES,
            assignee_id__in=away.values("agent_id"),
        )
        .order_by("id")
        .values_list("id", flat=True)[:SWEEP_BATCH],
        reassign_from_away,
        now,
    )
    for department_id, minutes in departments:
        if not minutes:
            continue
        last_assigned = Subquery(
            TicketEvent.objects.filter(ticket=OuterRef("pk"), kind=EventKind.ASSIGNEE)
            .exclude(to_value="")
            .order_by("-created_at", "-id")
            .values("created_at")[:1]
        )
        # Business minutes are never more than wall minutes: only tickets assigned that long
        # ago can be due; each is checked exactly under its lock.
        due = (
            Ticket.objects.filter(
                department_id=department_id,
                status__in=WAITING_STATUSES,
                assignee__isnull=False,
            )
            .annotate(assigned_at=last_assigned)
            .filter(assigned_at__lte=now - timedelta(minutes=minutes))
            .exclude(
                Exists(
                    Message.objects.filter(
                        ticket=OuterRef("pk"),
                        author_kind=AuthorKind.AGENT,
                        internal=False,
                        created_at__gte=OuterRef("assigned_at"),
                    )
                )
            )
            .order_by("id")
            .values_list("id", flat=True)[:SWEEP_BATCH]
        )
        changed += _each(list(due), reassign_unanswered, now)
    waiting = (
        Ticket.objects.filter(
            department_id__in=department_ids,
            status__in=WAITING_STATUSES,
            assignee__isnull=True,
        )
        .order_by("-customer_vip", "-priority_rank", "created_at", "id")
        .values_list("id", flat=True)[:SWEEP_BATCH]
    )
    changed += _each(list(waiting), assign_waiting, now)
    return changed


# --- leave -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Away:
    """An agent's away flag as saved, and how many of their tickets went to colleagues."""

    profile: AgentProfile
    handed_over: int = 0


def set_away(
    agent: User, *, away: bool, until: datetime | None = None, now: datetime | None = None
) -> Away:
    """An agent goes away (or on leave until `until`) or comes back. Going away hands their
    open tickets of assigning departments to colleagues, or back to the pool.

    The away flag is saved and committed first, the profile's lock released; only then are
    the tickets handed over, each in its own transaction taking the locks in the sweep's
    order (department row, ticket, agent profile). Holding the profile while handing over
    would deadlock with a sweep that holds the department's row and picks this agent. Once
    the flag is committed the sweep passes the agent over (`_give` reads it under lock), so
    no ticket is given to them while theirs are handed on. Called inside a transaction of
    the caller's, the profile's lock is the caller's to release: call it outside one."""
    now = now or timezone.now()
    if until is not None and until <= now:
        raise ActionRefused(
            "away_until_past",
            _("The return must be in the future."),
            field="away_until",
        )
    with transaction.atomic():
        profile, _made = AgentProfile.objects.select_for_update().get_or_create(agent=agent)
        profile.away = away
        profile.away_until = until if away else None
        profile.save(update_fields=["away", "away_until"])
    if away:
        return Away(profile, release_tickets_of(agent, now=now))
    return Away(profile)


def release_tickets_of(agent: User, *, now: datetime | None = None) -> int:
    """Hand the agent's open tickets of assigning departments on, one transaction each
    (call it after the agent's away flag is committed, holding no lock)."""
    now = now or timezone.now()
    ids = list(
        Ticket.objects.filter(
            assignee=agent,
            status__in=ACTIVE_STATUSES,
            department_id__in=list(automatic_departments()),
        )
        .order_by("-customer_vip", "-priority_rank", "created_at", "id")
        .values_list("id", flat=True)
    )
    return _each(ids, reassign_from_away, now)


def release_tickets_after_commit(agent: User) -> None:
    """For a caller inside a transaction that saved the agent's away flag (the admin's
    save): the tickets are handed over once it commits, holding no lock of the caller's;
    at once when there is no transaction."""
    agent_id = agent.pk
    transaction.on_commit(lambda: release_tickets_of(User.objects.get(pk=agent_id)))
