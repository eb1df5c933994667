"""Every change of a chat. A chat is a ticket from its first message: what is said goes
through the ticket actions (and comes back as chat events through `tickets.signals`); what
only a live conversation has (the line, the agent who took it, presence, typing) is here.
Each action runs in one transaction; the events it appends are published once it commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role, Tier
from destek.accounts.models import User, normalize_email
from destek.chat import events, queue, realtime
from destek.chat.access import new_visitor_token
from destek.chat.choices import AuthorRole, ChatState, EventType, Presence
from destek.chat.identity import Identity
from destek.chat.models import AgentPresence, Chat
from destek.chat.receivers import append_message, writing_to
from destek.lib.errors import ActionRefused
from destek.lib.text import strip_invisible
from destek.notify.actions import queue_mail
from destek.notify.threads import Thread
from destek.surveys import actions as surveys
from destek.surveys.models import SurveyAnswer, SurveySent, SurveyVia
from destek.tickets import actions as tickets
from destek.tickets import config as tickets_config
from destek.tickets import intake
from destek.tickets.access import can_work
from destek.tickets.actions import Actor
from destek.tickets.choices import (
    ActorKind,
    AuthorKind,
    Channel,
    Priority,
    TicketStatus,
    priority_rank,
)
from destek.tickets.models import Attachment, Department, Message, Ticket
from destek.tickets.notifications import portal_link
from destek.tickets.routing import route

#: A contact made for one chat gets an address that can never be anyone's: the address the
#: visitor typed is kept on the chat, unverified, and never joins them to an existing account.
CONTACT_DOMAIN = "chat-visitors.invalid"

SUBJECT_WORDS = 80  # characters of the first message a chat's subject takes
FACTS_MAX = 20
FACT_MAX = 500
TYPING_EVERY_SECONDS = 3


@dataclass(frozen=True)
class Started:
    chat: Chat
    visitor_token: str  # raw: shown once, to the visitor's browser
    offline: bool
    queue_position: int | None
    estimated_wait_seconds: int | None


def check_body(body: str) -> str:
    """A chat message's text, or a refusal the visitor reads in their language."""
    text = strip_invisible(body or "").strip()
    if not text:
        raise ActionRefused("body_required", _("Write a message first."), field="body")
    maximum = settings.DESTEK_CHAT_BODY_MAX
    if len(text) > maximum:
        raise ActionRefused(
            "body_too_long",
            _(
                "The message is too long: at most {maximum} characters. Send it in parts, "
                "or attach it as a file."
            ).format(maximum=maximum),
            status=413,
            field="body",
        )
    return text


def chat_subject(body: str, name: str) -> str:
    """The ticket's subject: the visitor's first words, or, when they only greet ("hello"),
    who started the chat. A chat is never refused for its opening words."""
    first = " ".join(body.split())
    if len(first) > SUBJECT_WORDS:
        first = first[: SUBJECT_WORDS - 1].rsplit(" ", 1)[0] + "…"
    if not first or intake.is_generic_subject(first) or intake.is_shouting(first):
        return str(_("Live chat with {name}").format(name=name or _("a visitor")))
    return first


def _clean_facts(facts: Mapping[str, Any] | None) -> dict[str, str]:
    """What the page tells about the visitor's browser: a few short strings, nothing else."""
    cleaned: dict[str, str] = {}
    for key, value in list((facts or {}).items())[:FACTS_MAX]:
        if isinstance(value, (str, int, float, bool)):
            cleaned[str(key)[:50]] = strip_invisible(str(value))[:FACT_MAX]
    return cleaned


def _new_contact(name: str, language: str) -> User:
    contact = User(
        email=f"visitor-{secrets.token_hex(12)}@{CONTACT_DOMAIN}",
        full_name=name[:200],
        role=Role.CUSTOMER,
        language=language,
    )
    contact.set_unusable_password()
    contact.save()
    return contact


def _department(department: Department | None) -> Department:
    department = department or tickets_config.default_department()
    if department is None:
        raise ActionRefused("no_department", _("No department accepts chats yet."))
    return department


