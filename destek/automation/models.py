from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.automation.choices import MACRO_CLOSE_REASONS, MACRO_STATUSES, AssigneeChoice
from destek.automation.webhook_choices import WebhookDeliveryStatus, WebhookEvent
from destek.tickets.choices import Priority
from destek.tickets.models import Department

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
    event = models.CharField(_("event"), max_length=32, choices=WebhookEvent.choices)
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
