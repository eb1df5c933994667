"""Tickets and incidents: agents link tickets to an incident (and unlink them), the ticket
page suggests the incident a ticket was filed during, and once the incident is resolved one
action answers every linked ticket still open, in its customer's language, and resolves it.

Tickets come through the tickets door (`access_ticket`) before they reach these actions;
each link and unlink is written to the ticket's history; each answer is the tickets' own
reply action, so it is delivered (mail, portal, messenger) like any agent's reply."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from destek.accounts.models import User
from destek.announcements.access import require_manager
from destek.announcements.actions import BODY_MAX, TextInput, texts_of
from destek.announcements.choices import IncidentState
from destek.announcements.models import Incident, IncidentTicket, IncidentUpdate, ServiceUser
from destek.announcements.texts import pick
from destek.lib.errors import ActionRefused
from destek.tickets import actions as ticket_actions
from destek.tickets.access import can_work
from destek.tickets.actions import Actor
from destek.tickets.choices import Channel, EventKind, TicketStatus
from destek.tickets.models import Ticket, TicketEvent

log = logging.getLogger(__name__)

#: How many incidents the ticket page's box offers at most (open ones, newest first).
BOX_MAX = 20
#: How long a resolved incident stays on the desk's list.
RECENT_DAYS = 30


def access_incident(user: User, incident_id: int | str) -> Incident:
    """The incident `incident_id` for an agent (incidents are public; their linked tickets
    are not); raises Incident.DoesNotExist for anyone else or an unknown id."""
    if not user.is_agent:
        raise Incident.DoesNotExist
    try:
        return Incident.objects.get(pk=int(incident_id))
    except (TypeError, ValueError):
        raise Incident.DoesNotExist from None


def _require_agent(user: User) -> None:
    if not user.is_active or not user.is_agent:
        raise ActionRefused("agents_only", _("Only agents link tickets to incidents."), status=403)


def _label(incident: Incident) -> str:
    """How the ticket's history names the incident: its number and title."""
    return f"#{incident.pk} {incident}"[:250]


def _history(ticket: Ticket, actor: User, kind: str, incident: Incident) -> None:
    linked = kind == EventKind.INCIDENT_LINKED
    TicketEvent.objects.create(
        ticket=ticket,
        kind=kind,
        actor_kind=Actor.of(actor).kind,
        actor=actor,
        from_value="" if linked else _label(incident),
        to_value=_label(incident) if linked else "",
        public=False,
        data={"incident": incident.pk},
    )


@transaction.atomic
def link_tickets(actor: User, incident: Incident, tickets: Sequence[Ticket]) -> list[Ticket]:
    """Link `tickets` (each one `actor` may see) to `incident`; the ones linked already stay
    as they are. Returns the tickets newly linked, each with a line in its history."""
    _require_agent(actor)
    wanted = {t.pk: t for t in tickets}
    already = set(
        IncidentTicket.objects.filter(incident=incident, ticket_id__in=wanted).values_list(
            "ticket_id", flat=True
        )
    )
    added = [t for pk, t in wanted.items() if pk not in already]
    now = timezone.now()
    for ticket in added:
        IncidentTicket.objects.create(
            incident=incident, ticket=ticket, linked_by=actor, linked_at=now
        )
        _history(ticket, actor, EventKind.INCIDENT_LINKED, incident)
    return added


@transaction.atomic
def unlink_ticket(actor: User, incident: Incident, ticket: Ticket) -> bool:
    """Take `ticket` off `incident`; False when it was not linked."""
    _require_agent(actor)
    removed, _rows = IncidentTicket.objects.filter(incident=incident, ticket=ticket).delete()
    if not removed:
        return False
    _history(ticket, actor, EventKind.INCIDENT_UNLINKED, incident)
    return True


# --- what the ticket page shows ---------------------------------------------------------------


def ticket_incidents(ticket: Ticket) -> list[Incident]:
    """In one statement, the incidents the ticket page's box names: those linked to the
    ticket (`linked`), the open ones an agent may link it to, and those it was filed during
    (`suggested`, unless linked): open when it was filed, and touching a service or an area
    its customer or their organisation uses (an incident limited to no area is in every
    area), or any such incident when they use nothing recorded."""
    customer = ticket.customer
    who = Q(user_id=customer.pk)
    if customer.organisation_id:
        who |= Q(organisation_id=customer.organisation_id)
    uses = ServiceUser.objects.filter(who)
    linked = Exists(IncidentTicket.objects.filter(incident=OuterRef("pk"), ticket_id=ticket.pk))
    touches = Exists(
        Incident.services.through.objects.filter(
            incident=OuterRef("pk"),
            service_id__in=uses.filter(service__isnull=False).values("service_id"),
        )
    ) | Exists(
        Incident.areas.through.objects.filter(
            incident=OuterRef("pk"),
            area_id__in=uses.filter(area__isnull=False).values("area_id"),
        )
    )
    # Using an area means using everything in it: an incident limited to no area is in
    # every area (the banner reads it the same way).
    touches |= Exists(uses.filter(area__isnull=False)) & ~Exists(
        Incident.areas.through.objects.filter(incident=OuterRef("pk"))
    )
    filed = ticket.created_at
    during = Q(started_at__lte=filed) & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=filed))
    suggested = during & (touches | ~Exists(uses)) & ~linked
    rows = (
        Incident.objects.annotate(
            linked=linked,
            suggested=ExpressionWrapper(suggested, output_field=BooleanField()),
        )
        .filter(Q(linked=True) | Q(suggested=True) | ~Q(state=IncidentState.RESOLVED))
        .order_by("-started_at", "-pk")[:BOX_MAX]
    )
    return list(rows)


