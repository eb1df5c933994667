"""Which ticket changes send which mail, to whom. Called by actions inside their transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from destek.accounts.choices import NotificationKind, Role
from destek.accounts.models import User
from destek.accounts.selectors import notification_address
from destek.lib.dates import override_calendar
from destek.notify.actions import (
    AutoSubmitted,
    batched,
    queue_mail,
    queue_sms,
    render_text,
    zone,
)
from destek.notify.threads import Thread
from destek.tickets.access import can_work
from destek.tickets.choices import Channel
from destek.tickets.models import Membership, Message, Ticket, TicketCC, TicketFollower
from destek.tickets.selectors import expected_answer_at


def customer_address(ticket: Ticket) -> str | None:
    """Where this ticket's mail goes, or None when the customer switched it off: the address
    chosen for this ticket, else the one the customer chose for billing (a billing department's
    tickets) or support mail, else the account address (seed 004)."""
    if not ticket.notify_customer:
        return None
    if ticket.notify_address:
        return ticket.notify_address
    kind = NotificationKind.BILLING if ticket.department.billing else NotificationKind.SUPPORT
    return notification_address(ticket.customer, kind)


#: Asked whether a messenger chat carries an agent's public reply (messaging registers it):
#: True when the reply goes to the customer's chat, False when the ticket came from a
#: messenger whose chat does not take it (the contact was unlinked from the account, the
#: channel removed, or Meta's 24-hour window closed and the agent chose e-mail), None for a
#: ticket of no messenger.
messenger_carries: list[Callable[[Ticket, Message], bool | None]] = []


def _chat_carries(ticket: Ticket, message: Message) -> bool | None:
    asked = (ask(ticket, message) for ask in messenger_carries)
    return next((said for said in asked if said is not None), None)


def reply_address(ticket: Ticket, message: Message) -> str | None:
    """Where an agent's reply is mailed. A messenger's ticket is filed with its mail off
    (the chat carries the answers), so its customer is mailed only when the chat does not
    (the contact was unlinked, the channel removed) or the agent chose e-mail (outside Meta's
    24-hour window), and then only at a verified address of an account of their own, never
    twice."""
    chat = _chat_carries(ticket, message)
    if chat is None:
        return customer_address(ticket)
    if chat:
        return None
    return own_address(ticket)


#: The tickets' channels of the messengers (their tickets are filed with the mail off).
MESSENGER_CHANNELS = frozenset(
    {Channel.TELEGRAM, Channel.WHATSAPP, Channel.MESSENGER, Channel.INSTAGRAM}
)


def own_address(ticket: Ticket) -> str | None:
    """Where a messenger's ticket is mailed when its chat cannot carry something (an agent's
    reply, the survey): only a verified address of an account of the customer's own (one
    the chat was linked to); None for a ticket of no messenger."""
    if ticket.channel not in MESSENGER_CHANNELS:
        return None
    customer = ticket.customer
    # A messenger contact's own address (under the reserved .invalid) reaches no one.
    if customer.email_verified_at is None or customer.email.lower().endswith(".invalid"):
        return None
    if ticket.notify_address:
        return ticket.notify_address
    kind = NotificationKind.BILLING if ticket.department.billing else NotificationKind.SUPPORT
    return notification_address(customer, kind)


def portal_link(ticket: Ticket) -> str:
    """The ticket's page for its customer (they sign in first), on the public base URL."""
    return settings.BASE_URL + reverse("portal:ticket", args=[ticket.number])


def desk_link(ticket: Ticket) -> str:
    """The ticket's page in the agents' desk."""
    return settings.BASE_URL + reverse("desk:ticket", args=[ticket.number])


