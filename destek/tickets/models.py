from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Tier
from destek.accounts.models import User
from destek.lib import config_cache
from destek.lib.names import name_in, names_field
from destek.sla.models import Calendar
from destek.tickets.choices import (
    ACTIVE_STATUSES,
    ActorKind,
    AuthorKind,
    Channel,
    CloseReason,
    EventKind,
    IntakeRuleCode,
    Priority,
    TicketStatus,
    Verification,
)


def default_reopen_window() -> int:
    return int(settings.DESTEK_REOPEN_WINDOW_DAYS)


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    names = names_field()
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    email = models.EmailField(_("address"), blank=True)
    reopen_window_days = models.PositiveIntegerField(
        _("reopen window (days)"),
        default=default_reopen_window,
        help_text=_("How long after closing a customer may reopen a ticket."),
    )
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="departments",
        verbose_name=_("agents"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    billing = models.BooleanField(
        _("billing department"),
        default=False,
        help_text=_("Its ticket mail goes to the customer's billing address, if they chose one."),
    )
    asks_diagnostics = models.BooleanField(
        _("asks for technical details"),
        default=False,
        help_text=_(
            "The new-ticket form asks for the device, system, browser, steps to reproduce and "
            "what was tried."
        ),
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self, language: str | None = None) -> str:
        """The name in `language` (the active one by default)."""
        return name_in(self.names, self.name, language)


class Membership(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    is_lead = models.BooleanField(_("lead"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["department", "user"], name="membership_unique")
        ]
        verbose_name = _("department membership")
        verbose_name_plural = _("department memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.department}"


class Tag(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


def far_future() -> datetime:
    return FAR_FUTURE


def new_ticket_number() -> int:
    """A random 8-digit number: sparse, so one number says nothing about the next."""
    return 10_000_000 + secrets.randbelow(90_000_000)


class TicketQuerySet(models.QuerySet["Ticket"]):
    def visible_to(self, user: User | AnonymousUser | None) -> TicketQuerySet:
        """What `user` may see at all: the rule under every door in `tickets.access`."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_admin:
            return self
        if user.is_agent:
            # A literal id list, not a join through memberships: SQLite then walks the ticket
            # index backwards instead of sorting every ticket of the departments for each page.
            return self.filter(department_id__in=agent_department_ids(user))
        return self.filter(customer_id__in=customer_ids_visible_to(user))


def customer_ids_visible_to(user: User) -> list[int]:
    """A customer's own id, and their colleagues' where the organisation shares tickets."""
    organisation = user.organisation
    if organisation is None or not organisation.share_tickets:
        return [user.pk]
    return list(User.objects.filter(organisation=organisation).values_list("pk", flat=True))


def departments_of_agents() -> dict[int, frozenset[int]]:
    """The departments each agent works in, by user id; kept per process until a membership
    changes (`destek.tickets.config` watches them)."""

    def load() -> dict[int, frozenset[int]]:
        found: dict[int, set[int]] = {}
        for user_id, department_id in Membership.objects.values_list("user_id", "department_id"):
            found.setdefault(user_id, set()).add(department_id)
        return {user_id: frozenset(ids) for user_id, ids in found.items()}

    return config_cache.cached("tickets:memberships", load)


def agent_department_ids(user: User) -> list[int]:
    """The departments an agent works in (kept on the user for the request)."""
    cached: list[int] | None = getattr(user, "_department_ids", None)
    if cached is None:
        cached = sorted(departments_of_agents().get(user.pk, ()))
        user._department_ids = cached  # type: ignore[attr-defined]
    return list(cached)


class Ticket(models.Model):
    number = models.BigIntegerField(_("number"), unique=True, default=new_ticket_number)
    subject = models.CharField(_("subject"), max_length=250)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="tickets"
    )
    priority = models.CharField(
        _("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    urgency = models.CharField(
        _("urgency"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    close_reason = models.CharField(
        _("close reason"), max_length=16, choices=CloseReason.choices, blank=True
    )
    contract_clause = models.CharField(_("contract clause"), max_length=100, blank=True)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="tickets")
    related_to = models.ForeignKey(
        "self",
        verbose_name=_("follow-up of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_from",
    )
    notify_customer = models.BooleanField(_("e-mail the customer"), default=True)
    notify_address = models.EmailField(_("notification address"), blank=True)
    # An SMS of each agent reply to the customer's verified phone number, when they ask for it.
    notify_sms = models.BooleanField(_("SMS the customer"), default=False)
    details = models.JSONField(
        _("diagnostic details"),
        default=dict,
        blank=True,
        help_text=_("Device, system, browser, server or order: see tickets/details.py."),
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    first_seen_at = models.DateTimeField(_("first seen by an agent"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(
        _("last customer message"), null=True, blank=True
    )
    last_agent_message_at = models.DateTimeField(_("last agent message"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Service-level clocks (destek.tickets.clocks keeps them): when each is due, when it was
    # warned about and breached, and the next instant the sweep must look at this ticket.
    sla_policy = models.ForeignKey(
        "tickets.Policy",
        verbose_name=_("SLA policy"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    sla_warned = models.JSONField(default=list, blank=True)
    # Business minutes from filing to the first answer and to the (latest) resolution, on the
    # policy's calendar with paused time left out, kept by `clocks.refresh` when they happen
    # (`destek backfill_business_minutes` for older tickets): the reports' medians read them.
    # Empty without a policy, or until it happens.
    first_response_business_minutes = models.PositiveIntegerField(
        _("first response, business minutes"), null=True, blank=True
    )
    resolution_business_minutes = models.PositiveIntegerField(
        _("resolution, business minutes"), null=True, blank=True
    )
    sla_check_at = models.DateTimeField(null=True, blank=True)
    # The agents' queue order, kept with the clocks so one index serves it: the nearest due
    # instant of a clock still running (breached ones are in the past, so they come first;
    # none: the far future), then priority, then VIP customers.
    queue_due = models.DateTimeField(default=far_future)
    # The priority the SLA policy is chosen by: what routing and agents set. A raise after a
    # breach changes `priority` only, so it cannot retarget clocks back to the ticket's start.
    policy_priority = models.CharField(max_length=16, choices=Priority.choices, blank=True)
    priority_rank = models.PositiveSmallIntegerField(default=1)
    # The customer declared a critical incident with the facts, and it was accepted: an agent
    # lowers its priority only with a reason the customer sees.
    declared_critical = models.BooleanField(
        _("critical incident declared by the customer"), default=False
    )
    customer_vip = models.BooleanField(default=False)
    # How many addresses are copied on the ticket and how many agents follow it, kept by the
    # actions in `tickets.actions.people` under the ticket's lock: a reply to a ticket nobody
    # else takes part in (nearly all) then costs no look-up of either.
    cc_count = models.PositiveSmallIntegerField(_("copied addresses"), default=0)
    follower_count = models.PositiveSmallIntegerField(_("followers"), default=0)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["customer", "-id"], name="ticket_customer_idx"),
            models.Index(fields=["department", "-id"], name="ticket_department_idx"),
            models.Index(fields=["department", "status", "-id"], name="ticket_dept_status_idx"),
            models.Index(fields=["assignee", "-id"], name="ticket_assignee_idx"),
            models.Index(fields=["status", "status_changed_at"], name="ticket_status_age_idx"),
            models.Index(fields=["first_response_due"], name="ticket_first_due_idx"),
            models.Index(fields=["next_response_due"], name="ticket_next_due_idx"),
            models.Index(fields=["resolution_due"], name="ticket_resolution_due_idx"),
            models.Index(fields=["sla_check_at"], name="ticket_sla_check_idx"),
            models.Index(
                fields=["queue_due", "-priority_rank", "-customer_vip", "id"],
                name="ticket_queue_idx",
            ),
            # An agent's queue: their department first, so the order needs no sort.
            models.Index(
                fields=["department", "queue_due", "-priority_rank", "-customer_vip", "id"],
                name="ticket_dept_queue_idx",
            ),
            # The desk's queue and a ticket's previous/next: active tickets only. Closed and
            # resolved ones (most of a large table) all wait at the far-future due instant,
            # where a walk through the full indexes above would have to step over them.
            models.Index(
                fields=["queue_due", "-priority_rank", "-customer_vip", "id"],
                name="ticket_active_queue_idx",
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
            models.Index(
                fields=["department", "queue_due", "-priority_rank", "-customer_vip", "id"],
                name="ticket_dept_active_queue_idx",
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
            # The desk's queue sorted by a column of the ticket itself (desk/queue_filters.py):
            # a page is then a walk of one of these, either way round, instead of a sort of
            # every active ticket (at a million tickets, 0.1 to 10 ms instead of 300 ms on
            # PostgreSQL). Without the department: an agent of several departments, and
            # admins, walk the same one. The number has its unique index already; columns of
            # other tables (customer, assignee, department names) are sorted, not walked.
            models.Index(
                fields=["updated_at", "id"],
                name="ticket_active_updated_idx",
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
            models.Index(
                fields=["subject", "id"],
                name="ticket_active_subject_idx",
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
            models.Index(
                fields=["priority_rank", "id"],
                name="ticket_active_priority_idx",
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
            # The reports (tickets/reports.py): each reads the tickets filed in a period and
            # only these columns, so PostgreSQL answers from the index alone instead of
            # reading every ticket row (at a million tickets, about 4x less time for a month).
            models.Index(
                fields=["created_at"],
                name="ticket_report_idx",
                include=[
                    "department",
                    "channel",
                    "assignee",
                    "status",
                    "first_response_at",
                    "first_response_due",
                    "first_response_breached_at",
                    "resolved_at",
                    "resolution_due",
                    "resolution_breached_at",
                    "first_response_business_minutes",
                    "resolution_business_minutes",
                ],
            ),
            # The reports' backlog: open tickets by age.
            models.Index(
                fields=["created_at"],
                name="ticket_active_created_idx",
                include=["department", "channel"],
                condition=Q(status__in=[status.value for status in ACTIVE_STATUSES]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} {self.subject}"

    @property
    def display_number(self) -> str:
        return f"#{self.number}"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_messages",
    )
    author_kind = models.CharField(_("author"), max_length=16, choices=AuthorKind.choices)
    body = models.TextField(_("text"))
    internal = models.BooleanField(_("internal note"), default=False)
    nudge = models.BooleanField(_("nudge"), default=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    quoted = models.TextField(
        _("quoted history"),
        blank=True,
        help_text=_("What a mailed reply quoted below its new text; folded away in the thread."),
    )
    email_from = models.EmailField(
        _("sent from"),
        blank=True,
        help_text=_("The address a mailed message came from, when it was not the account's."),
    )
    verification = models.CharField(
        _("sender verification"),
        max_length=16,
        choices=Verification.choices,
        default=Verification.NONE,
        blank=True,
        help_text=_(
            "Pending: mail whose sender could not be verified, hidden from the customer until "
            "they confirm it."
        ),
    )
    # The ticket this message was written on, when a merge moved it elsewhere: that
    # ticket's page still shows it ("moved to #N"), the new one marks it "from #M".
    merged_from = models.ForeignKey(
        Ticket,
        verbose_name=_("moved from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="moved_messages",
    )
    written_by_rule = models.CharField(
        _("written by the rule"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("The automation rule that wrote this internal note, by its name."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["ticket", "id"], name="message_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Generated storage names: the customer's file name never reaches the file system."""
    suffix = PurePosixPath(filename).suffix.lower()[:12]
    if not suffix[1:].isalnum():
        suffix = ""
    now = timezone.now()
    return f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{suffix}.bin"


class Attachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploads"
    )
    file = models.FileField(upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class TicketEvent(models.Model):
    """The audit log: who or what changed which field of a ticket, from what to what, when."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    actor_kind = models.CharField(_("by"), max_length=16, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_value = models.CharField(_("from"), max_length=250, blank=True)
    to_value = models.CharField(_("to"), max_length=250, blank=True)
    public = models.BooleanField(_("shown to the customer"), default=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "id"], name="event_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_value}->{self.to_value}"


class TimeEntry(models.Model):
    """Time an agent spent on a ticket (`DESTEK_TIME_TRACKING`), summed in reports."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="time_entries", verbose_name=_("ticket")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="time_entries",
        verbose_name=_("agent"),
    )
    minutes = models.PositiveIntegerField(_("minutes"))
    note = models.CharField(_("what was done"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("logged at"), default=timezone.now)

    class Meta:
        verbose_name = _("time entry")
        verbose_name_plural = _("time entries")
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="tickets_time_ticket"),
            models.Index(fields=["created_at"], name="tickets_time_created"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes} min on ticket {self.ticket_id}"


class TicketSearch(models.Model):
    """A ticket's words as search compares them (tickets/search.py): stems of its number,
    subject, customer, organisation, tags and public messages, and apart those of its internal
    notes (agents only). Rebuilt whole by a job after each change, so it can run twice. On
    PostgreSQL full-text columns and GIN indexes sit beside it, on SQLite an FTS5 table."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="search"
    )
    public = models.TextField(blank=True)
    internal = models.TextField(blank=True)
    indexed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ticket search words")
        verbose_name_plural = _("ticket search words")

    def __str__(self) -> str:
        return f"search words of ticket {self.ticket_id}"


class TicketTerm(models.Model):
    """Every stem the tickets use (public and internal): where a misspelt query word finds
    the real words nearest to it (pg_trgm on PostgreSQL, an in-memory trigram index on
    SQLite). Grows as tickets are indexed; a word is never taken out."""

    term = models.CharField(max_length=100, unique=True)

    class Meta:
        verbose_name = _("ticket search term")
        verbose_name_plural = _("ticket search terms")

    def __str__(self) -> str:
        return self.term


class IntakeRule(models.Model):
    """The admin's switch for one intake rule (the rule's logic lives in code)."""

    code = models.CharField(_("rule"), max_length=32, choices=IntakeRuleCode.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    limit = models.PositiveSmallIntegerField(
        _("limit per customer in 30 days"),
        null=True,
        blank=True,
        help_text=_(
            "Critical incidents: how many one customer may declare in 30 days; beyond it a "
            "declaration is filed as high priority. Empty: 3."
        ),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("intake rule")
        verbose_name_plural = _("intake rules")

    def __str__(self) -> str:
        return self.get_code_display()


class Policy(models.Model):
    """Targets in business minutes on a calendar, for the tickets its conditions match.

    Policies are tried in `position` order; the first whose every set condition holds wins.
    The default policy has no conditions and comes last.
    """

    name = models.CharField(_("name"), max_length=100)
    names = names_field()
    position = models.PositiveIntegerField(_("position"), default=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    if_priority = models.CharField(
        _("when priority is"), max_length=16, choices=Priority.choices, blank=True
    )
    if_tier = models.CharField(_("when tier is"), max_length=16, choices=Tier.choices, blank=True)
    if_department = models.ForeignKey(
        "tickets.Department",
        verbose_name=_("when department is"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    if_channel = models.CharField(
        _("when channel is"), max_length=16, choices=Channel.choices, blank=True
    )
    if_organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("when organisation is"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    calendar = models.ForeignKey(
        Calendar, verbose_name=_("calendar"), on_delete=models.PROTECT, related_name="policies"
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response (business minutes)"), null=True, blank=True
    )
    next_response_minutes = models.PositiveIntegerField(
        _("next response (business minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution (business minutes)"), null=True, blank=True
    )
    warning_percent = models.PositiveSmallIntegerField(
        _("warning threshold (percent of the target)"), default=80
    )
    raise_priority = models.BooleanField(_("raise the priority one step on breach"), default=False)

    class Meta:
        # Made in `sla` before the floors put it here; the table kept its name.
        db_table = "sla_policy"
        ordering = ["position", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.display_name()

    def display_name(self, language: str | None = None) -> str:
        """The name in `language` (the active one by default)."""
        return name_in(self.names, self.name, language)


class TicketCC(models.Model):
    """An address copied on a ticket (CC): it gets the ticket's public mail and may answer it
    by mail, as a public message of the person it is. Being copied opens no page: the person
    takes part by mail only, and `visible_to` knows nothing of this table."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="cc_addresses")
    address = models.EmailField(_("address"))
    # The account the address is, when there is one (registered, or a verified contact
    # address); mail from the address is written by that account, whoever it is.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("copied address")
        verbose_name_plural = _("copied addresses")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "address"], name="ticket_cc_unique")
        ]
        # Incoming mail asks "is this sender copied on that ticket?" by address.
        indexes = [models.Index(fields=["address"], name="ticket_cc_address_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} cc {self.address}"


class TicketFollower(models.Model):
    """An agent who follows a ticket: mailed about its new messages by others."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="followers")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="followed_tickets",
    )
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "agent"], name="ticket_follower_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} follows {self.ticket_id}"
