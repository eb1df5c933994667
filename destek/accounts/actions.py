"""State changes of accounts: API tokens, contact addresses proven with a code, sign-up with
a mailed link, password reset, two-factor sign-in, the profile and where each kind of mail
goes."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import zoneinfo
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.contrib.auth.tokens import default_token_generator
from django.core.signing import BadSignature, TimestampSigner
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from destek.accounts.choices import NotificationKind, Role
from destek.accounts.models import (
    ApiToken,
    ContactAddress,
    PhoneCode,
    RecoveryCode,
    SignInDevice,
    TwoFactor,
    User,
    hash_token,
    normalize_email,
)
from destek.accounts.selectors import notification_address
from destek.accounts.signals import customer_named
from destek.lib.browser import facts_from_user_agent
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import hit
from destek.notify.actions import queue_mail, queue_sms
from destek.notify.choices import MailKind
from destek.notify.sms import e164, sms_enabled

#: The last-used time is written at most this often: cheap on every request, and the idle
#: limit is counted in days.
TOKEN_TOUCH_SECONDS = 3600


@transaction.atomic
def issue_api_token(user: User, *, name: str = "") -> str:
    """Create a token for `user` and return the raw value, which is never stored. Beyond
    DESTEK_API_TOKENS_PER_USER live tokens, the oldest are revoked."""
    raw = ApiToken.generate()
    ApiToken.objects.create(user=user, name=name[:100], key_hash=hash_token(raw), hint=raw[:10])
    live = ApiToken.objects.usable().filter(user=user).order_by("-created_at", "-pk")
    extra = list(live.values_list("pk", flat=True)[settings.DESTEK_API_TOKENS_PER_USER :])
    if extra:
        ApiToken.objects.filter(pk__in=extra).update(revoked_at=timezone.now())
    return raw


@transaction.atomic
def revoke_api_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


@transaction.atomic
def revoke_own_api_token(user: User, token_id: int) -> bool:
    """From the profile: only the person's own token; False when there was none to revoke."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def _revoke_all_tokens(user: User) -> None:
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_for_token(raw: str) -> User | None:
    """The active user a raw bearer token belongs to, or None (revoked, idle too long,
    unknown, deactivated)."""
    if not raw.startswith(ApiToken.PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user", "user__organisation")
        .filter(key_hash=hash_token(raw))
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touched at most once an hour: a write per request would serialise API traffic on SQLite.
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


CODE_LIFETIME = timedelta(minutes=30)
CODE_ATTEMPTS = 5


def _code_hash(address: ContactAddress, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(),
        f"{address.user_id}:{address.email}:{code}".encode(),
        hashlib.sha256,
    ).hexdigest()


def verified_addresses(user: User) -> set[str]:
    """Where mail for `user` may go: the account address and every proven contact address."""
    extra = user.contact_addresses.filter(verified_at__isnull=False).values_list("email", flat=True)
    return {user.email, *extra}


@transaction.atomic
def add_contact_address(user: User, email: str) -> ContactAddress:
    """Start proving `email` is the user's: a six-digit code goes to it, valid 30 minutes."""
    email = normalize_email(email)
    if email == user.email:
        raise ActionRefused("already_primary", _("This is already the address of your account."))
    address, _created = ContactAddress.objects.get_or_create(user=user, email=email)
    if address.verified_at is not None:
        return address
    code = f"{secrets.randbelow(1_000_000):06d}"
    address.code_hash = _code_hash(address, code)
    address.code_expires_at = timezone.now() + CODE_LIFETIME
    address.attempts = 0
    address.save()
    queue_mail(
        to=email,
        template="verify_address",
        context={"code": code, "account": user.email, "minutes": 30},
        language=user.language,
        time_zone=user.time_zone,
        calendar=user.calendar,
        kind=MailKind.SECURITY,
    )
    return address


def verify_contact_address(user: User, email: str, code: str) -> ContactAddress:
    """Prove the address with its code. Five wrong tries and the code is spent."""
    with transaction.atomic():
        address = (
            ContactAddress.objects.select_for_update()
            .filter(user=user, email=normalize_email(email))
            .first()
        )
        if address is None:
            raise ContactAddress.DoesNotExist
        if address.verified_at is not None:
            return address
        usable = (
            bool(address.code_hash)
            and address.code_expires_at is not None
            and address.code_expires_at > timezone.now()
            and address.attempts < CODE_ATTEMPTS
        )
        right = usable and hmac.compare_digest(address.code_hash, _code_hash(address, code.strip()))
        if right:
            address.verified_at = timezone.now()
            address.code_hash = ""
            address.save()
            return address
        # Counted and committed before refusing, so guessing cannot go on for ever.
        ContactAddress.objects.filter(pk=address.pk).update(attempts=address.attempts + 1)
    raise ActionRefused("invalid_code", _("The code is wrong or has expired. Ask for a new one."))


@transaction.atomic
def change_password(user: User, raw_password: str) -> None:
    """A new password ends every API token (whoever held the old one is signed out; so are
    other browsers, whose session hash no longer matches) and is told to the security
    address: if it was not the owner, they learn of it."""
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    _revoke_all_tokens(user)
    _security_mail(user, "password_changed")


# --- mail to the person -------------------------------------------------------------------


def _link(name: str, **kwargs: Any) -> str:
    return settings.BASE_URL + reverse(name, kwargs=kwargs or None)


def _mail(user: User, template: str, to: str | None = None, **context: Any) -> None:
    """Every mail this module sends is security mail (a sign-up link, a password reset, a
    notice about the account): never held by the automatic-mail cap, which forged mail can
    fill, only by a limit of its own per address and kind."""
    queue_mail(
        to=to or user.email,
        template=template,
        context={"name": user.display_name, "account": user.email, **context},
        language=user.language,
        time_zone=user.time_zone,
        calendar=user.calendar,
        kind=MailKind.SECURITY,
    )


def _security_mail(user: User, template: str, **context: Any) -> None:
    _mail(
        user,
        template,
        to=notification_address(user, NotificationKind.SECURITY),
        when=timezone.now(),
        reset_url=_link("portal:password_reset"),
        **context,
    )


# --- sign-up --------------------------------------------------------------------------------

SIGNUP_SALT = "destek.accounts.signup"


def _password_fingerprint(user: User) -> str:
    """Changes with the password: a sign-up repeated with the same address (a new password)
    kills the earlier links, and a used link is dead because the address is then verified."""
    return salted_hmac(SIGNUP_SALT, user.password).hexdigest()[:16]


def signup_token(user: User) -> str:
    return TimestampSigner(salt=SIGNUP_SALT).sign(f"{user.pk}:{_password_fingerprint(user)}")


def _mail_signup_link(user: User) -> None:
    # Greeted by the address, not the name typed at sign-up: whoever typed it need not own
    # the mailbox, and the form must not carry their words into a stranger's inbox.
    _mail(
        user,
        "signup_verify",
        name=user.email.split("@")[0],
        link=_link("portal:verify_email", token=signup_token(user)),
        hours=settings.DESTEK_SIGNUP_LINK_HOURS,
    )


@transaction.atomic
def sign_up(*, full_name: str, email: str, password: str, language: str, time_zone: str) -> None:
    """Open an account that cannot sign in until the link mailed to `email` is followed.

    Returns nothing and behaves the same from outside whether or not the address is taken:
    an owner who can sign in gets a note ("someone tried to sign up with your address")
    instead of a link, so nobody learns from this form who has an account. An account that
    never could (an earlier sign-up, a customer known only from their mail or a phone call)
    is claimed: the new password waits for the link like a new account's.
    """
    email = normalize_email(email)
    hashed = make_password(password)  # hashed on every path: the answer takes as long
    user = User.objects.select_for_update().filter(email=email).first()
    if user is None:
        for _attempt in range(NUMBER_TRIES):
            user = User(email=email, role=Role.CUSTOMER, email_verified_at=None)
            try:
                with transaction.atomic():
                    _fill_signup(user, full_name, hashed, language, time_zone)
                break
            except IntegrityError:
                if User.objects.filter(email=email).exists():
                    return  # the same address signed up a moment ago; that one mailed the link
                # Else the random customer number drawn on save was taken: draw again.
        else:
            raise RuntimeError("no free customer number after several draws")
        _mail_signup_link(user)
        return
    if not user.is_active:
        return
    if user.is_customer and (user.email_verified_at is None or not user.has_usable_password()):
        # Never signed in (a phone or mail customer has no password): the new password waits
        # for the link, so whoever typed the address gains nothing without the mailbox. Only
        # customers: an agent's or admin's account without a password is set up by an admin
        # (password reset), never claimed with a password a stranger chose.
        # The name, language and time zone stay the owner's: nothing typed here is proven.
        user.email_verified_at = None
        user.password = hashed
        user.save(update_fields=["email_verified_at", "password"])
        _mail_signup_link(user)
        return
    _mail(
        user,
        "signup_exists",
        sign_in_url=_link("portal:login"),
        reset_url=_link("portal:password_reset"),
    )


#: Customer numbers are random: a sign-up that draws a taken one draws again, this often.
NUMBER_TRIES = 5


def _fill_signup(user: User, full_name: str, hashed: str, language: str, time_zone: str) -> None:
    user.full_name = full_name.strip()[:200] or user.full_name
    user.password = hashed
    user.language = language
    user.time_zone = time_zone
    user.save()


@transaction.atomic
def resend_signup_link(email: str) -> None:
    """A fresh link for an account waiting for one; nothing (and no difference) otherwise."""
    user = (
        User.objects.filter(
            email=normalize_email(email), email_verified_at__isnull=True, is_active=True
        )
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .first()
    )
    if user is not None:
        _mail_signup_link(user)


def verify_email(token: str, password: str) -> User:
    """Follow the mailed link: the address is verified and the account may sign in. Each link
    works once and for DESTEK_SIGNUP_LINK_HOURS.

    The password chosen at sign-up is asked again: the link proves the mailbox, the password
    proves the person who signed up. Without it, a stranger could sign up with someone else's
    address and wait for its owner to confirm, then sign in to the owner's account with the
    password the stranger chose.
    """
    refused = ActionRefused(
        "invalid_link",
        _("This link is invalid, was already used or has expired. Sign in, or sign up again."),
    )
    try:
        value = TimestampSigner(salt=SIGNUP_SALT).unsign(
            token, max_age=timedelta(hours=settings.DESTEK_SIGNUP_LINK_HOURS)
        )
    except BadSignature:  # also SignatureExpired
        raise refused from None
    pk, _sep, fingerprint = value.partition(":")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=int(pk), is_active=True).first()
        if (
            user is None
            or user.email_verified_at is not None
            or not hmac.compare_digest(fingerprint, _password_fingerprint(user))
        ):
            raise refused
        if not user.check_password(password):
            raise ActionRefused(
                "wrong_password",
                _(
                    "This is not the password chosen at sign-up. If you did not sign up "
                    "yourself, ignore this link; to set a password of your own, use "
                    '"Forgot your password?" on the sign-in page.'
                ),
            )
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


