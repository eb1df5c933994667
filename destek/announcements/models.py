"""Services in groups and areas, incidents with their timeline, planned maintenance, and
who uses what. Titles and bodies are maps {language: Markdown} (see texts.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.models import Organisation
from destek.announcements.choices import (
    INCIDENT_IMPACTS,
    AreaKind,
    EventKind,
    IncidentState,
    MaintenanceState,
    NoticeVia,
    ServiceState,
)
from destek.announcements.texts import pick
from destek.lib.names import name_in, names_field
from destek.tickets.models import Ticket


class ServiceGroup(models.Model):
    name = models.CharField(_("name"), max_length=120)
    names = names_field()
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("service group")
        verbose_name_plural = _("service groups")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language, else the plain name."""
        return name_in(self.names, self.name)


class Service(models.Model):
    """A component customers use. `state` is what an admin set; `shown_state` is what the
    status page shows: the worst of `state`, the open incidents' impact and maintenance in
    progress (kept by actions.refresh_services, with its history in ServiceStateChange)."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    names = names_field()
    group = models.ForeignKey(
        ServiceGroup,
        verbose_name=_("group"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    state = models.CharField(
        _("set state"), max_length=20, choices=ServiceState, default=ServiceState.OPERATIONAL
    )
    shown_state = models.CharField(
        _("shown state"),
        max_length=20,
        choices=ServiceState,
        default=ServiceState.OPERATIONAL,
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language, else the plain name."""
        return name_in(self.names, self.name)


class ServiceStateChange(models.Model):
    """The shown state of a service from `at` until its next change: uptime is read from
    these rows."""

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.CASCADE, related_name="history"
    )
    state = models.CharField(_("state"), max_length=20, choices=ServiceState)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("service state change")
        verbose_name_plural = _("service state changes")
        indexes = [models.Index(fields=["service", "at"])]

    def __str__(self) -> str:
        return f"{self.service_id} {self.state} {self.at:%Y-%m-%d %H:%M}"


class Area(models.Model):
    """A region, a data centre or a plan an incident or maintenance may be limited to."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)
    names = names_field()
    kind = models.CharField(_("kind"), max_length=16, choices=AreaKind, default=AreaKind.REGION)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language, else the plain name."""
        return name_in(self.names, self.name)


class Incident(models.Model):
    """Something is wrong. Its description is the first entry of its timeline (updates)."""

    title = models.JSONField(_("title"), default=dict)
    state = models.CharField(
        _("state"), max_length=16, choices=IncidentState, default=IncidentState.INVESTIGATING
    )
    impact = models.CharField(
        _("impact"),
        max_length=20,
        choices=[(s.value, s.label) for s in INCIDENT_IMPACTS],
        default=ServiceState.PARTIAL_OUTAGE,
    )
    services = models.ManyToManyField(
        Service, verbose_name=_("services"), related_name="incidents", blank=True
    )
    areas = models.ManyToManyField(
        Area, verbose_name=_("areas"), related_name="incidents", blank=True
    )
    #: Tickets agents linked to the incident: replied to and resolved together once it is
    #: resolved (incident_tickets.py); who linked each and whether it was answered is on the
    #: link.
    tickets: models.ManyToManyField[Ticket, IncidentTicket] = models.ManyToManyField(
        Ticket,
        verbose_name=_("tickets"),
        related_name="incidents",
        blank=True,
        through="IncidentTicket",
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        permissions = [("manage", _("Can post incidents and maintenance"))]
        indexes = [models.Index(fields=["state", "started_at"])]

    def __str__(self) -> str:
        return pick(self.title, None).text or f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state != IncidentState.RESOLVED


class IncidentTicket(models.Model):
    """A ticket linked to an incident: by whom and when, and the reply that resolved it with
    the incident (set once: replying to all twice answers nobody twice)."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="links"
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="incident_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked at"), default=timezone.now)
    replied_at = models.DateTimeField(_("answered with the incident"), null=True, blank=True)
    reply = models.ForeignKey(
        "tickets.Message",
        verbose_name=_("reply"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["linked_at", "pk"]
        verbose_name = _("linked ticket")
        verbose_name_plural = _("linked tickets")
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="incident_ticket_once")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} #{self.ticket_id}"


class IncidentUpdate(models.Model):
    """One entry of an incident's timeline: what was said, in which state, by whom."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="updates"
    )
    state = models.CharField(_("state"), max_length=16, choices=IncidentState)
    body = models.JSONField(_("text"), default=dict)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("incident update")
        verbose_name_plural = _("incident updates")

    def __str__(self) -> str:
        return f"{self.incident_id} {self.state} {self.created_at:%Y-%m-%d %H:%M}"


