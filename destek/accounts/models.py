from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import Role, Tier

#: The domain of the accounts messaging makes for messenger contacts (never a real address),
#: and the messengers' names as their kinds start those addresses.
MESSENGER_CONTACT_DOMAIN = "messenger-contacts.invalid"
MESSENGER_NAMES = {
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "messenger": "Messenger",
    "instagram": "Instagram",
}


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    share_tickets = models.BooleanField(
        _("members see each other's tickets"),
        default=False,
        help_text=_("Members can read, not change, the tickets of their colleagues."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class OrganisationDomain(models.Model):
    """An e-mail domain of an organisation. Customers of no organisation whose address is in
    it are suggested as members in the desk; an agent confirms each, nobody joins by the
    address alone (anyone can write from any address until it is verified)."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="domains",
    )
    # One organisation per domain: a suggestion must name one organisation, not several.
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("organisation domain")
        verbose_name_plural = _("organisation domains")

    def __str__(self) -> str:
        return self.domain


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))


def normalize_email(email: str) -> str:
    """Addresses compare case-insensitively: stored lower-cased and trimmed."""
    return email.strip().lower()


def new_customer_number() -> str:
    return str(secrets.randbelow(9_000_000) + 1_000_000)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an e-mail address: a customer, an agent or an admin."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    customer_number = models.CharField(
        _("customer number"), max_length=20, unique=True, null=True, blank=True
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Baku")
    # Persian readers see the Solar Hijri calendar unless they choose the Gregorian one;
    # the other languages always use the Gregorian calendar.
    calendar = models.CharField(
        _("calendar for Persian dates"),
        max_length=16,
        choices=[
            ("solar_hijri", _("Solar Hijri (1405)")),
            ("gregorian", _("Gregorian (2026)")),
        ],
        default="solar_hijri",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Set when the owner typed back the code we sent by SMS to `phone` (E.164 then); changing
    # the number clears it. Only a verified number receives SMS notices of tickets.
    phone_verified_at = models.DateTimeField(_("phone verified"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Accounts made by a trusted channel (admin, demo, an agent) start verified; sign-up
    # clears it until the mailed link is followed, and so may a channel that only saw the
    # address (e-mail in) until its owner proves it by sign-up or password reset.
    email_verified_at = models.DateTimeField(
        _("address verified"), null=True, blank=True, default=timezone.now
    )
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        if self.role == Role.CUSTOMER and not self.customer_number:
            number = new_customer_number()
            # Random numbers meet now and then (a test database holds many customers): draw
            # again rather than fail the sign-up on the unique constraint.
            while User.objects.filter(customer_number=number).exists():
                number = new_customer_number()
            self.customer_number = number
        # Django admin access follows the role: only admins manage the site.
        self.is_superuser = self.role == Role.ADMIN
        super().save(*args, **kwargs)

    @property
    def is_staff(self) -> bool:
        """Only admins enter the Django admin; agents work in the desk."""
        return self.role == Role.ADMIN

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def is_agent(self) -> bool:
        """Agents and admins both work tickets."""
        return self.role in (Role.AGENT, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def display_name(self) -> str:
        if self.full_name:
            return self.full_name
        local, _at, domain = self.email.rpartition("@")
        if domain == MESSENGER_CONTACT_DOMAIN:
            # A messenger contact's made-up address is never shown (messaging/identity.py).
            kind = MESSENGER_NAMES.get(local.split("-", 1)[0], "Telegram")
            return str(_("{messenger} customer")).format(messenger=kind)
        return local

    @property
    def shown_address(self) -> str:
        """The address to show: the e-mail, or for a messenger contact (whose address is made
        up and reaches no one) its name."""
        if self.email.rpartition("@")[2] == MESSENGER_CONTACT_DOMAIN:
            return self.display_name
        return self.email


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        """Not revoked, of an active person, and used (or made) within
        DESTEK_API_TOKEN_IDLE_DAYS: a token forgotten in an old script stops working."""
        since = timezone.now() - timedelta(days=settings.DESTEK_API_TOKEN_IDLE_DAYS)
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(last_used_at__gte=since)
            | models.Q(last_used_at__isnull=True, created_at__gte=since)
        )


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the raw token is shown once."""

    PREFIX = "dtk_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("first characters"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.hint}… ({self.user})"

    @classmethod
    def generate(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)


class ContactAddress(models.Model):
    """Another address of a customer's, usable for notifications once proven theirs.

    Mail goes only to addresses the customer showed they read: otherwise anyone could make
    the helpdesk mail a stranger by filing a ticket with their address.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_addresses"
    )
    email = models.EmailField(_("e-mail address"))
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    # Which kinds of mail go here instead of the account address; at most one address per
    # kind and person (constraints below), and only once verified (the actions see to it).
    for_support = models.BooleanField(_("support mail"), default=False)
    for_billing = models.BooleanField(_("billing mail"), default=False)
    for_security = models.BooleanField(_("security mail"), default=False)
    for_announcements = models.BooleanField(_("announcements"), default=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["email"]
        verbose_name = _("contact address")
        verbose_name_plural = _("contact addresses")
        constraints = [
            models.UniqueConstraint(fields=["user", "email"], name="contact_address_unique"),
            *(
                models.UniqueConstraint(
                    fields=["user"],
                    condition=models.Q(**{f"for_{kind}": True}),
                    name=f"contact_address_one_{kind}",
                )
                for kind in ("support", "billing", "security", "announcements")
            ),
        ]

    def __str__(self) -> str:
        return self.email


class PhoneCode(models.Model):
    """The code sent by SMS to prove a phone number; only its HMAC (bound to the person and
    the number) is stored. One per person: asking again replaces it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone_code"
    )
    phone = models.CharField(_("phone"), max_length=32)
    code_hash = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("phone verification code")
        verbose_name_plural = _("phone verification codes")

    def __str__(self) -> str:
        return f"{self.user} ({self.phone})"


class TwoFactor(models.Model):
    """A person's TOTP authenticator. `confirmed_at` is empty while being set up: sign-in
    asks for a code only once the person proved their app produces them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor"
    )
    # The shared secret has to be readable to compute codes, so it cannot be hashed; it is
    # shown only while setting up and never again.
    secret = models.CharField(max_length=64, editable=False)
    confirmed_at = models.DateTimeField(_("enabled"), null=True, blank=True)
    #: The last 30-second step a code was accepted for: no code of it or an earlier step is
    #: accepted again (RFC 6238, section 5.2).
    last_step = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("two-factor sign-in")
        verbose_name_plural = _("two-factor sign-ins")

    def __str__(self) -> str:
        return str(self.user)


class RecoveryCode(models.Model):
    """A one-time code for signing in without the authenticator; only its HMAC is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64, editable=False)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")
        indexes = [models.Index(fields=["user", "code_hash"], name="recovery_code_lookup")]

    def __str__(self) -> str:
        return f"{self.user} ({self.pk})"


