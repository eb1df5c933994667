"""Inbound mail as it arrived: every message kept raw, what became of it, and the mailboxes."""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.lib.crypto import decrypt, encrypt


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    STORED = "stored", _("stored in a ticket")
    IGNORED = "ignored", _("ignored on purpose")
    QUARANTINED = "quarantined", _("quarantined")


def raw_path(instance: InboundMessage, filename: str) -> str:
    day = instance.received_at or timezone.now()
    return f"mail/raw/{day:%Y/%m/%d}/{instance.public_id}.eml"


class InboundMessage(models.Model):
    """One message received by any adapter (pipe, IMAP, SMTP), with its raw bytes.

    `dedupe_key` is a hash of the Message-ID, the sender and the body, or of the bytes when there
    is no Message-ID: the same message delivered twice (an IMAP retry, a mail server's second
    attempt) is stored once, and a stranger reusing a Message-ID silences nothing.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.CharField(_("source"), max_length=100)
    dedupe_key = models.CharField(_("Message-ID or hash"), max_length=300, unique=True)
    rfc_message_id = models.CharField(_("Message-ID"), max_length=300, blank=True)
    raw = models.FileField(_("raw message"), upload_to=raw_path, max_length=200)
    size = models.PositiveIntegerField(_("size"), default=0)
    sender = models.CharField(_("sender"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    authentication = models.CharField(
        _("sender authentication"),
        max_length=16,
        blank=True,
        help_text=_(
            "What our mail server said about the sender (SPF, DKIM, DMARC): pass, fail, "
            "missing, or not-checked when no trusted server is configured."
        ),
    )
    error = models.TextField(_("error"), blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "tickets.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    keep = models.BooleanField(
        _("keep the raw message"),
        default=False,
        help_text=_("Kept past the retention period (a refused attachment, a quarantine)."),
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
            # The sender cap counts a sender's stored mail of the last hour.
            models.Index(
                fields=["sender", "received_at"],
                name="inbound_sender_stored_idx",
                condition=models.Q(status="stored"),
            ),
            # Threading finds the ticket of a customer's earlier mail by its Message-ID.
            models.Index(fields=["rfc_message_id"], name="inbound_rfc_message_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender or '?'}: {self.subject}"[:120]


#: The key of stored mailbox passwords is derived for this purpose alone.
PASSWORD_PURPOSE = "mailbox password"  # noqa: S105  (a label, not a password)


class MailAccount(models.Model):
    """A mailbox the worker polls over IMAP. Its password is either entered in the admin and
    stored encrypted (`set_password`; never shown again), or read from the environment
    variable named in `password_env`. A stored password is used first."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    host = models.CharField(_("host"), max_length=253)
    port = models.PositiveIntegerField(_("port"), default=993)
    use_tls = models.BooleanField(
        _("TLS"), default=True, help_text=_("Switch off only for a server on this machine.")
    )
    username = models.CharField(_("user name"), max_length=254)
    password_env = models.CharField(
        _("environment variable with the password"),
        max_length=100,
        blank=True,
        help_text=_(
            "For example DESTEK_IMAP_SUPPORT_PASSWORD (or …_FILE for a file). Used when no "
            "password is stored."
        ),
    )
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    processed_folder = models.CharField(
        _("move processed mail to"),
        max_length=200,
        blank=True,
        help_text=_("Empty: processed mail stays where it is, marked as read."),
    )
    department = models.ForeignKey(
        "tickets.Department",
        verbose_name=_("department for new tickets"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.name

    def set_password(self, password: str) -> None:
        """Store `password` encrypted (the caller saves); an empty one forgets it."""
        self.password_encrypted = encrypt(password, purpose=PASSWORD_PURPOSE) if password else ""

    def stored_password(self) -> str:
        """The stored password, or "" when none is stored. Raises `SecretUnreadable` when it
        was stored under another secret key."""
        if not self.password_encrypted:
            return ""
        return decrypt(self.password_encrypted, purpose=PASSWORD_PURPOSE)

    def clean(self) -> None:
        if not self.password_env and not self.password_encrypted:
            raise ValidationError(
                _("Enter the password, or name the environment variable that holds it.")
            )
        # The worker reads only variables of this form (destek.mail.imap): naming another one,
        # DESTEK_SECRET_KEY say, would send it to whatever host is configured here.
        if self.password_env and not re.fullmatch(r"DESTEK_IMAP_[A-Z0-9_]+", self.password_env):
            raise ValidationError(
                {
                    "password_env": _(
                        "Name a variable that starts with DESTEK_IMAP_, for example "
                        "DESTEK_IMAP_SUPPORT_PASSWORD."
                    )
                }
            )
