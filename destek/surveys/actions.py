"""What a survey changes: the answer recorded (replacing an earlier one), the ticket reopened
once when the customer is unhappy, and the survey mail sent at most once per ticket."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.lib import ratelimit
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.surveys import notifications, timing
from destek.surveys.models import SurveyAnswer, SurveySent, SurveyVia
from destek.tickets import actions as ticket_actions
from destek.tickets.choices import (
    PRIORITY_ORDER,
    ActorKind,
    AuthorKind,
    Channel,
    CloseReason,
    TicketStatus,
    priority_rank,
)
from destek.tickets.models import Message, Ticket
from destek.tickets.notifications import customer_address, own_address
from destek.tickets.signals import survey_answered

COMMENT_MAX = 5000
MESSENGER_CHANNELS = frozenset(
    {Channel.TELEGRAM, Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM}
)
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


def _may_rate(ticket: Ticket) -> bool:
    """Resolved or closed, or asked already (a survey sent, or an answer to change after an
    unhappy one reopened the ticket)."""
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return True
    return (
        SurveySent.objects.filter(ticket=ticket).exists()
        or SurveyAnswer.objects.filter(ticket=ticket).exists()
    )


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
    if not _may_rate(ticket):
        # An unhappy answer raises the priority: a ticket still being worked is not rated, or
        # a customer could lift their own ticket's priority by rating it at once.
        raise ActionRefused(
            "survey_not_yet",
            _("You can rate this ticket once it is resolved."),
            status=409,
        )
    # Every attempt counts, refused ones too: a script answering a thousand times is stopped.
    if not ratelimit.hit(
        "survey-answer",
        str(ticket.pk),
        limit=settings.DESTEK_SURVEY_ANSWERS_PER_HOUR,
        window_seconds=3600,
    ):
        raise ActionRefused(
            "survey_rate_limited",
            _("This survey was answered many times in a short time. Please try again in an hour."),
            status=429,
        )
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
    survey_answered.send(
        sender=SurveyAnswer,
        ticket=ticket,
        answer={
            "speed": answer.speed,
            "clarity": answer.clarity,
            "tone": answer.tone,
            "solved": answer.solved,
            "comment": answer.comment,
            "answered_at": now.isoformat(),
        },
    )
    return answer


def _escalate(ticket: Ticket, customer: User, answer: SurveyAnswer) -> None:
    """Reopen (when the status allows) or, after the reopen window, a linked follow-up
    ticket; one priority step up, a note, and the leads told."""
    if ticket.status == TicketStatus.RESOLVED:
        ticket = ticket_actions.change_status(ticket, actor=SYSTEM, status=TicketStatus.OPEN)
    elif ticket.status == TicketStatus.CLOSED and ticket_actions.reopen_open(ticket):
        ticket = ticket_actions.reopen_by_customer(ticket, customer=customer)
    elif ticket.status == TicketStatus.CLOSED:
        _follow_up(ticket, answer)
        return
    _raise_priority(ticket, ticket.priority)
    ticket_actions.add_system_note(ticket, body=_note_text(answer))
    notifications.unhappy_answer(ticket, answer)


def _raise_priority(ticket: Ticket, than: str) -> Ticket:
    """One step above `than` (the rated ticket's priority), unless `ticket` is already there."""
    rank = min(priority_rank(than) + 1, len(PRIORITY_ORDER) - 1)
    if priority_rank(ticket.priority) >= rank:
        return ticket
    return ticket_actions.change_priority(ticket, actor=SYSTEM, priority=PRIORITY_ORDER[rank])


def _follow_up(old: Ticket, answer: SurveyAnswer) -> Ticket:
    """The unhappy answer about a ticket closed too long ago to reopen: a new ticket of the
    customer, linked to the old one (as the portal and mail link a customer's new ticket to
    it), in the same department, one priority step above the old one, its first message the
    customer's rating; each ticket's history names the other, and the leads are told."""
    with translation.override(old.language or old.customer.language):
        words = _rating_text(answer)  # the customer's own words, in their language
    follow_up = ticket_actions.create_ticket(
        customer=old.customer,
        subject=old.subject,
        body=words,
        # A messenger's ticket: the follow-up stays on that messenger, so the team's replies
        # reach the chat the customer answered in (a messenger contact reads no portal).
        channel=old.channel if old.channel in MESSENGER_CHANNELS else Channel.WEB,
        department=old.department,
        language=old.language or None,
        related_to=old,
        # Not a filed form: the old ticket's subject may be short, and it is no duplicate.
        intake_rules=False,
    )
    follow_up = _raise_priority(follow_up, old.priority)
    ticket_actions.add_system_note(follow_up, body=_note_text(answer, old=old))
    with translation.override(settings.LANGUAGE_CODE):
        ticket_actions.add_system_note(
            old,
            body=str(
                _(
                    "The customer rated this ticket after it could no longer be reopened: "
                    "follow-up ticket #{number} was opened."
                ).format(number=follow_up.number)
            ),
        )
    notifications.unhappy_answer(follow_up, answer, follow_up_of=old)
    return follow_up


def _rating_text(answer: SurveyAnswer) -> str:
    yes_no = _("yes") if answer.solved else _("no")
    text = _(
        "The customer rated this ticket: speed {speed}/5, clarity {clarity}/5, politeness "
        "{tone}/5, fully solved: {solved}."
    ).format(speed=answer.speed, clarity=answer.clarity, tone=answer.tone, solved=yes_no)
    if answer.comment:
        text += "\n\n" + answer.comment
    return str(text)


def _note_text(answer: SurveyAnswer, old: Ticket | None = None) -> str:
    """The internal note, in the company's language (`DESTEK_LANGUAGE`): a note is stored
    text, read by every agent, not the customer's language of the moment they answered."""
    with translation.override(settings.LANGUAGE_CODE):
        text = _rating_text(answer)
        if old is not None:
            text = (
                str(
                    _("Follow-up of ticket #{number}, closed too long ago to reopen.").format(
                        number=old.number
                    )
                )
                + "\n\n"
                + text
            )
    return text


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


def _locked(ticket_id: int) -> Ticket | None:
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("department", "customer", "sla_policy")
        .filter(pk=ticket_id)
        .first()
    )


