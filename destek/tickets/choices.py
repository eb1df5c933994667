"""The ticket vocabulary: string choices owned by code, with translated labels."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TicketStatus(models.TextChoices):
    NEW = "new", pgettext_lazy("ticket status", "New")
    OPEN = "open", pgettext_lazy("ticket status", "In progress")
    PENDING = "pending", pgettext_lazy("ticket status", "Awaiting customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")


#: Statuses in which the ticket is still being worked.
ACTIVE_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class CloseReason(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    NO_REPLY = "no_reply", _("No reply from the customer")
    DUPLICATE = "duplicate", _("Duplicate")
    CONTRACT = "contract", _("Under the contract")
    CUSTOMER = "customer", _("Closed by the customer")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


PRIORITY_ORDER = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL]


def priority_rank(value: str) -> int:
    return PRIORITY_ORDER.index(Priority(value))


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    EMAIL = "email", _("E-mail")
    CHAT = "chat", _("Chat")
    TELEGRAM = "telegram", _("Telegram")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MESSENGER = "messenger", _("Messenger")
    INSTAGRAM = "instagram", _("Instagram")
    PHONE = "phone", _("Phone")


class ActorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    TIMER = "timer", _("Timer")
    RULE = "rule", _("Rule")
    SYSTEM = "system", _("System")


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    SEEN = "seen", _("Seen by an agent")
    REPLY = "reply", _("Public reply")
    NOTE = "note", _("Internal note")
    NUDGE = "nudge", _("Customer asked for news")
    STATUS = "status", _("Status changed")
    PRIORITY = "priority", _("Priority changed")
    DEPARTMENT = "department", _("Department changed")
    ASSIGNEE = "assignee", _("Assignee changed")
    TAGS = "tags", _("Tags changed")
    TIME = "time", _("Time logged")
    MACRO = "macro", _("Macro applied")
    MERGED = "merged", _("Merged")
    REOPENED = "reopened", _("Reopened")
    NOTIFY = "notify", _("Notification settings changed")
    SLA_WARNING = "sla_warning", _("Service level nearly breached")
    SLA_BREACH = "sla_breach", _("Service level breached")
    HELD = "held", _("Unverified mail held for the customer's confirmation")
    CONFIRMED = "confirmed", _("The customer confirmed a held mail")
    CC_ADDED = "cc_added", _("Address copied")
    CC_REMOVED = "cc_removed", _("Address no longer copied")
    FOLLOWED = "followed", _("Agent follows")
    UNFOLLOWED = "unfollowed", _("Agent stopped following")
    CUSTOMER = "customer", _("Moved to the customer's account")
    INCIDENT_LINKED = "incident_link", _("Linked to an incident")
    INCIDENT_UNLINKED = "incident_unlink", _("Unlinked from an incident")


class Verification(models.TextChoices):
    """Whether a mailed message is known to come from its sender (the receiving server's
    SPF, DKIM and DMARC verdict). Empty: not in question (the portal, the API, checked mail)."""

    NONE = "", _("Not in question")
    PENDING = "pending", _("Held until the customer confirms it")
    CONFIRMED = "confirmed", _("Confirmed by the customer")
    UNVERIFIED = "unverified", _("Sender not verified")


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("Automatic")


class IntakeRuleCode(models.TextChoices):
    GENERIC_SUBJECT = "generic_subject", _("Refuse subjects that say nothing")
    SHOUTING_SUBJECT = "shouting_subject", _("Refuse subjects with runs of ??? or !!!")
    DUPLICATE = "duplicate", _("Refuse duplicates of an open ticket")
    NUDGE = "nudge", _("Treat messages that only ask for news as nudges")
    CRITICAL = "critical", _("Accept customers' critical incidents that give the facts")
