"""Template helpers of the desk."""

from __future__ import annotations

from datetime import date

from babel.numbers import format_percent
from django import template
from django.conf import settings
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import User
from destek.automation.choices import rule_label as _rule_label
from destek.lib.dates import format_duration, format_when, localize_digits
from destek.messaging.health import failing_channels
from destek.messaging.identity import address_text, customer_name, identity_of
from destek.messaging.models import MessagingChannel
from destek.notify.demo_mail import BACKEND
from destek.tickets import config
from destek.tickets.choices import Channel, CloseReason, Priority, TicketStatus

register = template.Library()
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

#: Field values recorded in events, as people read them: statuses, priorities, reasons.
_EVENT_FIELDS = {"status": TicketStatus, "priority": Priority, "close_reason": CloseReason}

#: The service-level clocks an SLA event names, as the ticket page calls them.
_CLOCKS = {
    "first_response": _("First response"),
    "next_response": _("Next response"),
    "resolution": _("Resolution"),
}


@register.filter
def rule_label(name: str) -> str:
    """The rule a history entry names, the built-in assignment rules in the reader's language."""
    return _rule_label(name)


@register.filter
def event_value(value: str, field: str = "") -> str:
    """A status, priority, close reason, channel code or department in the reader's
    language; anything else (an agent's address, a number) as it was recorded."""
    if field == "department":
        # Recorded by its slug; read in the reader's language (a department since removed
        # keeps its slug).
        department = config.department_by_slug(value)
        return department.display_name() if department else value
    choices = _EVENT_FIELDS.get(field)
    candidates = [choices] if choices else [TicketStatus, Priority, CloseReason, Channel]
    for enum in candidates:
        if value in enum.values:
            return str(enum(value).label)
    if value in _CLOCKS:
        return str(_CLOCKS[value])
    if value.isdigit():
        # A ticket number (a merge): in the page's digits, like the numbers around it.
        return localize_digits(value)
    return value


@register.simple_tag
def demo_mailbox_on() -> bool:
    """Whether outgoing mail is caught in the demo mailbox (the queue then links to it)."""
    return bool(settings.EMAIL_BACKEND == BACKEND)


@register.filter
def spent(minutes: int | str | None) -> str:
    """Time logged on a ticket: "45 min", or "2 h 05 min", in the page's digits."""
    minutes = max(0, int(minutes or 0))
    if minutes < 60:
        text = str(_("{minutes} min")).format(minutes=minutes)
    else:
        text = str(_("{hours} h {minutes:02d} min")).format(
            hours=minutes // 60, minutes=minutes % 60
        )
    return localize_digits(text)


@register.filter
def duration(seconds: int | str | None) -> str:
    """A wait in minutes and seconds ("3:07"), or hours and minutes past an hour ("1 h 05
    min"), in the page's digits."""
    if seconds is None or seconds == "":
        return ""
    seconds = max(0, int(seconds))
    if seconds < 3600:
        text = f"{seconds // 60}:{seconds % 60:02d}"
    else:
        text = str(_("{hours} h {minutes:02d} min")).format(
            hours=seconds // 3600, minutes=seconds % 3600 // 60
        )
    return localize_digits(text)


@register.simple_tag
def customer_contact(customer: User) -> dict[str, object]:
    """A customer's name and where they are reached: "Aysel Məmmədova", "Telegram @aysel"
    for a messenger customer (one statement), their address otherwise (none)."""
    identity = identity_of(customer)
    return {
        "name": customer_name(customer, identity),
        "address": address_text(customer, identity),
        "messenger": identity is not None,
    }


@register.filter
def reached_at(customer: User) -> str:
    """The address, or the messenger's name for a messenger customer, with no statement (for
    lists)."""
    return address_text(customer)


@register.simple_tag
def failing_messenger_channels(user: User) -> list[MessagingChannel]:
    """For an admin, the messenger channels that fail (their replies wait); for anyone else
    nothing, and no statement."""
    if not getattr(user, "is_admin", False):
        return []
    return failing_channels()


@register.filter
def minutes_long(minutes: float | None) -> str:
    """A median time in the reader's words and digits: "2 hr, 40 min"."""
    return "" if minutes is None else format_duration(float(minutes))


@register.filter
def percent(share: float | str | None) -> str:
    """A share 0..1 as a whole percentage in the reader's digits ("83 %"); "—" for none."""
    if share is None or share == "":
        return "—"
    text = format_percent(float(share), locale=to_locale(get_language() or "en"))
    # Persian: its own digits and percent sign (Babel's pattern keeps the Latin ones).
    return text.translate(_PERSIAN).replace("%", "٪") if get_language() == "fa" else text


@register.filter
def iso_date(value: str) -> str:
    """A period's first day (ISO text, as the reports key it) as a date in the reader's
    language and calendar."""
    try:
        return format_when(date.fromisoformat(value), style="date")
    except (TypeError, ValueError):
        return value