def _context(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    """What every ticket mail can say. `link` is the reader's way to the ticket: notify sits
    below tickets and knows no pages, so the link is made here and passed in."""
    return {
        "ticket": ticket,
        "number": f"#{ticket.number}",
        "base_url": settings.BASE_URL,
        "customer_name": ticket.customer.display_name,
        "expected": expected_answer_at(ticket),
        "link": portal_link(ticket),
        **extra,
    }


def _to_customer(
    ticket: Ticket,
    template: str,
    auto_submitted: str = AutoSubmitted.GENERATED,
    language: str | None = None,
    fresh: bool = False,
    address: str | None = None,
    **extra: Any,
) -> None:
    address = address or customer_address(ticket)
    if address is None:
        return
    customer = ticket.customer
    queue_mail(
        to=address,
        template=template,
        context=_context(ticket, **extra),
        language=language or ticket.language or customer.language,
        time_zone=customer.time_zone,
        calendar=customer.calendar,
        thread=Thread.of(ticket, fresh=fresh),
        auto_submitted=auto_submitted,
    )


def _to_agent(
    agent: Any, ticket: Ticket, template: str, *, fresh: bool = False, **extra: Any
) -> None:
    queue_mail(
        to=agent.email,
        template=template,
        context=_context(ticket, agent_name=agent.display_name, link=desk_link(ticket), **extra),
        language=agent.language,
        time_zone=agent.time_zone,
        calendar=agent.calendar,
        thread=Thread.of(ticket, fresh=fresh),
    )


@batched
def ticket_created(ticket: Ticket, message: Message) -> None:
    _to_customer(ticket, "ticket_created", fresh=True, message=message)
    if not settings.DESTEK_NOTIFY_AGENTS_ON_NEW:
        return
    agents = ticket.department.members.filter(
        is_active=True, role__in=[Role.AGENT, Role.ADMIN]
    ).order_by("pk")
    for agent in agents:
        _to_agent(agent, ticket, "agent_new_ticket", fresh=True, message=message)


@batched
def agent_replied(ticket: Ticket, message: Message) -> None:
    # The agent's own words: a person's mail, never capped or marked automatic.
    address = reply_address(ticket, message)
    if address is not None:
        _to_customer(ticket, "agent_reply", AutoSubmitted.HUMAN, address=address, message=message)
    _sms_to_customer(ticket, "agent_reply")
    _to_ccs(
        ticket,
        "cc_message",
        AutoSubmitted.HUMAN,
        message=message,
        author_name=_author_name(message),
    )
    _to_followers(ticket, message)


# --- copied addresses (CC) and followers -----------------------------------------------------
# A copied address gets a mail of its own, not a Cc: line on the customer's: its Message-ID is
# signed for that address (so its answer is recognised as coming from the copied person, and
# threads into the ticket like the customer's), it reads in its own language, the worker's caps
# and bounce marks apply to it alone, and nobody's address is shown to the others.


def _author_name(message: Message) -> str:
    author = message.author
    return author.display_name if author is not None else ""


def _to_ccs(
    ticket: Ticket,
    template: str,
    auto_submitted: str = AutoSubmitted.GENERATED,
    *,
    skip: User | None = None,
    **extra: Any,
) -> None:
    """Every address copied on the ticket, but the one of `skip` (who wrote the news). No
    link to the portal: being copied opens no page, the conversation goes on by mail."""
    if not ticket.cc_count:
        return
    copied = TicketCC.objects.filter(ticket=ticket).select_related("user").order_by("pk")
    for cc in copied:
        person = cc.user
        if person is not None and not person.is_active:
            continue
        if skip is not None and (cc.user_id == skip.pk or cc.address == skip.email):
            continue
        queue_mail(
            to=cc.address,
            template=template,
            context=_context(
                ticket, link="", copied=True, reader_name=person.display_name if person else ""
            )
            | extra,
            language=(person.language if person else "") or ticket.language,
            time_zone=(person or ticket.customer).time_zone,
            calendar=(person or ticket.customer).calendar,
            thread=Thread.of(ticket),
            auto_submitted=auto_submitted,
        )


@batched
def cc_added(ticket: Ticket, cc: TicketCC, *, by: User) -> None:
    """The copied address learns who copied it on which ticket, and that it may answer."""
    person = cc.user
    queue_mail(
        to=cc.address,
        template="cc_added",
        context=_context(
            ticket,
            link="",
            by_name=by.display_name,
            reader_name=person.display_name if person else "",
        ),
        language=(person.language if person else "") or ticket.language,
        time_zone=(person or ticket.customer).time_zone,
        calendar=(person or ticket.customer).calendar,
        thread=Thread.of(ticket),
    )


def _to_followers(ticket: Ticket, message: Message, *, skip: set[int] | None = None) -> None:
    """Agents who follow the ticket, at their notification address and in their language:
    never the author of the news, never whom `skip` names (mailed about it already), and
    nobody who no longer works the ticket's department."""
    if not ticket.follower_count:
        return
    skip = {*(skip or set()), message.author_id or 0}
    followers = (
        TicketFollower.objects.filter(ticket=ticket, agent__is_active=True)
        .exclude(agent_id__in=skip)
        .select_related("agent")
        .order_by("pk")
    )
    for follower in followers:
        agent = follower.agent
        if not can_work(agent, ticket):
            continue
        queue_mail(
            to=notification_address(agent, NotificationKind.SUPPORT),
            template="follower_update",
            context=_context(
                ticket,
                agent_name=agent.display_name,
                author_name=_author_name(message),
                message=message,
                link=desk_link(ticket),
            ),
            language=agent.language,
            time_zone=agent.time_zone,
            calendar=agent.calendar,
            thread=Thread.of(ticket),
        )


@batched
def note_added(ticket: Ticket, note: Message) -> None:
    """An internal note: followers only (it never leaves the team)."""
    _to_followers(ticket, note)


def _sms_to_customer(ticket: Ticket, template: str) -> None:
    """A short SMS with a link, when the customer asked for it on this ticket and their
    number is (still) verified. Our words, not the agent's: automatic and capped."""
    customer = ticket.customer
    if not (ticket.notify_sms and customer.phone and customer.phone_verified_at):
        return
    queue_sms(
        to=customer.phone,
        template=template,
        context={
            "number": f"#{ticket.number}",
            "link": portal_link(ticket),
        },
        language=ticket.language or customer.language,
        thread=Thread.of(ticket),
    )


@batched
def customer_replied(ticket: Ticket, message: Message) -> None:
    # A line of a live chat reaches the agent in the desk's chat inbox, as it is written: a
    # mail per line would bury their mailbox.
    if message.channel == Channel.CHAT:
        return
    skip: set[int] = set()
    if ticket.assignee is not None and ticket.assignee.is_active:
        _to_agent(ticket.assignee, ticket, "customer_reply", message=message)
        skip.add(ticket.assignee.pk)
    author_name = _author_name(message)
    if message.author_id != ticket.customer_id:
        # A copied person wrote: the customer reads it too, as they read our replies.
        _to_customer(
            ticket, "cc_message", AutoSubmitted.HUMAN, message=message, author_name=author_name
        )
    _to_ccs(
        ticket,
        "cc_message",
        AutoSubmitted.HUMAN,
        skip=message.author,
        message=message,
        author_name=author_name,
    )
    _to_followers(ticket, message, skip=skip)


@batched
def status_changed(ticket: Ticket) -> None:
    """Pending, resolved and closed are news for the customer; the rest is internal."""
    if ticket.status in ("pending", "resolved", "closed"):
        _to_customer(ticket, "status_changed")
        _to_ccs(ticket, "cc_status")


@batched
def ticket_merged(source: Ticket, into: Ticket) -> None:
    """The customer of a merged duplicate learns where its conversation went, with a link."""
    _to_customer(
        source,
        "ticket_merged",
        into=into,
        into_number=f"#{into.number}",
        into_link=portal_link(into),
    )


def nudge_answer_text(ticket: Ticket, language: str | None = None) -> str:
    """The automatic answer to a nudge, in the nudge's language (`language`, chosen by the
    action) or else the ticket's, and the customer's zone."""
    with (
        translation.override(language or ticket.language),
        timezone.override(zone(ticket.customer.time_zone)),
        override_calendar(ticket.customer.calendar),
    ):
        return render_text("tickets/nudge_answer.txt", _context(ticket)).strip()


@batched
def nudge_answered(ticket: Ticket, answer: Message, language: str | None = None) -> None:
    _to_customer(ticket, "nudge_answer", AutoSubmitted.REPLIED, language=language, message=answer)


@batched
def ticket_note(ticket: Ticket, note: Message) -> None:
    """Our note to the customer about their ticket (why its priority changed)."""
    _to_customer(ticket, "ticket_note", message=note)


@batched
def sla_alert(ticket: Ticket, clock: str, *, breached: bool) -> None:
    """Tell the assignee and the department's leads that a clock is about to run or ran out."""
    leads = Membership.objects.filter(
        department=ticket.department, is_lead=True, user__is_active=True
    ).select_related("user")
    people = {m.user.pk: m.user for m in leads}
    if ticket.assignee is not None and ticket.assignee.is_active:
        people[ticket.assignee.pk] = ticket.assignee
    for person in people.values():
        _to_agent(person, ticket, "sla_alert", clock=clock, breached=breached)
