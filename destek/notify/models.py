from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.notify.choices import DeliveryStatus, MailKind, Transport


class Delivery(models.Model):
    """One message to one recipient, written in the same transaction as the change it reports.

    The row is the durable truth: a lost queue message loses nothing, because the outbox sweep
    re-enqueues whatever is due. A worker claims a row with a conditional UPDATE before sending.
    """

    transport = models.CharField(
        _("transport"), max_length=16, choices=Transport.choices, default=Transport.EMAIL
    )
    template = models.CharField(_("template"), max_length=64)
    recipient = models.CharField(_("recipient"), max_length=254)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=250, unique=True)
    automatic = models.BooleanField(_("automatic"), default=True)
    kind = models.CharField(
        _("kind"), max_length=16, choices=MailKind.choices, default=MailKind.AUTOMATIC
    )
    answers_unverified = models.BooleanField(
        _("answers unverified mail"),
        default=False,
        help_text=_("An automatic answer to mail whose sender was not authenticated."),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    #: The worker holding the claim (`OutboxWorker.name`) and this attempt's id, which the
    #: sent-mail journal records: the claim is released only by the attempt that made it.
    claimed_by = models.CharField(_("claimed by"), max_length=120, blank=True)
    attempt_id = models.CharField(_("attempt"), max_length=32, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["recipient", "created_at"], name="delivery_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.template} -> {self.recipient} ({self.status})"


class DemoMail(models.Model):
    """A mail the demo caught instead of sending (`notify.demo_mail.DemoMailBackend`): the
    demo has no mail server, so sign-up links and one-time codes are read here."""

    to = models.CharField(_("to"), max_length=1000)
    subject = models.CharField(_("subject"), max_length=1000)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(_("HTML"), blank=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    raw = models.TextField(_("raw message"), blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        verbose_name = _("demo mail")
        verbose_name_plural = _("demo mails")

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"


class OutboxWorker(models.Model):
    """A process that claims deliveries, with its heartbeat. A claim is stale when the
    heartbeat of the worker holding it is older than `DESTEK_OUTBOX_CLAIM_STALE_SECONDS`.

    `up_since` is when the current unbroken run of heartbeats began: after a database outage
    every heartbeat looks old, so a worker takes over others' claims only once it has itself
    been beating for the stale period (by then every live worker has beaten again).
    """

    name = models.CharField(_("name"), max_length=120, primary_key=True)
    host = models.CharField(_("host"), max_length=100)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    up_since = models.DateTimeField(_("up since"), default=timezone.now)
    seen_at = models.DateTimeField(_("last heartbeat"), default=timezone.now)

    class Meta:
        verbose_name = _("outbox worker")
        verbose_name_plural = _("outbox workers")

    def __str__(self) -> str:
        return self.name


class TransportState(models.Model):
    """Whether a transport (the SMTP server, the SMS gateway) is down, and when to try it
    again: 5, 15, 30, then every 60 seconds. While it is down nothing else is tried; the first
    send that works again wakes everything that waited."""

    transport = models.CharField(
        _("transport"), max_length=16, choices=Transport.choices, primary_key=True
    )
    failures = models.PositiveIntegerField(_("failures"), default=0)
    down_since = models.DateTimeField(_("down since"), null=True, blank=True)
    next_probe_at = models.DateTimeField(_("next try"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("transport state")
        verbose_name_plural = _("transport states")

    def __str__(self) -> str:
        return f"{self.transport} ({self.failures} failures)"


class FailingAddress(models.Model):
    """An address our mail bounced from (a delivery status notification, read by the mail
    channel). Automatic mail is not queued to an address that bounced for good."""

    email = models.EmailField(_("address"), unique=True)
    permanent = models.BooleanField(_("permanent failure"), default=False)
    status = models.CharField(_("status code"), max_length=20, blank=True)
    diagnostic = models.TextField(_("diagnostic"), blank=True)
    bounces = models.PositiveIntegerField(_("bounces"), default=0)
    first_failed_at = models.DateTimeField(_("first failure"), default=timezone.now)
    last_failed_at = models.DateTimeField(_("last failure"), default=timezone.now)

    class Meta:
        # Made in `mail` before the floors put it here; the table kept its name.
        db_table = "mail_failingaddress"
        ordering = ["email"]
        verbose_name = _("failing address")
        verbose_name_plural = _("failing addresses")

    def __str__(self) -> str:
        return self.email