# --- the desk's list ----------------------------------------------------------------------------


def desk_incidents(now: datetime | None = None) -> QuerySet[Incident]:
    """Open incidents and those resolved in the last RECENT_DAYS days, newest first, each
    with its linked tickets counted (`linked_count`, `open_count`: not resolved or closed)."""
    now = now or timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    return (
        Incident.objects.filter(~Q(state=IncidentState.RESOLVED) | Q(resolved_at__gte=since))
        .annotate(
            linked_count=Count("links", distinct=True),
            open_count=Count(
                "links",
                filter=Q(
                    links__ticket__status__in=[
                        TicketStatus.NEW,
                        TicketStatus.OPEN,
                        TicketStatus.PENDING,
                    ]
                ),
                distinct=True,
            ),
        )
        .order_by("-started_at", "-pk")
    )


def resolving_texts(incident: Incident) -> dict[str, str]:
    """The texts of the update that resolved the incident (the reply-all form's start)."""
    update = (
        IncidentUpdate.objects.filter(incident=incident, state=IncidentState.RESOLVED)
        .order_by("created_at", "pk")
        .first()
    )
    return dict(update.body) if update else {}


# --- replying to all -------------------------------------------------------------------------


@dataclass
class ReplyResult:
    replied: list[int] = field(default_factory=list)
    #: (ticket number, code, reason in the actor's language)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)


class _Skip(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def resolve_linked_tickets(
    actor: User, incident: Incident, *, body: TextInput, language: str | None = None
) -> ReplyResult:
    """Answer every ticket linked to the resolved `incident` that is still open with a public
    reply in its language (`body` is a text, or {language: text}; a language missing falls
    back to the company's default language) and resolve it. Each ticket in its own
    transaction: one refused (closed, merged, another department's) is skipped with its
    reason and the rest go on. Run twice, it answers nobody twice: a link answered once is
    marked, under its row lock."""
    require_manager(actor)
    incident.refresh_from_db()
    if incident.is_open:
        raise ActionRefused(
            "incident_open",
            _("Resolve the incident first, then answer its tickets."),
            status=409,
        )
    texts = texts_of(body, field="body", language=language, required=True, max_length=BODY_MAX)
    result = ReplyResult()
    links = (
        IncidentTicket.objects.filter(incident=incident)
        .order_by("ticket__number")
        .values_list("pk", "ticket__number")
    )
    for link_id, number in links:
        try:
            _answer(actor, link_id, texts)
        except _Skip as skip:
            result.skipped.append((number, skip.code, skip.reason))
        except ActionRefused as refusal:
            result.skipped.append((number, refusal.code, str(refusal.detail)))
        except Ticket.DoesNotExist:
            result.skipped.append((number, "forbidden", _("Not a ticket of your departments.")))
        except Exception:
            # One ticket's fault (its transaction rolled back) must not leave the rest
            # unanswered; a rerun answers it once the cause is fixed.
            log.exception("incident %s: ticket #%s could not be answered", incident.pk, number)
            result.skipped.append(
                (number, "error", _("Could not be answered: the error is logged. Try again."))
            )
        else:
            result.replied.append(number)
    return result


@transaction.atomic
def _answer(actor: User, link_id: int, texts: dict[str, str]) -> None:
    link = (
        IncidentTicket.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .filter(pk=link_id)
        .first()
    )
    if link is None:
        raise _Skip("unlinked", _("No longer linked."))
    if link.replied_at is not None:
        raise _Skip("already_answered", _("Answered with this incident already."))
    ticket = link.ticket
    if ticket.merged_into_id is not None:
        raise _Skip("ticket_merged", _("Merged into another ticket."))
    if ticket.status == TicketStatus.CLOSED:
        raise _Skip("ticket_closed", _("Closed."))
    if ticket.status == TicketStatus.RESOLVED:
        raise _Skip("ticket_resolved", _("Resolved already."))
    if not can_work(actor, ticket):
        raise _Skip("forbidden", _("Not a ticket of your departments."))
    message = ticket_actions.add_message(
        ticket,
        author=actor,
        body=pick(texts, ticket.language).text,
        status_after=TicketStatus.RESOLVED,
        channel=Channel.WEB,
    )
    link.replied_at = message.created_at
    link.reply = message
    link.save(update_fields=["replied_at", "reply"])
