from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    ADMIN = "admin", _("Administrator")


class Tier(models.TextChoices):
    STANDARD = "standard", _("Standard")
    PREMIUM = "premium", _("Premium")
    VIP = "vip", _("VIP")


class NotificationKind(models.TextChoices):
    """What a mail is about, so each kind can go to the address the person chose for it."""

    SUPPORT = "support", _("Support (ticket mail)")
    BILLING = "billing", _("Billing (mail of Finance tickets)")
    SECURITY = "security", _("Security (password, sign-in, two-factor changes)")
    ANNOUNCEMENTS = "announcements", _("Announcements")