class SignInDevice(models.Model):
    """A browser (or API client) a person signed in from: its kind and network, hashed. A
    sign-in from one not seen before mails the security address (seed 004)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_devices"
    )
    key_hash = models.CharField(max_length=64)
    description = models.CharField(_("device"), max_length=200, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("sign-in device")
        verbose_name_plural = _("sign-in devices")
        constraints = [
            models.UniqueConstraint(fields=["user", "key_hash"], name="sign_in_device_unique")
        ]

    def __str__(self) -> str:
        return self.description or self.key_hash[:8]


class CustomerNote(models.Model):
    """What agents keep about a customer ("prefers calls after 14:00"). Read by agents and
    admins on the desk's customer page only: no portal page, mail or API shows it."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="notes_about",
    )
    # The note outlives its author's account: what was written stays, unsigned.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        indexes = [models.Index(fields=["customer", "-id"], name="customer_note_idx")]

    def __str__(self) -> str:
        return f"{self.customer} ({self.pk})"


class OrganisationNote(models.Model):
    """What agents keep about an organisation; like `CustomerNote`, for the desk only."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="notes",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("organisation note")
        verbose_name_plural = _("organisation notes")
        indexes = [models.Index(fields=["organisation", "-id"], name="organisation_note_idx")]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.pk})"
