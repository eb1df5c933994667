from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    #: Held back at send time: automatic mail over its address's cap, or to an address
    #: that bounces for good (`last_error` says which).
    HELD = "held", _("Not sent")


class Transport(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class MailKind(models.TextChoices):
    """What a mail is, for the caps: security mail (a password reset, a sign-up link, a new
    sign-in) is never held by the automatic-mail cap, which a stranger can fill; conversation
    (a person's words) is never capped."""

    SECURITY = "security", _("Security")
    AUTOMATIC = "automatic", _("Automatic")
    CONVERSATION = "conversation", _("Conversation")