@transaction.atomic
def start_chat(
    *,
    body: str,
    name: str = "",
    email: str = "",
    department: Department | None = None,
    customer: User | None = None,
    facts: Mapping[str, Any] | None = None,
    language: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> Started:
    """Open a chat with the visitor's first message, or, when nobody can answer now (outside
    the chat calendar, no agent online with room, the line full), file it as an ordinary
    ticket that is answered by mail and say when (`offline`).

    `customer` is a signed-in customer (they are the visitor, their address verified);
    without one a new contact is made, never an existing account found by `email`.
    """
    body = check_body(body)
    department = _department(department)
    language = language or get_language() or settings.LANGUAGE_CODE
    name = " ".join(strip_invisible(name or "").split())[:200]
    email = (email or "").strip().lower()
    if customer is not None:
        visitor, verified = customer, True
        name = customer.display_name  # the account's, never a name typed beside it
        email = customer.email
    else:
        visitor, verified = _new_contact(name, language), False
    now = timezone.now()
    subject = chat_subject(body, name)
    # The department the routing rules will give the ticket (a question about a payment goes
    # to Finance): whether anyone is there is asked of that one, not of the one chosen.
    routed = route(
        subject=subject,
        body=body,
        department=department,
        tier=visitor.tier,
        channel=Channel.CHAT,
        urgency=Priority.NORMAL,
        language=language,
        organisation=lambda: visitor.organisation.name if visitor.organisation is not None else "",
    ).department
    live = queue.is_open_for(routed.pk, now)
    # While the chat is live the visitor reads the answers in the chat, not in their mail;
    # filed offline, it is an ordinary ticket answered by mail, when there is an address.
    mailable = customer is not None or bool(email)
    ticket = tickets.create_ticket(
        customer=visitor,
        subject=subject,
        body=body,
        # Offline, an ordinary ticket: its service level (and the answer time the visitor is
        # told) is the one of tickets, not the chat's minute.
        channel=Channel.CHAT if live else Channel.WEB,
        department=department,
        language=language,
        attachments=attachments,
        notify_customer=not live and mailable,
        contact_address=email if customer is None and not live and email else "",
        intake_rules=False,
    )
    raw, hashed = new_visitor_token()
    chat = Chat.objects.create(
        ticket=ticket,
        state=ChatState.WAITING if live else ChatState.OFFLINE,
        department=ticket.department,
        visitor=visitor,
        visitor_token_hash=hashed,
        name=name,
        email=email,
        email_verified=verified,
        facts=_clean_facts(facts),
        vip=visitor.tier == Tier.VIP,
        priority_rank=priority_rank(ticket.priority),
        queued_at=now,
        ended_at=None if live else now,
        created_at=now,
    )
    first = (
        Message.objects.filter(ticket=ticket, author_kind=AuthorKind.CUSTOMER)
        .select_related("author")
        .order_by("id")
        .first()
    )
    if first is not None:
        append_message(chat, first, attachments)
    if not live:
        return Started(chat, raw, True, None, None)
    _offer(chat, now)
    place = queue.position(chat)
    wait = queue.estimated_wait_seconds(chat, place)
    events.append(chat, EventType.QUEUE, position=place, estimated_wait_seconds=wait)
    return Started(chat, raw, False, place, wait)


def post_visitor_message(
    chat: Chat, *, body: str, attachments: Sequence[Attachment] = ()
) -> Message:
    """The visitor writes: a customer message on the chat's ticket, committed before it is
    acknowledged; the ticket's hook appends it as the chat's next event, in the message's
    own transaction (tickets.add_message's: one transaction, no savepoint inside another)."""
    if chat.state == ChatState.ENDED:
        raise ActionRefused(
            "chat_ended", _("This chat has ended. Start a new one to write to us."), status=409
        )
    body = check_body(body)
    ticket = Ticket(pk=chat.ticket_id)  # add_message locks and reads the ticket itself
    if chat.state != ChatState.OFFLINE:
        with writing_to(chat):
            return tickets.add_message(
                ticket,
                author=chat.visitor,
                body=body,
                channel=Channel.CHAT,
                attachments=attachments,
            )
    with transaction.atomic():
        # Offline, the ticket is an ordinary one, which the hook does not treat as a chat:
        # what the visitor adds in the widget is a portal message (its agent is mailed, "any
        # news?" gets the automatic answer), and they still see it where they wrote it.
        message = tickets.add_message(
            ticket,
            author=chat.visitor,
            body=body,
            channel=Channel.WEB,
            attachments=attachments,
        )
        append_message(chat, message, attachments)
    return message


def _locked(chat: Chat) -> Chat:
    """The chat's row locked, after its ticket's: a message locks the ticket and then appends
    to the chat, so every chat action takes the two in that same order (the other order
    deadlocks with a visitor writing while the agent accepts or ends)."""
    Ticket.objects.select_for_update(of=("self",)).filter(pk=chat.ticket_id).values_list(
        "pk", flat=True
    ).first()
    return (
        Chat.objects.select_for_update(of=("self",))
        .select_related("ticket", "department", "visitor", "agent")
        .get(pk=chat.pk)
    )


@transaction.atomic
def accept(chat: Chat, *, agent: User) -> Chat:
    """An agent of the chat's department takes it (offered to them or picked from the line):
    the ticket is assigned to them. Someone else's chat is a 409; taking one's own twice is
    a no-op."""
    chat = _locked(chat)
    if not can_work(agent, chat.ticket):
        raise Chat.DoesNotExist
    if chat.state == ChatState.ACTIVE and chat.agent_id == agent.pk:
        return chat
    if chat.state == ChatState.ACTIVE:
        raise ActionRefused(
            "chat_taken", _("Another agent has already taken this chat."), status=409
        )
    if chat.state != ChatState.WAITING:
        raise ActionRefused("chat_ended", _("This chat has already ended."), status=409)
    now = timezone.now()
    chat.state = ChatState.ACTIVE
    chat.agent = agent
    chat.accepted_at = now
    chat.offered_to = None
    chat.offered_at = None
    chat.save(update_fields=["state", "agent", "accepted_at", "offered_to", "offered_at"])
    tickets.assign(chat.ticket, actor=Actor.of(agent), assignee=agent)
    queue.touch_idle_since(agent.pk, now)
    events.append(chat, EventType.ASSIGNED, agent=agent.display_name)
    _positions_changed(chat.department_id)
    return chat


@transaction.atomic
def transfer(
    chat: Chat,
    *,
    by: User,
    agent: User | None = None,
    department: Department | None = None,
) -> Chat:
    """Hand a live chat on: to another agent of its department (online, with room: they have
    it at once, event `assigned`), or to another department (back to `waiting` there, event
    `queue` with its new place, offered to that department's next free agent). The ticket
    follows: assigned to the new agent, or moved to the new department and released."""
    chat = _locked(chat)
    if not can_work(by, chat.ticket):
        raise Chat.DoesNotExist
    if chat.state not in (ChatState.WAITING, ChatState.ACTIVE):
        raise ActionRefused("chat_ended", _("This chat has already ended."), status=409)
    if (agent is None) == (department is None):
        raise ActionRefused(
            "transfer_target", _("Choose an agent or a department to transfer the chat to.")
        )
    now = timezone.now()
    actor = Actor.of(by)
    old_department = chat.department_id
    was_waiting = chat.state == ChatState.WAITING
    if agent is not None:
        if agent.pk == chat.agent_id and chat.state == ChatState.ACTIVE:
            raise ActionRefused("transfer_same_agent", _("This chat is already theirs."))
        on_duty = {a.agent_id: a for a in queue.agents_on_duty(chat.department_id, now)}
        if agent.pk not in on_duty:
            raise ActionRefused(
                "transfer_agent_away",
                _("{name} is not online in this chat's department.").format(
                    name=agent.display_name
                ),
            )
        if on_duty[agent.pk].load >= on_duty[agent.pk].limit:
            raise ActionRefused(
                "transfer_agent_full",
                _("{name} already has as many chats as they take.").format(name=agent.display_name),
            )
        chat.state = ChatState.ACTIVE
        chat.agent = agent
        chat.accepted_at = chat.accepted_at or now
        chat.offered_to = None
        chat.offered_at = None
        chat.save(update_fields=["state", "agent", "accepted_at", "offered_to", "offered_at"])
        tickets.assign(chat.ticket, actor=actor, assignee=agent)
        queue.touch_idle_since(agent.pk, now)
        events.append(chat, EventType.ASSIGNED, agent=agent.display_name)
        if was_waiting:
            _positions_changed(old_department)
        return chat
    assert department is not None
    if department.pk == chat.department_id:
        raise ActionRefused(
            "transfer_same_department", _("The chat is already in this department.")
        )
    # Assigned to nobody first: the department's action releases only an assignee who is
    # not one of its agents, and the chat now waits for whoever of them takes it.
    tickets.update_ticket(chat.ticket, actor, assignee=None, department=department)
    # Queued afresh: the waits the estimates are made of run from queueing to accepting.
    chat.state = ChatState.WAITING
    chat.department = department
    chat.agent = None
    chat.accepted_at = None
    chat.offered_to = None
    chat.offered_at = None
    chat.declined_by = []
    chat.queued_at = now
    chat.save(
        update_fields=[
            "state",
            "department",
            "agent",
            "accepted_at",
            "offered_to",
            "offered_at",
            "declined_by",
            "queued_at",
        ]
    )
    _offer(chat, now)
    queue.tell_position(chat, always=True)
    if was_waiting:
        _positions_changed(old_department)
    return chat


def _role(chat: Chat, by: User | None) -> str:
    if by is None:
        return AuthorRole.SYSTEM
    return AuthorRole.VISITOR if by.pk == chat.visitor_id else AuthorRole.AGENT


@transaction.atomic
def end(chat: Chat, *, by: User | None, keep_open: bool = False) -> Chat:
    """End the chat (the visitor, an agent, or the system when the visitor left). With
    `keep_open`, or when no agent has answered yet, it continues as a ticket: open, answered
    by mail when there is an address. Otherwise the ticket is resolved (a reply reopens it).
    Ending an ended chat changes nothing."""
    chat = _locked(chat)
    if chat.state in (ChatState.ENDED, ChatState.OFFLINE):
        return chat
    was_waiting = chat.state == ChatState.WAITING
    now = timezone.now()
    chat.state = ChatState.ENDED
    chat.ended_at = now
    chat.offered_to = None
    chat.offered_at = None
    chat.save(update_fields=["state", "ended_at", "offered_to", "offered_at"])
    ticket = chat.ticket
    answered = ticket.first_response_at is not None
    continues = keep_open or not answered
    if continues:
        _mail_from_now_on(chat, ticket)
    elif ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        actor = Actor.of(by) if by is not None and by.is_agent else Actor(ActorKind.SYSTEM)
        tickets.change_status(ticket, actor=actor, status=TicketStatus.RESOLVED)
    # The survey, in the widget, for a chat an agent served to its end: not for one that goes
    # on as a ticket (its survey comes when that is resolved) nor one nobody answered.
    asked = not continues and surveys.claim(ticket, via=SurveyVia.CHAT) is not None
    events.append(
        chat, EventType.ENDED, by=_role(chat, by), continues_as_ticket=continues, survey=asked
    )
    if was_waiting:
        _positions_changed(chat.department_id)
    return chat


@transaction.atomic
def send_transcript(chat: Chat, *, language: str | None = None) -> bool:
    """Mail the conversation, as the visitor read it, to their address (the signed-in
    customer's, the one a site vouched for, or the one they typed): once per chat, after it
    ended. False when there is no address, it was sent already, or the chat goes on."""
    chat = _locked(chat)
    address = chat.email
    if chat.state not in (ChatState.ENDED, ChatState.OFFLINE) or not address:
        return False
    if chat.transcript_sent_at is not None:
        return False
    ticket = chat.ticket
    lines = [
        {
            "name": m.author.display_name if m.author else "",
            "visitor": m.author_kind == AuthorKind.CUSTOMER,
            "at": m.created_at,
            "body": m.body,
        }
        for m in Message.objects.filter(ticket=ticket, internal=False)
        .select_related("author")
        .order_by("id")
    ]
    visitor = chat.visitor
    queue_mail(
        to=address,
        template="chat_transcript",
        context={
            "ticket": ticket,
            "number": f"#{ticket.number}",
            "customer_name": chat.name or visitor.display_name,
            "lines": lines,
            "link": portal_link(ticket) if chat.email_verified else "",
        },
        language=language or ticket.language or visitor.language,
        time_zone=visitor.time_zone,
        calendar=visitor.calendar,
        thread=Thread.of(ticket),
    )
    chat.transcript_sent_at = timezone.now()
    chat.save(update_fields=["transcript_sent_at"])
    return True


@transaction.atomic
def customer_for_identity(identity: Identity) -> User:
    """The customer a widget identity stands for: the signed-in customer it names, or, for a
    user a site vouched for (its signature checked), the customer account with that address,
    made (verified, without a password) when there is none. An agent's or admin's address is
    never taken for a visitor."""
    if identity.user_id is not None:
        user = User.objects.filter(pk=identity.user_id, is_active=True).first()
    else:
        email = normalize_email(identity.email)
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(
                email=email,
                full_name=identity.name[:200],
                role=Role.CUSTOMER,
                email_verified_at=timezone.now(),
                language=get_language() or settings.LANGUAGE_CODE,
            )
            user.set_unusable_password()
            user.save()
    if user is None or not user.is_customer or not user.is_active:
        raise ActionRefused(
            "identity_refused", _("This sign-in cannot start a chat. Please reload the page.")
        )
    return user


def _mail_from_now_on(chat: Chat, ticket: Ticket) -> None:
    """The chat is over and the ticket goes on: its answers go by mail, to the signed-in
    customer's address or the one the visitor gave (the only one their contact has)."""
    if chat.email_verified:
        fields: dict[str, Any] = {"notify_customer": True}
    elif chat.email:
        fields = {"notify_customer": True, "notify_address": chat.email}
    else:
        return
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


# --- agents' presence -------------------------------------------------------------------------


@transaction.atomic
def set_presence(agent: User, status: str) -> AgentPresence:
    """An agent says whether they take chats; `online` repeated is the heartbeat. Going
    online offers them what waits in their departments; leaving hands their offers on."""
    if not agent.is_agent:
        raise ActionRefused("agents_only", _("Only agents take chats."), status=403)
    if status not in Presence.values:
        raise ActionRefused("invalid_status", _("Unknown status."), field="status")
    now = timezone.now()
    presence, _created = AgentPresence.objects.select_for_update().get_or_create(
        agent=agent, defaults={"status": status, "last_seen_at": now, "idle_since": now}
    )
    was_online = presence.status == Presence.ONLINE and (
        presence.last_seen_at >= queue.heartbeat_cutoff(now)
    )
    presence.status = status
    presence.last_seen_at = now
    if status == Presence.ONLINE and not was_online:
        presence.idle_since = now
    presence.save(update_fields=["status", "last_seen_at", "idle_since"])
    if status != Presence.ONLINE:
        hand_on_offers(agent.pk, now)
    elif not was_online:
        offer_waiting(agent, now)
    return presence


@transaction.atomic
def heartbeat(agent: User) -> bool:
    """The agent's desk is still open; False when they are not online (nothing to keep)."""
    return bool(
        AgentPresence.objects.filter(agent=agent, status=Presence.ONLINE).update(
            last_seen_at=timezone.now()
        )
    )


def hand_on_offers(agent_id: int, now: Any = None) -> None:
    """Chats offered to an agent who left go to the next agent."""
    for chat_id in Chat.objects.filter(state=ChatState.WAITING, offered_to_id=agent_id).values_list(
        "pk", flat=True
    ):
        reoffer(chat_id, now=now, force=True)


def offer_waiting(agent: User, now: Any = None) -> None:
    """Waiting chats nobody has been offered, in the agent's departments, in serving order."""
    from destek.tickets.models import agent_department_ids

    unoffered = queue.in_serving_order(
        Chat.objects.filter(
            state=ChatState.WAITING,
            offered_to__isnull=True,
            department_id__in=agent_department_ids(agent),
        )
    ).values_list("pk", flat=True)
    for chat_id in list(unoffered):
        reoffer(chat_id, now=now, force=True)


@transaction.atomic
def reoffer(chat_id: int, *, now: Any = None, force: bool = False) -> int | None:
    """Offer a waiting chat to the next agent when its offer expired (or `force`: nobody has
    it, or its agent left). Safe to run twice: a chat accepted, ended or freshly offered
    meanwhile is left alone."""
    now = now or timezone.now()
    chat = Chat.objects.select_for_update(of=("self",)).filter(pk=chat_id).first()
    if chat is None or chat.state != ChatState.WAITING:
        return None
    if not force and chat.offered_to_id is not None and not queue.offer_expired(chat, now):
        return chat.offered_to_id
    return _offer(chat, now)


def _offer(chat: Chat, now: Any) -> int | None:
    """Offer the chat to the next agent and look again when the offer runs out."""
    agent_id = queue.offer(chat, now)
    if agent_id is not None:
        chat_id = chat.pk
        transaction.on_commit(lambda: _expire_later(chat_id), robust=True)
        realtime.notify_agent(agent_id, chat_id, "offered")  # their open inbox hears it at once
    return agent_id


#: Called with a chat's id after an offer is committed: `chat.jobs` (which calls these
#: actions, so they cannot import it) adds the job that hands the offer on when it runs out.
offer_made: list[Callable[[int], None]] = []


def _expire_later(chat_id: int) -> None:
    for hook in offer_made:
        hook(chat_id)


@transaction.atomic
def went_offline(agent_id: int, *, now: Any = None) -> bool:
    """An agent whose heartbeat stopped (a closed tab) is offline; their offers go on.
    Safe to run twice: only an agent still online and still silent is changed."""
    now = now or timezone.now()
    changed = AgentPresence.objects.filter(
        agent_id=agent_id, status=Presence.ONLINE, last_seen_at__lt=queue.heartbeat_cutoff(now)
    ).update(status=Presence.OFFLINE)
    if changed:
        hand_on_offers(agent_id, now)
    return bool(changed)


def tell_positions(department_id: int) -> None:
    """Tell each waiting chat of the department its place when it changed: one short
    transaction per chat, holding only that chat's row, so that it never waits in a circle
    with an accept or an offer holding another chat."""
    for chat_id in list(queue.waiting(department_id).values_list("pk", flat=True)):
        with transaction.atomic():
            chat = Chat.objects.select_for_update().filter(pk=chat_id).first()
            if chat is not None and chat.state == ChatState.WAITING:
                queue.tell_position(chat)


#: Called with a department's id after a change to its line commits: `chat.jobs` tells the
#: waiting visitors their new places in a job of its own.
positions_changed: list[Callable[[int], None]] = []


def _positions_changed(department_id: int) -> None:
    def later() -> None:
        for hook in positions_changed:
            hook(department_id)

    transaction.on_commit(later, robust=True)


# --- what both sides see happen ---------------------------------------------------------------


@transaction.atomic
def typing(chat: Chat, *, author: str) -> bool:
    """Someone is typing: stored at most once per author every few seconds. False when this
    one was folded into the last."""
    if not cache.add(f"chat:typing:{chat.pk}:{author}", 1, timeout=TYPING_EVERY_SECONDS):
        return False
    events.append(chat, EventType.TYPING, author=author)
    return True


@transaction.atomic
def seen(chat: Chat, *, author: str, up_to: int) -> bool:
    """`author` has read the chat up to event `up_to`; only news is stored."""
    up_to = min(max(0, up_to), Chat.objects.values_list("last_seq", flat=True).get(pk=chat.pk))
    key = f"chat:seen:{chat.pk}:{author}"
    if up_to <= (cache.get(key) or 0):
        return False
    cache.set(key, up_to, timeout=24 * 3600)
    events.append(chat, EventType.SEEN, author=author, up_to=up_to)
    return True


RATING_COMMENT_MAX = 2000


@transaction.atomic
def rate(chat: Chat, *, rating: int, comment: str = "") -> Chat:
    """The visitor's rating of the chat, 1 to 5 (kept; surveys build on it)."""
    if not 1 <= rating <= 5:
        raise ActionRefused("invalid_rating", _("Choose a rating from 1 to 5."), field="rating")
    comment = strip_invisible(comment or "").strip()
    if len(comment) > RATING_COMMENT_MAX:
        raise ActionRefused(
            "comment_too_long",
            _("The comment is too long: at most {maximum} characters.").format(
                maximum=RATING_COMMENT_MAX
            ),
            field="comment",
        )
    Chat.objects.filter(pk=chat.pk).update(rating=rating, rating_comment=comment)
    chat.rating, chat.rating_comment = rating, comment
    return chat


# --- the survey at the end ----------------------------------------------------------------------


def survey_asked(chat: Chat) -> bool:
    """Whether the chat's ticket has a survey to answer (asked in the widget at its end, or,
    for a chat that went on as a ticket, by mail once that was resolved)."""
    return chat.state in (ChatState.ENDED, ChatState.OFFLINE) and (
        SurveySent.objects.filter(ticket_id=chat.ticket_id).exists()
    )


@transaction.atomic
def answer_survey(
    chat: Chat,
    *,
    speed: object,
    clarity: object,
    tone: object,
    solved: object,
    comment: str = "",
) -> SurveyAnswer:
    """The visitor answers the survey of their chat's ticket (answering again replaces it).
    An unhappy answer reopens the ticket once (surveys.record_answer); a chat's ticket is then
    answered by mail, like one that continued as a ticket, when there is an address."""
    chat = _locked(chat)
    if not survey_asked(chat):
        raise ActionRefused("survey_not_asked", _("This chat has no survey."), status=409)
    ticket = chat.ticket
    answer = surveys.record_answer(
        ticket,
        chat.visitor,
        speed=speed,
        clarity=clarity,
        tone=tone,
        solved=solved,
        comment=comment,
    )
    reopened = Ticket.objects.filter(
        pk=ticket.pk, status__in=(TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
    ).exists()
    if answer.escalated_at is not None and reopened:
        _mail_from_now_on(chat, ticket)
    return answer