class Maintenance(models.Model):
    title = models.JSONField(_("title"), default=dict)
    body = models.JSONField(_("description"), default=dict, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=MaintenanceState, default=MaintenanceState.SCHEDULED
    )
    services = models.ManyToManyField(
        Service, verbose_name=_("services"), related_name="maintenances", blank=True
    )
    areas = models.ManyToManyField(
        Area, verbose_name=_("areas"), related_name="maintenances", blank=True
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    #: When its subscribers were reminded that it starts soon (claimed once by the worker).
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("planned maintenance")
        verbose_name_plural = _("planned maintenance")
        indexes = [models.Index(fields=["state", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="maintenance_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return pick(self.title, None).text or f"#{self.pk}"


class ServiceUser(models.Model):
    """A customer or an organisation uses a service or everything in an area: they will be
    told of what affects it (subscribed automatically) and see its banner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="used_services",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="used_services",
    )
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
    )
    area = models.ForeignKey(
        Area,
        verbose_name=_("area"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="users",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer's service")
        verbose_name_plural = _("customers' services")
        constraints = [
            # Exactly one who, exactly one what.
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(organisation__isnull=True))
                | (Q(user__isnull=True) & Q(organisation__isnull=False)),
                name="serviceuser_one_who",
            ),
            models.CheckConstraint(
                condition=(Q(service__isnull=False) & Q(area__isnull=True))
                | (Q(service__isnull=True) & Q(area__isnull=False)),
                name="serviceuser_one_what",
            ),
            # Each pair once (partial unique indexes: SQLite has no NULLS NOT DISTINCT).
            *(
                models.UniqueConstraint(
                    fields=[who, what],
                    condition=Q(**{f"{who}__isnull": False, f"{what}__isnull": False}),
                    name=f"serviceuser_unique_{who}_{what}",
                )
                for who in ("user", "organisation")
                for what in ("service", "area")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.organisation} → {self.service or self.area}"


class StatusEvent(models.Model):
    """The audit log of the status: who opened, updated, resolved, scheduled, started,
    completed or cancelled what, and set which service's state. Later notices start here."""

    kind = models.CharField(_("kind"), max_length=32, choices=EventKind)
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(_("details"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("status event")
        verbose_name_plural = _("status events")

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class Subscription(models.Model):
    """Someone asked to be told: an address (e-mail or phone, of someone not signed in) that
    confirmed a mailed link, or an account (its announcements address, verified phone or
    linked Telegram). To everything, to chosen services and areas, or to one incident."""

    via = models.CharField(_("by"), max_length=16, choices=NoticeVia, default=NoticeVia.EMAIL)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="status_subscriptions",
    )
    #: The e-mail address or E.164 number of a subscriber without an account ("" for one).
    address = models.CharField(_("address"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    everything = models.BooleanField(_("everything"), default=False)
    services = models.ManyToManyField(
        Service, verbose_name=_("services"), related_name="subscriptions", blank=True
    )
    areas = models.ManyToManyField(
        Area, verbose_name=_("areas"), related_name="subscriptions", blank=True
    )
    incident = models.ForeignKey(
        Incident,
        verbose_name=_("incident"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="followers",
    )
    #: A random key: the confirmation link of an address's subscription.
    token = models.CharField(max_length=64, unique=True, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("status subscription")
        verbose_name_plural = _("status subscriptions")
        indexes = [models.Index(fields=["via", "address"])]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(address=""))
                | (Q(user__isnull=True) & ~Q(address="")),
                name="subscription_one_who",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_via_display()}: {self.user or self.address}"


class AutomaticOptOut(models.Model):
    """A customer who does not want the notices of the services they use (ServiceUser)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="status_opt_out",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("opt-out of automatic notices")
        verbose_name_plural = _("opt-outs of automatic notices")

    def __str__(self) -> str:
        return str(self.user)


class Notice(models.Model):
    """One status event for one delivery address (`key`, e.g. "email:a@b.c"): written once
    (the pair is unique), sent when due. Notices of one incident due inside the batching
    window are sent together, in one message."""

    key = models.CharField(max_length=300)
    event = models.ForeignKey(StatusEvent, on_delete=models.CASCADE, related_name="notices")
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    maintenance = models.ForeignKey(
        Maintenance, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    #: How to reach the subscriber: via, address, user id, language, time zone, calendar.
    reader = models.JSONField(default=dict)
    due_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("status notice")
        verbose_name_plural = _("status notices")
        constraints = [models.UniqueConstraint(fields=["key", "event"], name="notice_once")]
        indexes = [
            models.Index(fields=["sent_at", "due_at"]),
            models.Index(fields=["key", "incident"]),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.event_id}"
