from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role
from destek.automation.choices import MACRO_CLOSE_REASONS, MACRO_STATUSES, AssigneeChoice
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


# --- rules (issue 18): on events and on time ------------------------------------------------


class RuleKind(models.TextChoices):
    CREATED = "created", _("When a ticket is created")
    UPDATED = "updated", _("When a ticket is changed")
    CUSTOMER_REPLIED = "customer_replied", _("When the customer writes")
    AGENT_REPLIED = "agent_replied", _("When an agent replies")
    SCHEDULE = "schedule", _("On a schedule (checked every few minutes)")


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
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from destek.automation.conditions import RuleInvalid, parse_actions, parse_conditions

        errors: dict[str, list[str]] = {}
        for field, parse in (("conditions", parse_conditions), ("actions", parse_actions)):
            try:
                parse(getattr(self, field))
            except RuleInvalid as invalid:
                errors[field] = [str(invalid)]
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
