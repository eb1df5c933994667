"""A messenger channel (a Telegram bot, a WhatsApp number, a Facebook page, an Instagram
account), what it received (each update once), who wrote
(one contact per messenger user) and what waits to be sent back (the outbox)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.lib.crypto import decrypt, encrypt
from destek.messaging.choices import ChannelKind, EventState, Health, OutboundState

CREDENTIALS_PURPOSE = "messaging channel credentials"


def new_webhook_secret() -> str:
    # Telegram allows 1-256 characters of A-Z, a-z, 0-9, _ and -.
    return secrets.token_urlsafe(32)


class MessagingChannel(models.Model):
    """A bot (or page) customers write to. Its token is stored encrypted (lib/crypto.py);
    the platform proves a webhook call is its own with `webhook_secret`."""

    kind = models.CharField(_("messenger"), max_length=16, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        "tickets.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messaging_channels",
        verbose_name=_("department"),
        help_text=_("New tickets from this channel go here; empty: the default department."),
    )
    credentials_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    api_url = models.CharField(
        _("API address"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the platform's own (a setting). A self-hosted Bot API server's URL."),
    )
    # Meta's platforms: the WhatsApp phone number id, the Facebook page id or the Instagram
    # account id the Graph API calls are made for; the app secret that signs the webhook
    # calls (encrypted); when the access token ends (None: it does not, or is not known).
    account_id = models.CharField(
        _("account id"),
        max_length=100,
        blank=True,
        help_text=_("WhatsApp: the phone number ID; Messenger: the page ID; Instagram: the ID."),
    )
    app_secret_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(_("token expires at"), null=True, blank=True)
    templates = models.JSONField(
        _("message templates"),
        default=list,
        blank=True,
        help_text=_("WhatsApp: the names of the approved templates agents may send."),
    )
    health = models.CharField(
        _("health"), max_length=16, choices=Health.choices, default=Health.UNKNOWN
    )
    # The bot's @username from `getMe`: the portal's deep links t.me/<username>?start=... .
    bot_username = models.CharField(_("bot username"), max_length=64, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("messenger channel")
        verbose_name_plural = _("messenger channels")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    def set_token(self, token: str) -> None:
        """Store the bot token encrypted (the caller saves)."""
        self.credentials_encrypted = encrypt(token, purpose=CREDENTIALS_PURPOSE)

    def token(self) -> str:
        return decrypt(self.credentials_encrypted, purpose=CREDENTIALS_PURPOSE)

    def set_app_secret(self, secret: str) -> None:
        self.app_secret_encrypted = encrypt(secret, purpose=CREDENTIALS_PURPOSE)

    def app_secret(self) -> str:
        if not self.app_secret_encrypted:
            return ""
        return decrypt(self.app_secret_encrypted, purpose=CREDENTIALS_PURPOSE)

    def base_url(self) -> str:
        if self.kind == ChannelKind.TELEGRAM:
            return (self.api_url or settings.DESTEK_TELEGRAM_API_URL).rstrip("/")
        base = (self.api_url or settings.DESTEK_GRAPH_API_URL).rstrip("/")
        return f"{base}/{settings.DESTEK_GRAPH_API_VERSION}"

    def webhook_path(self) -> str:
        return f"/channels/{self.kind}/{self.pk}/webhook"


class InboundEvent(models.Model):
    """One update as the platform sent it: stored once per (channel, update id)."""

    channel = models.ForeignKey(MessagingChannel, on_delete=models.CASCADE, related_name="events")
    external_id = models.CharField(max_length=100)
    payload = models.JSONField()
    state = models.CharField(max_length=16, choices=EventState.choices, default=EventState.RECEIVED)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Tries again after a failure (health.retry_failed_events); the raw payload is never dropped.
    attempts = models.PositiveIntegerField(default=0)
    # When a worker took it (RECEIVED -> PROCESSING): one that died with it is seen by this.
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("messenger event")
        verbose_name_plural = _("messenger events")
        indexes = [models.Index(fields=["state", "attempts"], name="messaging_event_state")]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="messaging_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.external_id}"


class Contact(models.Model):
    """A messenger user: one per (channel, user id), a customer of their own (never merged
    with an existing account by name or phone)."""

    channel = models.ForeignKey(MessagingChannel, on_delete=models.CASCADE, related_name="contacts")
    external_user_id = models.CharField(max_length=100)
    chat_id = models.CharField(max_length=100)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messenger_contacts"
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    username = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8)
    # The language was read from the contact's own words (language.learn): it stays.
    language_detected = models.BooleanField(default=False)
    # Set by /new: the next message starts a ticket of its own.
    start_new = models.BooleanField(default=False)
    # When they last wrote: Meta's platforms take free replies for 24 hours after it.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # When the person proved the contact is theirs (deep link or mailed code) and its customer
    # became their account; empty: the customer is the contact's own (a placeholder).
    linked_at = models.DateTimeField(_("linked to the account"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("messenger contact")
        verbose_name_plural = _("messenger contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_user_id"], name="messaging_contact_once"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.username or self.external_user_id


class ChatMessage(models.Model):
    """A customer's message as the platform knows it (its id in the chat) and where it was
    filed: what a later reply to it quotes, and what an edit of it says it changed."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    external_id = models.CharField(max_length=200)
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: The first line of what the customer wrote (or of its placeholder), as last seen.
    excerpt = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "external_id"], name="messaging_chat_message_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.external_id}"