@transaction.atomic
def send_survey(ticket_id: int) -> SurveySent | None:
    """Send the survey of a resolved ticket: by its channel when one carries it, otherwise
    by mail. Safe to run twice: the ticket row is locked and a ticket has at most one."""
    ticket = _locked(ticket_id)
    if ticket is None or ticket.status != TicketStatus.RESOLVED:
        return None
    return _send(ticket)


@transaction.atomic
def send_due_survey(ticket_id: int) -> SurveySent | None:
    """`send_survey`, once the delay after the ticket's (latest) resolution has passed: a job
    scheduled for an earlier resolution (it was reopened and resolved again since) or a
    sweep ahead of time sends nothing, and the job of the latest resolution sends it."""
    ticket = _locked(ticket_id)
    if ticket is None or ticket.status != TicketStatus.RESOLVED:
        return None
    if not timing.is_due(ticket, timezone.now()):
        return None
    return _send(ticket)


def _send(ticket: Ticket) -> SurveySent | None:
    carrier = next((c for c in carriers if c.takes(ticket)), None)
    if carrier is not None:
        sent = claim(ticket, via=carrier.via)
        if sent is not None:
            carrier.send(ticket, sent)
        return sent
    # A messenger's ticket (filed with the mail off) whose chat cannot carry it: mailed to
    # a verified address of the account the chat was linked to, if there is one. No
    # address (switched off, or a chat or messenger contact's `.invalid` one): no mail.
    address = customer_address(ticket) or own_address(ticket)
    if not address or address.lower().endswith(".invalid"):
        return None
    sent = claim(ticket, via=SurveyVia.EMAIL)
    if sent is not None:
        notifications.survey_request(ticket, sent, address)
    return sent


