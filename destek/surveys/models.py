"""A customer's satisfaction with one ticket, and the survey mail that asked for it."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.tickets.models import Department, Ticket

SCORE = [MinValueValidator(1), MaxValueValidator(5)]


class SurveyAnswer(models.Model):
    """One answer per ticket; answering again replaces it. Kept with the agent who answered
    the ticket, its department and channel, so ratings can be read per each."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="survey_answer"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="survey_answers",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16)
    speed = models.PositiveSmallIntegerField(_("speed"), validators=SCORE)
    clarity = models.PositiveSmallIntegerField(_("clarity"), validators=SCORE)
    tone = models.PositiveSmallIntegerField(_("tone"), validators=SCORE)
    solved = models.BooleanField(_("solved"))
    comment = models.TextField(_("comment"), blank=True)
    #: Set the first time an unhappy answer reopened the ticket: answering again never
    #: reopens twice.
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        indexes = [
            models.Index(fields=["answered_at"]),
            # The satisfaction report: answers of a period, from the index alone on PostgreSQL.
            models.Index(
                fields=["answered_at"],
                name="surveyanswer_report_idx",
                include=["agent", "department", "channel", "speed", "clarity", "tone", "solved"],
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.speed}/{self.clarity}/{self.tone}"

    @property
    def unhappy(self) -> bool:
        return not self.solved or min(self.speed, self.clarity, self.tone) <= 2


class SurveyVia(models.TextChoices):
    """How the survey reached the customer."""

    EMAIL = "email", _("e-mail")
    CHAT = "chat", _("live chat")
    MESSENGER = "messenger", _("messenger")


class SurveySent(models.Model):
    """The survey sent for a ticket (by mail, in the chat widget or in the messenger): at
    most one per ticket, and the customer's latest one limits how often they are asked
    (`DESTEK_SURVEY_EVERY_DAYS`)."""

    ticket = models.OneToOneField(
        Ticket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="survey_sent"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="surveys_sent",
    )
    #: Kept from the ticket when sent (as on the answer), so the satisfaction report counts
    #: the surveys sent per agent, department and channel without a join to the tickets.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    via = models.CharField(_("sent by"), max_length=16, choices=SurveyVia, default=SurveyVia.EMAIL)
    token_version = models.PositiveIntegerField(_("token version"), default=1)

    class Meta:
        verbose_name = _("survey sent")
        verbose_name_plural = _("surveys sent")
        indexes = [
            models.Index(fields=["customer", "sent_at"]),
            # The satisfaction report counts the surveys sent in a period, per agent,
            # department or channel: from the index alone on PostgreSQL.
            models.Index(
                fields=["sent_at"],
                name="surveysent_report_idx",
                include=["agent", "department", "channel"],
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.sent_at:%Y-%m-%d}"