class OutboundMessage(models.Model):
    """Text waiting to go to a contact: an agent's reply or an automatic answer, and the
    reply's files, sent after the text. Kept until the platform took it (a failing channel
    keeps it for later)."""

    channel = models.ForeignKey(MessagingChannel, on_delete=models.CASCADE, related_name="outbox")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="outbox")
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    # WhatsApp: the name of an approved template sent instead of `text` (outside the window).
    template = models.CharField(max_length=512, blank=True)
    # Buttons offered with the text, as [payload, title] pairs (a survey's question): Telegram's
    # inline keyboard, WhatsApp's reply buttons or list, Messenger's and Instagram's quick
    # replies. The text then goes as one message.
    buttons = models.JSONField(default=list, blank=True)
    # Parts of the split text already sent: a retry goes on from the next one.
    parts_sent = models.PositiveIntegerField(default=0)
    # The files, sent in the order of their ids after the text; how many already went.
    files = models.ManyToManyField("tickets.Attachment", blank=True, related_name="+")
    files_sent = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=OutboundState.choices, default=OutboundState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # A sender holds the row until then (a sweep or a second job leaves it); one that died
    # with it lets it go when the time is up.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "channel"], name="messaging_outbox_state")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.text[:50]}"


class LinkToken(models.Model):
    """A one-time deep link `t.me/<bot>?start=<token>` made in the portal profile: proves the
    Telegram user who opens it is signed in as `user`. Only the token's hash is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messenger_link_tokens"
    )
    channel = models.ForeignKey(MessagingChannel, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user_id} via {self.channel_id}"


class MailLink(models.Model):
    """A link by mailed code under way for a contact (one at a time): first the address is
    awaited (`email` empty), then the code. `user` is empty when the address is no account's:
    the chat is answered the same, and every code is wrong."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="mail_link")
    email = models.EmailField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.email or '-'}"


class SurveyStep(models.TextChoices):
    SPEED = "speed"
    CLARITY = "clarity"
    TONE = "tone"
    SOLVED = "solved"
    COMMENT = "comment"
    DONE = "done"


class ChatSurvey(models.Model):
    """A resolved ticket's satisfaction survey asked in the contact's chat, question by
    question: the answers so far and the step asked now. `key` ties a button press to this
    survey (a Telegram button's data carries it); a press of another or an ended one is
    refused. Ends when answered, when the customer writes something else, or at `expires_at`."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="surveys")
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="chat_survey"
    )
    key = models.CharField(max_length=16, unique=True, editable=False)
    step = models.CharField(max_length=16, choices=SurveyStep.choices, default=SurveyStep.SPEED)
    speed = models.PositiveSmallIntegerField(null=True, blank=True)
    clarity = models.PositiveSmallIntegerField(null=True, blank=True)
    tone = models.PositiveSmallIntegerField(null=True, blank=True)
    solved = models.BooleanField(null=True, blank=True)
    expires_at = models.DateTimeField()
    #: When the current question was sent.
    asked_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("messenger survey")
        verbose_name_plural = _("messenger surveys")
        indexes = [models.Index(fields=["contact", "ended_at"], name="messaging_survey_open")]

    def __str__(self) -> str:
        return f"{self.contact_id}: #{self.ticket_id} {self.step}"
