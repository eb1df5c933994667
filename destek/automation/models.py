from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.automation.choices import (
    MACRO_CLOSE_REASONS,
    MACRO_STATUSES,
    AssigneeChoice,
    AssignmentMode,
)
from destek.automation.webhook_choices import DELIVERY_EVENTS, WebhookDeliveryStatus
from destek.sla.models import Calendar
from destek.tickets.choices import Priority
from destek.tickets.models import Department, Tag

AGENT_ROLES = [Role.AGENT, Role.ADMIN]

PLACEHOLDER_HELP = _("Placeholders: {customer_name}, {ticket_number}, {agent_name}, {department}.")


class Macro(models.Model):
    """A named set of changes an agent applies to a ticket in one click and one transaction:
    a public reply (its text in the ticket's language), an internal note, status, priority,
    department, assignee and tags. Empty fields change nothing.

    Shared (no owner) or personal (only its owner sees it); either may be limited to one
    department's tickets."""

    name = models.CharField(_("name"), max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        limit_choices_to={"role__in": AGENT_ROLES},
        help_text=_("Empty: shared with every agent. Set: only this agent sees it."),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("offered in department"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        help_text=_("Empty: offered on the tickets of every department."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    status = models.CharField(
        _("set status"),
        max_length=16,
        choices=MACRO_STATUSES,
        blank=True,
        help_text=_("Empty: a reply leaves the ticket awaiting the customer; no reply, as it is."),
    )
    close_reason = models.CharField(
        _("close reason"), max_length=16, choices=MACRO_CLOSE_REASONS, blank=True
    )
    priority = models.CharField(
        _("set priority"), max_length=16, choices=Priority.choices, blank=True
    )
    set_department = models.ForeignKey(
        Department,
        verbose_name=_("move to department"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    assignee_choice = models.CharField(
        _("assign to"), max_length=8, choices=AssigneeChoice.choices, blank=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("named agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        limit_choices_to={"role__in": AGENT_ROLES},
        related_name="+",
    )
    add_tags = models.CharField(
        _("add tags"), max_length=200, blank=True, help_text=_("Separated by commas.")
    )
    remove_tags = models.CharField(
        _("remove tags"), max_length=200, blank=True, help_text=_("Separated by commas.")
    )
    note = models.TextField(_("internal note"), blank=True, help_text=PLACEHOLDER_HELP)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("macro")
        verbose_name_plural = _("macros")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """What the admin catches before saving; applying checks the same rules again."""
        if self.status == "closed" and not self.close_reason:
            raise ValidationError({"close_reason": _("Closing needs a reason.")})
        if self.close_reason and self.status != "closed":
            raise ValidationError({"close_reason": _("A close reason is given only when closing.")})
        if self.assignee_choice == AssigneeChoice.AGENT and self.assignee_id is None:
            raise ValidationError({"assignee": _("Choose the agent to assign to.")})


class MacroText(models.Model):
    """A macro's public reply in one language; the language left empty serves tickets in any
    language the macro has no text for. A title here names the macro in that language."""

    macro = models.ForeignKey(
        Macro, verbose_name=_("macro"), on_delete=models.CASCADE, related_name="texts"
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: for tickets in any language without a text of their own."),
    )
    title = models.CharField(_("name in this language"), max_length=100, blank=True)
    body = models.TextField(_("reply"), help_text=PLACEHOLDER_HELP)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["macro", "language"], name="macro_text_language")
        ]
        verbose_name = _("reply text")
        verbose_name_plural = _("reply texts")

    def __str__(self) -> str:
        return f"{self.macro} ({self.language or '*'})"


class DepartmentAssignment(models.Model):
    """How a department's tickets find an agent (`automation.assignment`). Without a row the
    department is manual. The row is also the lock that makes two tickets filed at once pick
    one agent after the other, each seeing the other's choice."""

    department = models.OneToOneField(
        Department,
        verbose_name=_("department"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="assignment",
    )
    mode = models.CharField(
        _("assignment"),
        max_length=16,
        choices=AssignmentMode.choices,
        default=AssignmentMode.MANUAL,
    )
    chat_weight = models.PositiveSmallIntegerField(
        _("an active chat counts as"),
        default=2,
        help_text=_("Open tickets a live chat weighs in the least-loaded count."),
    )
    require_language = models.BooleanField(
        _("agents must speak the ticket's language"),
        default=False,
        help_text=_("Only agents with the ticket's language among their languages take it."),
    )
    skill_tags = models.ManyToManyField(
        Tag,
        verbose_name=_("skill tags"),
        blank=True,
        related_name="+",
        help_text=_(
            "Tags that name a product or skill: a ticket with such a tag goes only to agents "
            "who have that skill."
        ),
    )
    require_online = models.BooleanField(
        _("only agents online"),
        default=False,
        help_text=_("Only agents whose desk is open now (live chat presence online)."),
    )
    reassign_after_minutes = models.PositiveIntegerField(
        _("reassign without a reply after (business minutes)"),
        null=True,
        blank=True,
        help_text=_("Empty: never. A ticket whose agent has not replied in time goes to another."),
    )
    calendar = models.ForeignKey(
        Calendar,
        verbose_name=_("business hours for reassignment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: minutes around the clock."),
    )

    class Meta:
        verbose_name = _("department assignment")
        verbose_name_plural = _("department assignment")

    def __str__(self) -> str:
        return f"{self.department} ({self.get_mode_display()})"

    @property
    def automatic(self) -> bool:
        return self.mode != AssignmentMode.MANUAL


class AgentProfile(models.Model):
    """What assignment knows of an agent: languages, skills, own working hours, leave, and
    when they were last given a ticket (ties go to who has waited longest)."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="assignment_profile",
        limit_choices_to={"role__in": AGENT_ROLES},
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        help_text=_('Language codes the agent answers in, e.g. ["en", "ru"].'),
    )
    skills = models.ManyToManyField(Tag, verbose_name=_("skills"), blank=True, related_name="+")
    calendar = models.ForeignKey(
        Calendar,
        verbose_name=_("working hours"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: takes tickets at any hour."),
    )
    away = models.BooleanField(
        _("away or on leave"),
        default=False,
        help_text=_("Gets no new tickets; open ones go back to the pool and to colleagues."),
    )
    away_until = models.DateTimeField(
        _("back on"), null=True, blank=True, help_text=_("Empty: until switched off.")
    )
    last_assigned_at = models.DateTimeField(_("last given a ticket"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent assignment profile")
        verbose_name_plural = _("agent assignment profiles")

    def __str__(self) -> str:
        return str(self.agent)

    def clean(self) -> None:
        codes = {code for code, _name in settings.LANGUAGES}
        if not isinstance(self.languages, list) or any(
            code not in codes for code in self.languages
        ):
            raise ValidationError(
                {
                    "languages": _("A list of language codes: {codes}.").format(
                        codes=", ".join(sorted(codes))
                    )
                }
            )

    def is_away(self, now: datetime) -> bool:
        return self.away and (self.away_until is None or now < self.away_until)


# --- rules (issue 18): on events and on time ------------------------------------------------


class RuleKind(models.TextChoices):
    CREATED = "created", _("When a ticket is created")
    UPDATED = "updated", _("When a ticket is changed")
    CUSTOMER_REPLIED = "customer_replied", _("When the customer writes")
    AGENT_REPLIED = "agent_replied", _("When an agent replies")
    SCHEDULE = "schedule", _("On a schedule (checked every few minutes)")
    FILED = (
        "filed",
        _(
            "When a ticket is filed: before it is written; decides its department, priority, "
            "tags and assignee"
        ),
    )


class RuleMatch(models.TextChoices):
    ALL = "all", _("All conditions hold")
    ANY = "any", _("Any condition holds")


class Rule(models.Model):
    """When its conditions hold, make its changes to a ticket, as the rule (history names it).

    Conditions and actions are JSON lists checked by the typed dataclasses of
    `automation.conditions` (the admin refuses what they do not parse, in the reader's
    language); a mail's texts, one per language, are `RuleText` rows edited inline."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("runs"), max_length=20, choices=RuleKind.choices)
    match = models.CharField(
        _("matching"), max_length=3, choices=RuleMatch.choices, default=RuleMatch.ALL
    )
    conditions = models.JSONField(
        _("conditions"),
        default=list,
        blank=True,
        help_text=_(
            'A list, e.g. [{"field": "status", "op": "is", "value": "pending"}, '
            '{"field": "hours_in_status", "op": "gte", "value": 72}].'
        ),
    )
    actions = models.JSONField(
        _("actions"),
        default=list,
        help_text=_(
            'A list, e.g. [{"type": "set_priority", "value": "high"}, '
            '{"type": "add_tags", "value": ["vip"]}, {"type": "mail_customer"}].'
        ),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    enabled = models.BooleanField(_("on"), default=True)
    stop = models.BooleanField(
        _("stop after this rule"),
        default=False,
        help_text=_("When this rule acts, later rules of the same kind are not run."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from destek.automation.conditions import (
            RuleInvalid,
            check_filed,
            check_schedule_only,
            parse_actions,
            parse_conditions,
        )

        errors: dict[str, list[str]] = {}
        for field, parse in (("conditions", parse_conditions), ("actions", parse_actions)):
            try:
                parsed = parse(getattr(self, field))
                if self.kind == RuleKind.FILED:
                    check_filed(parsed)
                if self.kind != RuleKind.SCHEDULE:
                    check_schedule_only(parsed)
            except RuleInvalid as invalid:
                errors[field] = [str(invalid)]
        if self.stop and self.kind == RuleKind.SCHEDULE:
            errors["stop"] = [
                str(_("Schedule rules each run on their own; “stop” is for the other kinds."))
            ]
        if not errors and not self.actions:
            errors["actions"] = [str(_("A rule needs at least one action."))]
        if errors:
            raise ValidationError(errors)


class RuleText(models.Model):
    """The subject and text of a rule's mail in one language; the language left empty serves
    tickets in any language without a text of their own."""

    rule = models.ForeignKey(
        Rule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="texts"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), help_text=PLACEHOLDER_HELP)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "language"], name="rule_text_language")
        ]
        verbose_name = _("mail text")
        verbose_name_plural = _("mail texts")

    def __str__(self) -> str:
        return f"{self.rule} ({self.language or '*'})"


class RuleRun(models.Model):
    """A schedule rule applied to a ticket in one state (e.g. its status and when it was
    entered): unique, so the sweep applies a rule once per ticket per state, however often
    it runs and on however many workers."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    state_key = models.CharField(max_length=100)
    ran_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "ticket", "state_key"], name="rule_run_once_per_state"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.ticket_id} {self.state_key}"


# --- webhooks --------------------------------------------------------------------------------


class WebhookTarget(models.Model):
    """One of the company's own systems told of ticket events by a signed POST. The secret
    signs every request (HMAC-SHA256); it is shown once, when the target is created, and kept
    here in clear because signing needs it."""

    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(
        _("events"),
        default=list,
        help_text=_("Event names such as ticket.created, or * for every event."),
    )
    secret = models.CharField(_("secret"), max_length=128)
    internal_notes = models.BooleanField(
        _("send internal notes"),
        default=False,
        help_text=_("Off: only messages the customer sees are sent as message.created."),
    )
    active = models.BooleanField(_("active"), default=True)
    #: Set when removed: the row stays (inactive, hidden) so that a process whose cached target
    #: list still names it writes its delivery rows without breaking the foreign key.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook target")
        verbose_name_plural = _("webhook targets")

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event for one target: an outbox row written in the transaction of the change it
    tells of, sent by the worker after commit, retried with backoff, and its last answer kept.
    A replay is a new row with the same payload."""

    public_id = models.UUIDField(_("delivery id"), unique=True, default=uuid.uuid4, editable=False)
    target = models.ForeignKey(
        WebhookTarget,
        verbose_name=_("target"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.CharField(_("event"), max_length=32, choices=DELIVERY_EVENTS)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    replay_of = models.ForeignKey(
        "self",
        verbose_name=_("replay of"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["target", "-id"], name="webhook_target_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.public_id}"
