"""A chat is a ticket from its first message; these rows add what only a live conversation has:
its queue state, the visitor's token, and the numbered events both sides read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.chat.choices import ChatState, EventType, Presence


class Chat(models.Model):
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="chat")
    state = models.CharField(
        _("state"), max_length=16, choices=ChatState.choices, default=ChatState.WAITING
    )
    department = models.ForeignKey(
        "tickets.Department", on_delete=models.PROTECT, related_name="chats"
    )
    # The visitor: a signed-in customer, or a contact made for this chat (never an existing
    # account found by the address typed: that needs verification).
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chats"
    )
    visitor_token_hash = models.CharField(max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail address given"), blank=True)
    email_verified = models.BooleanField(_("e-mail address verified"), default=False)
    facts = models.JSONField(_("browser facts"), default=dict, blank=True)
    # Serving order: VIP first, then priority, then who has waited longest.
    vip = models.BooleanField(default=False)
    priority_rank = models.PositiveSmallIntegerField(default=1)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chats_served",
    )
    offered_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chats_offered",
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    # Agents an offer already went to (ids): the next offer goes to someone else.
    declined_by = models.JSONField(default=list, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        indexes = [
            models.Index(
                fields=["department", "-vip", "-priority_rank", "queued_at"],
                name="chat_waiting_idx",
                condition=models.Q(state="waiting"),
            ),
            models.Index(fields=["agent", "state"], name="chat_agent_state_idx"),
        ]

    def __str__(self) -> str:
        return f"chat {self.pk}"


class ChatEvent(models.Model):
    """One thing that happened in a chat, numbered 1, 2, 3… per chat: a client that reconnects
    asks for everything after the last number it saw, so nothing is missed or shown twice."""

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=16, choices=EventType.choices)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chat", "seq"], name="chat_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.seq} of chat {self.chat_id}"

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "type": self.type,
            "at": self.created_at.isoformat(),
            **self.data,
        }


class AgentPresence(models.Model):
    """Whether an agent takes chats now. A heartbeat keeps `online`; a closed tab stops it and
    the agent counts as offline once `last_seen_at` is older than the heartbeat limit."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Presence.choices, default=Presence.OFFLINE
    )
    last_seen_at = models.DateTimeField(default=timezone.now)
    # Since when the agent has had no chat offered: ties go to who has waited longest.
    idle_since = models.DateTimeField(default=timezone.now)
    max_chats = models.PositiveSmallIntegerField(
        _("simultaneous chats"),
        null=True,
        blank=True,
        help_text=_("Empty: the default limit (DESTEK_CHAT_MAX_PER_AGENT)."),
    )

    class Meta:
        verbose_name = _("agent presence")
        verbose_name_plural = _("agent presence")

    def __str__(self) -> str:
        return f"{self.agent} ({self.status})"