@transaction.atomic
def change_own_password(user: User, *, current: str, new: str) -> None:
    """From the profile: the current password first, so an unattended browser is not enough."""
    if not user.check_password(current):
        raise ActionRefused("wrong_password", _("The current password is wrong."))
    change_password(user, new)


# --- password reset -------------------------------------------------------------------------


@transaction.atomic
def request_password_reset(email: str) -> None:
    """Mail a reset link to the account address, if there is an active account; the caller
    answers the same either way. The link (Django's token: it hashes the password and the last
    sign-in) works once and for PASSWORD_RESET_TIMEOUT."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return
    _mail(
        user,
        "password_reset",
        link=_link(
            "portal:password_reset_confirm",
            uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
            token=default_token_generator.make_token(user),
        ),
        minutes=settings.PASSWORD_RESET_TIMEOUT // 60,
    )


def user_for_reset_link(uidb64: str, token: str) -> User | None:
    """The person a reset link is for, while it is still good; reading changes nothing."""
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@transaction.atomic
def reset_password(uidb64: str, token: str, raw_password: str) -> User:
    """Set the new password through the link. Reading the mail proved the address, so an
    account not yet verified (a sign-up, a customer known from their mail) is verified now."""
    found = user_for_reset_link(uidb64, token)
    # Locked and checked again: two uses of one link at the same moment (PostgreSQL runs them
    # side by side) see the password the first one set, and the second link check fails.
    user = User.objects.select_for_update().filter(pk=found.pk).first() if found else None
    if user is None or not default_token_generator.check_token(user, token):
        raise ActionRefused(
            "invalid_link",
            _("This link is invalid, was already used or has expired. Ask for a new one."),
        )
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    change_password(user, raw_password)
    return user


# --- two-factor sign-in ---------------------------------------------------------------------

TOTP_ISSUER = "Destek"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def provisioning_uri(user: User, two_factor: TwoFactor) -> str:
    """The otpauth:// address the authenticator app reads from the QR code."""
    return _totp(two_factor.secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(two_factor: TwoFactor, code: str) -> int | None:
    """The time step `code` belongs to (now, or one step either side for clock drift), only
    if later than the last accepted one: a code seen once is spent."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = _totp(two_factor.secret)
    now = totp.timecode(timezone.now())
    for step in (now - 1, now, now + 1):
        if step > two_factor.last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_hash(user_id: int, code: str) -> str:
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hmac.new(
        settings.SECRET_KEY.encode(), f"recovery:{user_id}:{normal}".encode(), hashlib.sha256
    ).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _i in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=_recovery_hash(user.pk, code)) for code in codes]
    )
    return codes


@transaction.atomic
def start_two_factor(user: User) -> TwoFactor:
    """A new secret, waiting for a first code from the app before sign-in asks for one."""
    if TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise ActionRefused("already_enabled", _("Two-factor sign-in is already on."))
    two_factor, _created = TwoFactor.objects.update_or_create(
        user=user, defaults={"secret": pyotp.random_base32(), "last_step": 0}
    )
    return two_factor


def pending_two_factor(user: User) -> TwoFactor | None:
    return TwoFactor.objects.filter(user=user, confirmed_at__isnull=True).first()


@transaction.atomic
def confirm_two_factor(user: User, code: str) -> list[str]:
    """Switch two-factor sign-in on with a first code; returns the recovery codes, whose raw
    values exist only in this answer."""
    two_factor = (
        TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=True).first()
    )
    if two_factor is None:
        raise ActionRefused("not_started", _("Start setting up two-factor sign-in first."))
    step = _matching_step(two_factor, code)
    if step is None:
        raise ActionRefused("invalid_code", _("The code is wrong or has expired."))
    two_factor.confirmed_at = timezone.now()
    two_factor.last_step = step
    two_factor.save(update_fields=["confirmed_at", "last_step"])
    codes = _new_recovery_codes(user)
    # Tokens were given for the password alone: from now on a token needs the code too.
    _revoke_all_tokens(user)
    _security_mail(user, "two_factor_enabled")
    return codes


@transaction.atomic
def check_second_factor(user: User, code: str) -> str:
    """Accept a code from the app ("totp") or an unused recovery code ("recovery"), each once.
    A recovery code used is told to the security address."""
    two_factor = (
        TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    )
    refused = ActionRefused("invalid_code", _("The code is wrong or has expired."))
    if two_factor is None or not code.strip():
        raise refused
    step = _matching_step(two_factor, code)
    if step is not None:
        TwoFactor.objects.filter(pk=two_factor.pk).update(last_step=step)
        return "totp"
    # A conditional UPDATE: of two requests with the same code, one wins.
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_recovery_hash(user.pk, code), used_at__isnull=True
    ).update(used_at=timezone.now())
    if not used:
        raise refused
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    _security_mail(user, "recovery_code_used", left=left)
    return "recovery"


def _prove(user: User, proof: str) -> None:
    """The current password or a code: someone at an unattended browser cannot switch the
    second factor off or read new recovery codes."""
    if proof and user.check_password(proof):
        return
    try:
        check_second_factor(user, proof)
    except ActionRefused:
        raise ActionRefused("invalid_proof", _("The password or code is wrong.")) from None


@transaction.atomic
def regenerate_recovery_codes(user: User, *, proof: str) -> list[str]:
    """Ten new codes; the old ones stop working."""
    if not TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise ActionRefused("not_enabled", _("Two-factor sign-in is off."))
    _prove(user, proof)
    return _new_recovery_codes(user)


@transaction.atomic
def disable_two_factor(user: User, *, proof: str) -> None:
    if not TwoFactor.objects.filter(user=user, confirmed_at__isnull=False).exists():
        raise ActionRefused("not_enabled", _("Two-factor sign-in is off."))
    _prove(user, proof)
    TwoFactor.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    _security_mail(user, "two_factor_disabled")


# --- profile and notification addresses -----------------------------------------------------


@transaction.atomic
def update_profile(
    user: User,
    *,
    full_name: str,
    language: str,
    time_zone: str,
    phone: str,
    calendar: str = "",
) -> None:
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused("invalid_language", _("Choose one of the languages offered."))
    if time_zone not in zoneinfo.available_timezones():
        raise ActionRefused("invalid_time_zone", _("Choose one of the time zones offered."))
    renamed = user.full_name != full_name.strip()[:200]
    user.full_name = full_name.strip()[:200]
    user.language = language
    user.time_zone = time_zone
    fields = ["full_name", "language", "time_zone", "phone"]
    if calendar:
        if calendar not in ("solar_hijri", "gregorian"):
            raise ActionRefused("invalid_calendar", _("Choose one of the calendars offered."))
        user.calendar = calendar
        fields.append("calendar")
    phone = normalize_phone(phone)
    if phone != user.phone:
        # A new number is not proven: SMS stop until its code is typed back.
        user.phone_verified_at = None
        fields.append("phone_verified_at")
        PhoneCode.objects.filter(user=user).delete()
    user.phone = phone
    user.save(update_fields=fields)
    if renamed:
        customer_named.send(sender=User, customer=user)


@transaction.atomic
def set_language(user: User, language: str) -> None:
    """The language picked in the page header becomes the person's own: their mail and our
    automatic answers follow it, not only the pages of this browser."""
    if language not in dict(settings.LANGUAGES):
        raise ActionRefused("invalid_language", _("Choose one of the languages offered."))
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@transaction.atomic
def remove_contact_address(user: User, email: str) -> None:
    """Mail of the kinds it received falls back to the account address."""
    ContactAddress.objects.filter(user=user, email=normalize_email(email)).delete()


@transaction.atomic
def set_notification_addresses(user: User, chosen: Mapping[str, str]) -> None:
    """For each kind given, the verified contact address that receives it ("" for the
    account address)."""
    verified = {
        a.email: a for a in ContactAddress.objects.filter(user=user, verified_at__isnull=False)
    }
    for kind, email in chosen.items():
        if kind not in NotificationKind.values:
            raise ValueError(f"unknown notification kind {kind!r}")
        email = normalize_email(email)
        if email and email != user.email and email not in verified:
            raise ActionRefused(
                "unverified_address", _("Verify this address before choosing it."), kind=kind
            )
    for kind, email in chosen.items():
        field = f"for_{kind}"
        # Cleared first: at most one address per kind (a database constraint holds it too).
        ContactAddress.objects.filter(user=user, **{field: True}).update(**{field: False})
        target = verified.get(normalize_email(email))
        if target is not None:
            ContactAddress.objects.filter(pk=target.pk).update(**{field: True})


# --- phone verification ---------------------------------------------------------------------

PHONE_CODE_LIFETIME = timedelta(minutes=15)
PHONE_CODE_ATTEMPTS = 5
#: Codes sent per person per hour: each SMS costs money, and the number typed may be a
#: stranger's (the per-number caps of automatic messages hold as well).
PHONE_CODES_PER_HOUR = 3


def normalize_phone(raw: str) -> str:
    """The number in E.164, "" for none; refused (next to the phone field) when invalid."""
    raw = raw.strip()
    if not raw:
        return ""
    number = e164(raw)
    if number is None:
        raise ActionRefused(
            "invalid_phone",
            _(
                "This is not a valid phone number. Type it with the country code, "
                "for example +994 50 123 45 67."
            ),
            field="phone",
        )
    return number


def _phone_code_hash(user: User, phone: str, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"phone:{user.pk}:{phone}:{code}".encode(), hashlib.sha256
    ).hexdigest()


def phone_verified(user: User) -> bool:
    return bool(user.phone) and user.phone_verified_at is not None


@transaction.atomic
def start_phone_verification(user: User) -> PhoneCode:
    """Send a six-digit code by SMS to the profile's number, valid 15 minutes."""
    if not sms_enabled():
        raise ActionRefused("sms_off", _("SMS notices are not available on this site."))
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.phone:
        raise ActionRefused(
            "no_phone", _("Save your phone number first, then verify it."), field="phone"
        )
    phone = normalize_phone(user.phone)
    if phone_verified(user):
        raise ActionRefused("already_verified", _("Your phone number is already verified."))
    if not hit("phone-code", str(user.pk), limit=PHONE_CODES_PER_HOUR, window_seconds=3600):
        raise ActionRefused(
            "too_many", _("Too many codes asked for. Please wait an hour."), status=429
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    record, _created = PhoneCode.objects.update_or_create(
        user=user,
        defaults={
            "phone": phone,
            "code_hash": _phone_code_hash(user, phone, code),
            "expires_at": timezone.now() + PHONE_CODE_LIFETIME,
            "attempts": 0,
        },
    )
    sent = queue_sms(
        to=phone,
        template="phone_code",
        context={"code": code, "minutes": int(PHONE_CODE_LIFETIME.total_seconds() // 60)},
        language=user.language,
        refuse_over_cap=True,
    )
    if sent is None:
        raise ActionRefused(
            "too_many",
            _("Too many messages to this number. Please try again tomorrow."),
            status=429,
        )
    return record


def verify_phone(user: User, code: str) -> None:
    """Prove the number with the code from the SMS. Five wrong tries and the code is spent;
    a code sent to an earlier number does not verify a later one."""
    with transaction.atomic():
        record = PhoneCode.objects.select_for_update().filter(user=user).first()
        fresh = User.objects.select_for_update().get(pk=user.pk)
        if record is None:
            raise ActionRefused("not_started", _("Ask for a code first."), field="code")
        usable = (
            record.phone == fresh.phone
            and record.expires_at > timezone.now()
            and record.attempts < PHONE_CODE_ATTEMPTS
        )
        digits = "".join(code.split())
        right = usable and hmac.compare_digest(
            record.code_hash, _phone_code_hash(fresh, record.phone, digits)
        )
        if right:
            fresh.phone_verified_at = user.phone_verified_at = timezone.now()
            fresh.save(update_fields=["phone_verified_at"])
            record.delete()
            return
        # Counted and committed before refusing, so guessing cannot go on for ever.
        PhoneCode.objects.filter(pk=record.pk).update(attempts=record.attempts + 1)
    raise ActionRefused(
        "invalid_code", _("The code is wrong or has expired. Ask for a new one."), field="code"
    )


# --- new sign-ins ----------------------------------------------------------------------------


def _network(ip: str) -> str:
    """The network a client is in (/24 for IPv4, /48 for IPv6): a new address from the same
    provider's pool is not a new device."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def device_key(*, ip: str, user_agent: str, channel: str) -> tuple[str, str]:
    """The hashed kind and network of a client (the `SignInDevice` key), and its description."""
    facts = facts_from_user_agent(user_agent or "")
    kind = " ".join(filter(None, [facts.get("browser", "").split(" ")[0], facts.get("os", "")]))
    network = _network(ip)
    key = hashlib.sha256(f"{channel}|{kind}|{network}".encode()).hexdigest()
    return key, ", ".join(filter(None, [kind or channel, network]))[:200]


def note_sign_in(user: User, *, ip: str, user_agent: str, channel: str) -> bool:
    """Remember where `user` signed in from; mail their security address when it is a browser
    or network never seen before (not on their very first sign-in). True when mailed."""
    key, description = device_key(ip=ip, user_agent=user_agent, channel=channel)
    now = timezone.now()
    with transaction.atomic():
        seen_before = SignInDevice.objects.filter(user=user).exists()
        device, created = SignInDevice.objects.get_or_create(
            user=user, key_hash=key, defaults={"description": description}
        )
        if not created:
            SignInDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
            return False
        if not seen_before:
            return False
        _security_mail(user, "new_sign_in", device=description, ip=ip)
    return True
