"""Reading macros: which an agent may use (on a ticket, or at all), the reply text a ticket
gets, and what applying one will do, for the preview."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.automation.choices import AssigneeChoice
from destek.automation.models import Macro, MacroText
from destek.lib.dates import localize_digits
from destek.lib.errors import ActionRefused
from destek.tickets.access import agent_department_ids
from destek.tickets.actions import tag_names
from destek.tickets.choices import CloseReason, Priority, TicketStatus
from destek.tickets.models import Ticket


class _InALanguage(Protocol):
    language: str


Text = TypeVar("Text", bound=_InALanguage)

PLACEHOLDER = re.compile(r"\{(customer_name|ticket_number|agent_name|department)\}")


def render_text(body: str, *, ticket: Ticket, agent: User | None) -> str:
    """Fill the known placeholders of a macro's or a rule's text with plain text (`agent`:
    who applies the macro, the ticket's agent for a rule; none leaves the name empty). Not
    `str.format`: a text written in the admin must not reach attributes (`{x.__class__}`) or
    fail on other braces."""
    number = ticket.display_number
    if any("\u0600" <= char <= "\u06ff" for char in body):
        number = localize_digits(number, "fa")  # a Persian text reads Persian digits
    values = {
        "customer_name": ticket.customer.display_name,
        "ticket_number": number,
        "agent_name": agent.display_name if agent is not None else "",
        "department": ticket.department.display_name(ticket.language),
    }
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], body)


def default_language() -> str:
    """The company's language (DESTEK_LANGUAGE): a macro's text in it serves tickets in a
    language the macro has no text for."""
    return str(settings.LANGUAGE_CODE).split("-")[0]


def in_language(texts: Iterable[Text], language: str) -> Text | None:
    """Of a macro's or a rule's texts (each with a `language`, "" for any), the one in
    `language`, else the company's, else the one for any language; None when none fits."""
    by_language = {text.language: text for text in texts}
    for candidate in (language, default_language(), ""):
        if candidate in by_language:
            return by_language[candidate]
    return None


def _text_preference(language: str) -> Case:
    """0 for the ticket's own language, 1 for the company's, 2 for "any language"."""
    return Case(
        When(language=language, then=Value(0)),
        When(language=default_language(), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _with_texts(macros: QuerySet[Macro], *, language: str) -> QuerySet[Macro]:
    """Each macro with `reply_body` (its text for a ticket in `language`, or None),
    `reply_rank` (how near that text's language is) and `shown_name` (its name in the
    reader's language), all in the one statement that lists the macros."""
    texts = MacroText.objects.filter(
        macro=OuterRef("pk"), language__in=[language, default_language(), ""]
    ).order_by(_text_preference(language))
    reader = (get_language() or default_language()).split("-")[0]
    titles = MacroText.objects.filter(macro=OuterRef("pk"), language=reader).exclude(title="")
    return macros.annotate(
        reply_body=Subquery(texts.values("body")[:1]),
        reply_rank=Coalesce(
            Subquery(texts.annotate(rank=_text_preference(language)).values("rank")[:1]),
            Value(3),
        ),
        has_texts=Exists(MacroText.objects.filter(macro=OuterRef("pk"))),
        shown_name=Coalesce(Subquery(titles.values("title")[:1]), "name"),
    )


def macros_for(agent: User, ticket: Ticket) -> QuerySet[Macro]:
    """The macros `agent` may apply on `ticket`: shared ones and the agent's own, of every
    department or of the ticket's; those with a text in the ticket's language first. A
    macro whose texts are all in other languages (and none in the company's or for any
    language) is not offered: its reply would be in a language the customer may not read."""
    macros = Macro.objects.filter(
        Q(owner__isnull=True) | Q(owner_id=agent.pk),
        Q(department__isnull=True) | Q(department_id=ticket.department_id),
    ).select_related("set_department", "assignee")
    return (
        _with_texts(macros, language=ticket.language)
        .filter(Q(has_texts=False) | Q(reply_body__isnull=False))
        .order_by("reply_rank", "position", "name")
    )


def macros_of(agent: User, *, language: str | None = None) -> QuerySet[Macro]:
    """Every macro `agent` may use somewhere: shared ones of every department or of the
    agent's departments (admins: all), and the agent's own."""
    macros = Macro.objects.filter(Q(owner__isnull=True) | Q(owner_id=agent.pk))
    if not agent.is_admin:
        macros = macros.filter(
            Q(department__isnull=True) | Q(department_id__in=agent_department_ids(agent))
        )
    return _with_texts(
        macros.select_related("department", "set_department", "assignee"),
        language=language or default_language(),
    ).order_by("position", "name")


def access_macro(agent: User, ticket: Ticket, macro_id: int) -> Macro:
    """The one door to a macro on a ticket: one the agent may not use here is not found."""
    macro = macros_for(agent, ticket).filter(pk=macro_id).first()
    if macro is None:
        raise ActionRefused(
            "macro_not_found", _("This macro is not available for this ticket."), status=404
        )
    return macro


def shown_name(macro: Macro) -> str:
    """The macro's name in the reader's language, when listed by these selectors."""
    return str(getattr(macro, "shown_name", macro.name))


def reply_text(macro: Macro, ticket: Ticket) -> str | None:
    """The macro's reply for `ticket` as written (placeholders not filled): in the ticket's
    language, else the company's, else the one for any language; None when it has none."""
    if hasattr(macro, "reply_body"):  # listed by macros_for: already chosen
        body: str | None = getattr(macro, "reply_body")  # noqa: B009 (set by annotate)
        return body
    text = in_language(macro.texts.all(), ticket.language)
    return text.body if text is not None else None


@dataclass
class Preview:
    """What applying a macro to a ticket will do, in the reader's words."""

    reply: str | None = None
    note: str | None = None
    #: (what, to what), each already in the reader's language.
    changes: list[tuple[str, str]] = field(default_factory=list)


def preview(macro: Macro, ticket: Ticket, agent: User) -> Preview:
    """Read-only: the reply and the note with their placeholders filled, and each field the
    macro sets. Whether a rule refuses it is known only when it is applied."""
    body = reply_text(macro, ticket)
    shown = Preview(
        reply=render_text(body, ticket=ticket, agent=agent) if body else None,
        note=render_text(macro.note, ticket=ticket, agent=agent) if macro.note else None,
    )
    if macro.status:
        label = str(TicketStatus(macro.status).label)
        if macro.status == TicketStatus.CLOSED and macro.close_reason:
            label = f"{label} ({CloseReason(macro.close_reason).label})"
        shown.changes.append((str(_("Status")), label))
    elif body:
        shown.changes.append((str(_("Status")), str(TicketStatus.PENDING.label)))
    if macro.priority:
        shown.changes.append((str(_("Priority")), str(Priority(macro.priority).label)))
    if macro.set_department is not None:
        shown.changes.append((str(_("Department")), macro.set_department.display_name()))
    if macro.assignee_choice == AssigneeChoice.ME:
        shown.changes.append((str(_("Assignee")), agent.display_name))
    elif macro.assignee_choice == AssigneeChoice.NOBODY:
        shown.changes.append((str(_("Assignee")), str(_("Nobody"))))
    elif macro.assignee_choice == AssigneeChoice.AGENT:
        name = macro.assignee.display_name if macro.assignee else "—"
        shown.changes.append((str(_("Assignee")), name))
    if added := tag_names(macro.add_tags):
        shown.changes.append((str(_("Add tags")), ", ".join(added)))
    if removed := tag_names(macro.remove_tags):
        shown.changes.append((str(_("Remove tags")), ", ".join(removed)))
    return shown