#: How far back the sweep looks, and how many surveys it sends at most per run.
SWEEP_WINDOW = timedelta(days=7)
SWEEP_BATCH = 200


#: The tickets the sweep found due but could send nothing for (no carrier, no address), by
#: id with their resolution: skipped by later runs, or they would take every run's batch.
SWEEP_UNSENT_KEY = "surveys:sweep:unsent"


def sweep_due_surveys(now: datetime | None = None) -> int:
    """Send the surveys that are due but were never sent (the worker was down, or Redis lost
    the scheduled job), oldest first, at most `SWEEP_BATCH`; each in its own transaction,
    under the ticket's lock, so a job running at the same moment sends nothing twice. A
    ticket due but unreachable (no chat carries it, no address) is remembered and skipped
    until its resolution leaves the window: it must not fill every run's batch."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.DESTEK_SURVEY_EVERY_DAYS)
    window_start = now - SWEEP_WINDOW
    unsent: dict[int, str] = {
        pk: resolved
        for pk, resolved in (cache.get(SWEEP_UNSENT_KEY) or {}).items()
        if datetime.fromisoformat(resolved) >= window_start
    }
    candidates = (
        Ticket.objects.filter(
            status=TicketStatus.RESOLVED,
            merged_into__isnull=True,
            # Business minutes are never fewer than wall-clock ones.
            status_changed_at__lte=now - timedelta(minutes=settings.DESTEK_SURVEY_DELAY_MINUTES),
            status_changed_at__gte=window_start,
        )
        .exclude(pk__in=list(unsent))
        .exclude(close_reason=CloseReason.DUPLICATE)
        .exclude(Exists(SurveySent.objects.filter(ticket=OuterRef("pk"))))
        .exclude(Exists(SurveyAnswer.objects.filter(ticket=OuterRef("pk"))))
        .exclude(
            Exists(
                SurveySent.objects.filter(customer_id=OuterRef("customer_id"), sent_at__gt=since)
            )
        )
        .order_by("status_changed_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = 0
    for pk in list(candidates):
        if send_due_survey(pk) is not None:
            sent += 1
            continue
        ticket = Ticket.objects.filter(pk=pk, status=TicketStatus.RESOLVED).first()
        if ticket is not None and ticket.status_changed_at and timing.is_due(ticket, now):
            unsent[pk] = ticket.status_changed_at.isoformat()
    cache.set(SWEEP_UNSENT_KEY, unsent, timeout=int(SWEEP_WINDOW.total_seconds()))
    return sent


def survey_of(ticket: Ticket) -> SurveyAnswer | None:
    return SurveyAnswer.objects.filter(ticket=ticket).first()


def follow_up_of(ticket: Ticket) -> Ticket | None:
    """The follow-up an unhappy answer opened for `ticket` (closed too long ago to reopen),
    None when the answer reopened it or was not unhappy."""
    if ticket.status != TicketStatus.CLOSED:
        return None
    answer = SurveyAnswer.objects.filter(ticket=ticket, escalated_at__isnull=False).first()
    if answer is None:
        return None
    return (
        Ticket.objects.filter(
            related_to=ticket, customer_id=ticket.customer_id, created_at__gte=answer.escalated_at
        )
        .order_by("pk")
        .first()
    )


@transaction.atomic
def revoke_links(sent_id: int) -> SurveySent | None:
    """Every link mailed for this survey stops working (a mail forwarded to the wrong
    person): links carry the survey's `token_version`, and the page opens only the current
    one. The answer already given stays; the API (signed in as the customer) still works.
    Reopening and resolving a ticket again does not revoke: the customer may still change
    their answer with the link they have, for its 14 days."""
    sent = SurveySent.objects.select_for_update().filter(pk=sent_id).first()
    if sent is None:
        return None
    sent.token_version += 1
    sent.save(update_fields=["token_version"])
    return sent
