from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChatState(models.TextChoices):
    WAITING = "waiting", _("Waiting")  # in the queue, or offered to an agent
    ACTIVE = "active", _("Active")  # an agent accepted it
    ENDED = "ended", _("Ended")
    OFFLINE = "offline", _("Offline")  # nobody was there: filed as an ordinary ticket


class EventType(models.TextChoices):
    MESSAGE = "message", _("Message")
    QUEUE = "queue", _("Queue position")
    ASSIGNED = "assigned", _("Assigned")
    TYPING = "typing", _("Typing")
    SEEN = "seen", _("Seen")
    ENDED = "ended", _("Ended")


class AuthorRole(models.TextChoices):
    VISITOR = "visitor", _("Visitor")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")
