"""The events a webhook target may ask for, and where a delivery stands."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

#: Every event, in the order the admin lists them; `*` in a target's events means all.
ALL_EVENTS = "*"


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket changed")
    TICKET_CLOSED = "ticket.closed", _("Ticket closed")
    MESSAGE_CREATED = "message.created", _("Message added")
    SURVEY_ANSWERED = "survey.answered", _("Survey answered")


#: Sent by a rule's `call_webhook` action to the one target it names, whatever events the
#: target asked for: not among the events a target subscribes to.
RULE_TRIGGERED = "rule.triggered"
#: What a delivery may carry: the subscribable events and `rule.triggered`.
DELIVERY_EVENTS = [*WebhookEvent.choices, (RULE_TRIGGERED, _("Rule triggered"))]


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
