from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public")
    INTERNAL = "internal", _("Internal (agents only)")


class ArticleEventKind(models.TextChoices):
    VIEW = "view", _("viewed")
    SUGGESTED_OPEN = "suggested_open", _("opened from a suggestion")
    DEFLECTED = "deflected", _("left without filing")
    FILED_ANYWAY = "filed_anyway", _("ticket filed anyway")
