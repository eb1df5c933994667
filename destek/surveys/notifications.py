"""The survey's mail: the request to the customer, and the unhappy answer to the leads."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from destek.notify.actions import batched, queue_mail
from destek.notify.threads import Thread
from destek.surveys import tokens
from destek.surveys.models import SurveyAnswer, SurveySent
from destek.tickets.models import Membership, Ticket
from destek.tickets.notifications import desk_link, portal_link

SCORES = (1, 2, 3, 4, 5)


def survey_link(ticket_id: int, version: int, speed: int | None = None) -> str:
    url = settings.BASE_URL + reverse("surveys:answer", args=[tokens.make(ticket_id, version)])
    return f"{url}?speed={speed}" if speed else url


@batched
def survey_request(ticket: Ticket, sent: SurveySent, address: str) -> None:
    customer = ticket.customer
    queue_mail(
        to=address,
        template="survey_request",
        context={
            "ticket": ticket,
            "number": f"#{ticket.number}",
            "customer_name": customer.display_name,
            "link": survey_link(ticket.pk, sent.token_version),
            "speed_links": [
                (score, survey_link(ticket.pk, sent.token_version, score)) for score in SCORES
            ],
            "ticket_link": portal_link(ticket),
        },
        language=ticket.language or customer.language,
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(ticket),
    )


@batched
def unhappy_answer(
    ticket: Ticket, answer: SurveyAnswer, *, follow_up_of: Ticket | None = None
) -> None:
    """Every active lead of the ticket's department learns of the low rating (`ticket` is the
    follow-up opened for it when the rated ticket `follow_up_of` could not be reopened)."""
    leads = Membership.objects.filter(
        department=ticket.department, is_lead=True, user__is_active=True
    ).select_related("user")
    for lead in {m.user.pk: m.user for m in leads}.values():
        queue_mail(
            to=lead.email,
            template="survey_unhappy",
            context={
                "ticket": ticket,
                "number": f"#{ticket.number}",
                "agent_name": lead.display_name,
                "customer_name": ticket.customer.display_name,
                "answer": answer,
                "follow_up_of": f"#{follow_up_of.number}" if follow_up_of else "",
                "link": desk_link(ticket),
            },
            language=lead.language,
            time_zone=lead.time_zone,
            calendar=lead.calendar,
            thread=Thread.of(ticket),
        )
