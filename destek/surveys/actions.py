"""What a survey changes: the answer recorded (replacing an earlier one), the ticket reopened
once when the customer is unhappy, and the survey mail sent at most once per ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.surveys import notifications
from destek.surveys.models import SurveyAnswer, SurveySent, SurveyVia
from destek.tickets import actions as ticket_actions
from destek.tickets.choices import (
    PRIORITY_ORDER,
    ActorKind,
    AuthorKind,
    CloseReason,
    TicketStatus,
    priority_rank,
)
from destek.tickets.models import Message, Ticket
from destek.tickets.notifications import customer_address

COMMENT_MAX = 5000
SYSTEM = ticket_actions.Actor(ActorKind.SYSTEM)


def _score(value: object, field: str, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ActionRefused(
            "survey_score_out_of_range",
            _("{question}: choose a whole number from 1 to 5.").format(question=label),
            field=field,
        )
    return value


def _agent_of(ticket: Ticket) -> User | None:
    if ticket.assignee_id is not None:
        return ticket.assignee
    last = (
        Message.objects.filter(ticket=ticket, author_kind=AuthorKind.AGENT, internal=False)
        .select_related("author")
        .order_by("-created_at")
        .first()
    )
    return last.author if last is not None else None


def _not_found() -> ActionRefused:
    return ActionRefused("not_found", _("Ticket not found."), status=404)


@transaction.atomic
def record_answer(
    ticket: Ticket,
    customer: User,
    *,
    speed: object,
    clarity: object,
    tone: object,
    solved: object,
    comment: str = "",
) -> SurveyAnswer:
    """The customer's answer about their own ticket; answering again replaces it. An unhappy
    answer (not solved, or a score of 2 or less) reopens the ticket once."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "assignee")
        .filter(pk=ticket.pk)
        .first()
    ) or ticket
    if ticket.customer_id != customer.pk or ticket.merged_into_id is not None:
        raise _not_found()
    scores = {
        "speed": _score(speed, "speed", str(_("Speed of the first answer"))),
        "clarity": _score(clarity, "clarity", str(_("Clarity"))),
        "tone": _score(tone, "tone", str(_("Politeness"))),
    }
    if not isinstance(solved, bool):
        raise ActionRefused(
            "survey_solved_required",
            _("Say whether your problem was fully solved: yes or no."),
            field="solved",
        )
    comment = strip_invisible(comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ActionRefused(
            "survey_comment_too_long",
            _("The comment is too long: at most {maximum} characters.").format(maximum=COMMENT_MAX),
            field="comment",
        )
    now = timezone.now()
    answer = SurveyAnswer.objects.filter(ticket=ticket).first()
    if answer is None:
        agent = _agent_of(ticket)
        answer = SurveyAnswer(
            ticket=ticket,
            customer=customer,
            agent=agent,
            department=ticket.department,
            channel=ticket.channel,
            answered_at=now,
            solved=solved,
            **scores,
        )
    for field, value in scores.items():
        setattr(answer, field, value)
    answer.solved = solved
    answer.comment = comment
    answer.updated_at = now
    if answer.unhappy and answer.escalated_at is None:
        answer.escalated_at = now
        answer.save()
        _escalate(ticket, customer, answer)
    else:
        answer.save()
    return answer


def _escalate(ticket: Ticket, customer: User, answer: SurveyAnswer) -> None:
    """Reopen (when the status allows), one priority step up, a note, and the leads told."""
    if ticket.status == TicketStatus.RESOLVED:
        ticket = ticket_actions.change_status(ticket, actor=SYSTEM, status=TicketStatus.OPEN)
    elif ticket.status == TicketStatus.CLOSED and ticket_actions.reopen_open(ticket):
        ticket = ticket_actions.reopen_by_customer(ticket, customer=customer)
    # Closed after the reopen window: stays closed (a linked follow-up ticket is not made yet).
    rank = priority_rank(ticket.priority)
    if rank + 1 < len(PRIORITY_ORDER):
        ticket = ticket_actions.change_priority(
            ticket, actor=SYSTEM, priority=PRIORITY_ORDER[rank + 1]
        )
    ticket_actions.add_system_note(ticket, body=_note_text(answer))
    notifications.unhappy_answer(ticket, answer)


def _note_text(answer: SurveyAnswer) -> str:
    yes_no = _("yes") if answer.solved else _("no")
    text = _(
        "The customer rated this ticket: speed {speed}/5, clarity {clarity}/5, politeness "
        "{tone}/5, fully solved: {solved}."
    ).format(speed=answer.speed, clarity=answer.clarity, tone=answer.tone, solved=yes_no)
    if answer.comment:
        text += "\n\n" + answer.comment
    return str(text)


@dataclass(frozen=True)
class Carrier:
    """A channel that carries its own tickets' surveys (a messenger, with buttons): `takes`
    says whether it carries this ticket's, `send` queues it in the caller's transaction."""

    via: str
    takes: Callable[[Ticket], bool]
    send: Callable[[Ticket, SurveySent], None]


#: Registered by the channels in their `AppConfig.ready`; a ticket none takes goes by mail.
carriers: list[Carrier] = []


def claim(ticket: Ticket, *, via: str) -> SurveySent | None:
    """The survey for `ticket` (locked by the caller), unless it is merged or closed as a
    duplicate, already answered or asked, or its customer was asked in the last N days."""
    if ticket.merged_into_id is not None or ticket.close_reason == CloseReason.DUPLICATE:
        return None
    if SurveyAnswer.objects.filter(ticket=ticket).exists():
        return None
    if SurveySent.objects.filter(ticket=ticket).exists():
        return None
    now = timezone.now()
    since = now - timedelta(days=settings.DESTEK_SURVEY_EVERY_DAYS)
    if SurveySent.objects.filter(customer_id=ticket.customer_id, sent_at__gt=since).exists():
        return None
    return SurveySent.objects.create(
        ticket=ticket,
        customer_id=ticket.customer_id,
        agent=_agent_of(ticket),
        department_id=ticket.department_id,
        channel=ticket.channel,
        sent_at=now,
        via=via,
    )


@transaction.atomic
def send_survey(ticket_id: int) -> SurveySent | None:
    """Send the survey of a resolved ticket: by its channel when one carries it, otherwise
    by mail. Safe to run twice: the ticket row is locked and a ticket has at most one."""
    ticket = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None or ticket.status != TicketStatus.RESOLVED:
        return None
    carrier = next((c for c in carriers if c.takes(ticket)), None)
    if carrier is not None:
        sent = claim(ticket, via=carrier.via)
        if sent is not None:
            carrier.send(ticket, sent)
        return sent
    address = customer_address(ticket)
    if address is None:
        return None
    sent = claim(ticket, via=SurveyVia.EMAIL)
    if sent is not None:
        notifications.survey_request(ticket, sent, address)
    return sent


def survey_of(ticket: Ticket) -> SurveyAnswer | None:
    return SurveyAnswer.objects.filter(ticket=ticket).first()
