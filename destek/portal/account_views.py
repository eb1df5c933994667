"""The account pages: sign up, sign in (with the second step), password reset, the profile.

Thin: parse, rate-limit, call one action in `destek.accounts.actions`, render. Answers that
could tell whether an address has an account (sign-up, reset, resend) are the same either way.
"""

from __future__ import annotations

import time
from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from destek.accounts import actions
from destek.accounts.choices import NotificationKind
from destek.accounts.http import AuthenticatedHttpRequest
from destek.accounts.models import ApiToken, ContactAddress, PhoneCode, User
from destek.accounts.selectors import has_two_factor, notification_choices
from destek.accounts.sign_in import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    device_cookie,
    password_sign_in,
    second_factor_allowed,
)
from destek.lib.errors import ActionRefused
from destek.lib.forms import add_refusal
from destek.lib.ratelimit import client_ip, hit
from destek.messaging.linking import profile_section
from destek.notify.sms import sms_enabled
from destek.portal.account_forms import (
    AddressCodeForm,
    ChangePasswordForm,
    CodeForm,
    ConfirmCodeForm,
    ConfirmSignUpForm,
    EmailForm,
    NotificationForm,
    PhoneCodeForm,
    ProfileForm,
    ProofForm,
    SetPasswordForm,
    SignUpForm,
)
from destek.portal.forms import SignInForm

BACKEND = "django.contrib.auth.backends.ModelBackend"
#: The half-signed-in state between the password and the code: in the session, not a login.
PENDING = "pending_second_factor"
PENDING_SECONDS = 300


def _limited(request: HttpRequest, scope: str, ident: str, limit: int, window: int) -> bool:
    """True when over either limit: per `ident` (an address, a user id) and per client. The
    password step of sign-in has its own limits (destek.accounts.sign_in)."""
    kind = "email" if "@" in ident else "user"
    return not (
        hit(f"{scope}-{kind}", ident, limit=limit, window_seconds=window)
        and hit(f"{scope}-ip", client_ip(request), limit=limit * 6, window_seconds=window)
    )


def _too_many() -> str:
    return _("Too many attempts. Please wait a few minutes.")


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("portal:home")


def _note_sign_in(request: HttpRequest, user: User) -> None:
    actions.note_sign_in(
        user,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        channel="web",
    )


def _remember_device(request: HttpRequest, response: HttpResponse, user: User) -> HttpResponse:
    """Mark this browser as one `user` signed in from: a stranger's wrong passwords for the
    address then do not keep them out (destek.accounts.sign_in)."""
    response.set_cookie(
        DEVICE_COOKIE,
        device_cookie(user, request.COOKIES.get(DEVICE_COOKIE, "")),
        max_age=int(DEVICE_MAX_AGE.total_seconds()),
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return response


def _signed_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    login(request, user, backend=BACKEND)  # a new session key: a planted one is worthless
    _note_sign_in(request, user)
    return _remember_device(request, redirect(next_url), user)


def _begin_sign_in(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """Password (or mailed link) accepted: sign in, or first ask for the second factor."""
    if has_two_factor(user):
        request.session[PENDING] = {
            "user": user.pk,
            "until": time.time() + PENDING_SECONDS,
            "next": next_url,
        }
        return redirect("portal:sign_in_code")
    return _signed_in(request, user, next_url)


# --- sign in --------------------------------------------------------------------------------


def _offer_code(form: SignInForm) -> None:
    """While the address is throttled, a code from the app lets its owner in at once."""
    form.fields["otp"] = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        required=False,
        max_length=20,
        help_text=_(
            "If you use two-factor sign-in, type a code with your password to sign in now."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.POST.get("otp"):
        _offer_code(form)
    resend_to = ""
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        try:
            user, second_factor_done = password_sign_in(
                email=email,
                password=form.cleaned_data["password"],
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
                channel="web",
                device=request.COOKIES.get(DEVICE_COOKIE, ""),
                otp=form.cleaned_data.get("otp") or "",
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal)
            if refusal.code == "rate_limited":
                _offer_code(form)
            else:
                # Every refusal offers the link again: whoever signs up with a taken
                # address chose the password, so a different answer would tell them the
                # address has an account.
                resend_to = email
        else:
            if second_factor_done:
                return _signed_in(request, user, _next_url(request))
            return _begin_sign_in(request, user, _next_url(request))
    return render(
        request,
        "portal/sign_in.html",
        {
            "form": form,
            "resend_to": resend_to if settings.DESTEK_SIGNUP else "",
            "signup": settings.DESTEK_SIGNUP,
            "next": request.POST.get("next") or request.GET.get("next", ""),
            "to_new_ticket": _next_url(request).startswith(reverse("portal:new")),
        },
    )


def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the app or a recovery code."""
    pending: dict[str, Any] = request.session.get(PENDING) or {}
    user = None
    if pending.get("until", 0) > time.time():
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_step_limited(request, user):
            form.add_error("code", _too_many())
        else:
            try:
                actions.check_second_factor(user, form.cleaned_data["code"])
            except ActionRefused as refusal:
                add_refusal(form, refusal, "code")
            else:
                del request.session[PENDING]
                return _signed_in(request, user, pending.get("next") or reverse("portal:home"))
    return render(request, "portal/account/sign_in_code.html", {"form": form})


def _code_step_limited(request: HttpRequest, user: User) -> bool:
    """Codes tried per account and client (5 in 5 minutes), per account (30: someone who
    has the password and guesses from many clients) and per client (30). Someone who knows
    the password cannot keep its owner's code step locked with 5 wrong codes."""
    ip = client_ip(request)
    return not (
        hit("second-factor-pair", f"{user.pk}|{ip}", limit=5, window_seconds=300)
        and second_factor_allowed(user)
        and hit("second-factor-ip", ip, limit=30, window_seconds=300)
    )


def admin_sign_in(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Stands in for the admin site's own sign-in form, which asks for the password only:
    admins sign in on the portal's page, where two-factor sign-in, the verified address and
    the rate limits apply."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


# --- sign up --------------------------------------------------------------------------------


def _signup_open() -> None:
    if not settings.DESTEK_SIGNUP:
        raise Http404


def sign_up(request: HttpRequest) -> HttpResponse:
    _signup_open()
    if request.user.is_authenticated:
        return redirect("portal:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _limited(request, "signup", data["email"].lower(), 3, 3600):
            form.add_error(None, _too_many())
            return render(request, "portal/account/sign_up.html", {"form": form}, status=429)
        actions.sign_up(
            full_name=data["full_name"],
            email=data["email"],
            password=data["password"],
            language=data["language"],
            time_zone=data["time_zone"],
        )
        return redirect("portal:sign_up_sent")
    return render(request, "portal/account/sign_up.html", {"form": form})


def sign_up_sent(request: HttpRequest) -> HttpResponse:
    _signup_open()
    return render(request, "portal/account/sign_up_sent.html")


@require_POST
def sign_up_resend(request: HttpRequest) -> HttpResponse:
    _signup_open()
    form = EmailForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"].lower()
        if not _limited(request, "signup-resend", email, 3, 3600):
            actions.resend_signup_link(email)
    return redirect("portal:sign_up_sent")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the form and changes nothing (mail scanners open links); POST, with the
    password chosen at sign-up, verifies and signs in."""
    error = ""
    form = ConfirmSignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _limited(request, "verify", token[:64], 10, 900):
            error = _too_many()
        else:
            try:
                user = actions.verify_email(token, form.cleaned_data["password"])
            except ActionRefused as refusal:
                error = str(refusal.detail)
            else:
                return _begin_sign_in(request, user, reverse("portal:home"))
    return render(request, "portal/account/verify_email.html", {"error": error, "form": form})


# --- password reset -------------------------------------------------------------------------


def password_reset(request: HttpRequest) -> HttpResponse:
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        if _limited(request, "reset", email, 3, 3600):
            form.add_error(None, _too_many())
            return render(request, "portal/account/password_reset.html", {"form": form}, status=429)
        actions.request_password_reset(email)
        return redirect("portal:password_reset_sent")
    return render(request, "portal/account/password_reset.html", {"form": form})


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/account/password_reset_sent.html")


@never_cache
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    # The token stays in the address: pages load nothing from elsewhere and the
    # Referrer-Policy is same-origin, so it never leaks in a Referer header.
    user = actions.user_for_reset_link(uidb64, token)
    if user is None:
        return render(request, "portal/account/password_reset_confirm.html", {"invalid": True})
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.reset_password(uidb64, token, form.cleaned_data["new_password"])
        except ActionRefused as refusal:
            add_refusal(form, refusal)
        else:
            # Not signed in here: with two-factor sign-in, the code is still asked for.
            return redirect("portal:password_reset_done")
    return render(request, "portal/account/password_reset_confirm.html", {"form": form})


def password_reset_done(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/account/password_reset_done.html")


# --- profile --------------------------------------------------------------------------------


def _profile(request: AuthenticatedHttpRequest, status: int = 200, **forms: Any) -> HttpResponse:
    user: User = request.user
    addresses = list(user.contact_addresses.all())
    verified = [a.email for a in addresses if a.verified_at is not None]
    two_factor = getattr(user, "two_factor", None) if has_two_factor(user) else None
    context = {
        "profile_form": forms.get("profile_form")
        or ProfileForm(
            initial={
                "full_name": user.full_name,
                "language": user.language,
                "time_zone": user.time_zone,
                "calendar": user.calendar,
                "phone": user.phone,
            }
        ),
        "password_form": forms.get("password_form") or ChangePasswordForm(user),
        "two_factor": two_factor,
        "codes_left": user.recovery_codes.filter(used_at__isnull=True).count() if two_factor else 0,
        "proof_form": forms.get("proof_form") or ProofForm(),
        "addresses": addresses,
        "address_form": forms.get("address_form") or EmailForm(),
        "address_error": forms.get("address_error", ""),
        "notification_form": forms.get("notification_form")
        or NotificationForm(user, verified, initial=notification_choices(user)),
        "sms": sms_enabled(),
        "phone_code_form": forms.get("phone_code_form") or PhoneCodeForm(),
        "phone_error": forms.get("phone_error", ""),
        "phone_code_sent": PhoneCode.objects.filter(user=user, phone=user.phone).exists(),
        "api_tokens": list(ApiToken.objects.usable().filter(user=user)),
        "token_idle_days": settings.DESTEK_API_TOKEN_IDLE_DAYS,
        "messengers": profile_section(user, forms.get("messenger_link")),
    }
    return render(request, "portal/account/profile.html", context, status=status)


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    if request.method != "POST":
        return _profile(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            actions.update_profile(user, **form.cleaned_data)
        except ActionRefused as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, _("Your profile is saved."))
            response = redirect("portal:profile")
            # The switcher's cookie would outrank the new preference: it follows it now.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
    return _profile(request, profile_form=form)


@login_required
@require_POST
def profile_password(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    form = ChangePasswordForm(user, request.POST)
    if form.is_valid():
        if _limited(request, "password-change", str(user.pk), 5, 300):
            form.add_error(None, _too_many())
        else:
            try:
                actions.change_own_password(
                    user,
                    current=form.cleaned_data["current_password"],
                    new=form.cleaned_data["new_password"],
                )
            except ActionRefused as refusal:
                add_refusal(form, refusal, "current_password")
            else:
                update_session_auth_hash(request, user)  # this browser stays signed in
                messages.success(request, _("Your password is changed."))
                return redirect("portal:profile")
    return _profile(request, password_form=form)


@login_required
@require_POST
def two_factor_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        actions.start_two_factor(request.user)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return redirect("portal:profile")
    return redirect("portal:two_factor_setup")


@never_cache
@login_required
def two_factor_setup(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The QR code and the secret, shown only while two-factor sign-in is not yet on."""
    user: User = request.user
    pending = actions.pending_two_factor(user)
    if pending is None:
        return redirect("portal:profile")
    form = ConfirmCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _code_step_limited(request, user):
            form.add_error("code", _too_many())
        else:
            try:
                codes = actions.confirm_two_factor(user, form.cleaned_data["code"])
            except ActionRefused as refusal:
                add_refusal(form, refusal, "code")
            else:
                return render(request, "portal/account/recovery_codes.html", {"codes": codes})
    uri = actions.provisioning_uri(user, pending)
    # segno draws the URI as modules, no text of it: the SVG is safe to inline.
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#1d2433", light="#fff", title=_("QR code for your authenticator app")
    )
    qr = mark_safe(svg)  # noqa: S308
    secret = " ".join(pending.secret[i : i + 4] for i in range(0, len(pending.secret), 4))
    return render(
        request,
        "portal/account/two_factor_setup.html",
        {"form": form, "qr": qr, "secret": secret},
    )


def _proof(request: AuthenticatedHttpRequest) -> tuple[ProofForm, bool]:
    form = ProofForm(request.POST)
    if not form.is_valid():
        return form, False
    if _limited(request, "second-factor", str(request.user.pk), 5, 300):
        form.add_error("proof", _too_many())
        return form, False
    return form, True


@never_cache
@login_required
@require_POST
def two_factor_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    form, ok = _proof(request)
    if ok:
        try:
            codes = actions.regenerate_recovery_codes(
                request.user,
                proof=form.cleaned_data["proof"],
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal, "proof")
        else:
            return render(request, "portal/account/recovery_codes.html", {"codes": codes})
    return _profile(request, proof_form=form)


@login_required
@require_POST
def two_factor_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    form, ok = _proof(request)
    if ok:
        try:
            actions.disable_two_factor(
                request.user,
                proof=form.cleaned_data["proof"],
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal, "proof")
        else:
            messages.success(request, _("Two-factor sign-in is off."))
            return redirect("portal:profile")
    return _profile(request, proof_form=form)


@login_required
@require_POST
def phone_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Send a code by SMS to the profile's number (rate-limited in the action)."""
    try:
        actions.start_phone_verification(request.user)
    except ActionRefused as refusal:
        return _profile(request, status=refusal.status, phone_error=str(refusal.detail))
    messages.success(request, _("We sent a code by SMS to your phone. Enter it below."))
    return redirect(reverse("portal:profile") + "#phone")


@login_required
@require_POST
def phone_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    form = PhoneCodeForm(request.POST)
    if form.is_valid():
        if _limited(request, "phone-verify", str(user.pk), 10, 900):
            form.add_error("code", _too_many())
        else:
            try:
                actions.verify_phone(user, form.cleaned_data["code"])
            except ActionRefused as refusal:
                add_refusal(form, refusal, "code")
            else:
                messages.success(request, _("Your phone number is verified."))
                return redirect(reverse("portal:profile") + "#phone")
    return _profile(request, phone_code_form=form)


@login_required
@require_POST
def address_add(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    form = EmailForm(request.POST)
    if form.is_valid():
        # The same budget as the API's: codes mailed per person per hour.
        if not hit("address-code", str(user.pk), limit=5, window_seconds=3600):
            form.add_error("email", _("Too many requests. Please wait a while and try again."))
        else:
            try:
                actions.add_contact_address(user, form.cleaned_data["email"])
            except ActionRefused as refusal:
                add_refusal(form, refusal, "email")
            else:
                messages.success(
                    request, _("We sent a code to that address. Enter it below to verify it.")
                )
                return redirect(reverse("portal:profile") + "#addresses")
    return _profile(request, address_form=form)


@login_required
@require_POST
def address_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    form = AddressCodeForm(request.POST)
    error = _("The code is wrong or has expired. Ask for a new one.")
    if form.is_valid():
        try:
            actions.verify_contact_address(
                user, form.cleaned_data["email"], form.cleaned_data["code"]
            )
        except ActionRefused as refusal:
            error = str(refusal.detail)
        except ContactAddress.DoesNotExist:
            pass
        else:
            messages.success(request, _("The address is verified."))
            return redirect(reverse("portal:profile") + "#addresses")
    return _profile(request, address_error=error)


@login_required
@require_POST
def address_remove(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = EmailForm(request.POST)
    if form.is_valid():
        actions.remove_contact_address(
            request.user,
            form.cleaned_data["email"],
        )
        messages.success(request, _("The address is removed."))
    return redirect(reverse("portal:profile") + "#addresses")


@login_required
@require_POST
def api_token_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    token_id = request.POST.get("token", "")
    if (
        token_id.isascii()
        and token_id.isdigit()
        and len(token_id) < 19
        and actions.revoke_own_api_token(
            request.user,
            int(token_id),
        )
    ):
        messages.success(request, _("The token is revoked: programs using it are signed out."))
    return redirect(reverse("portal:profile") + "#api-tokens")


@login_required
@require_POST
def notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    user: User = request.user
    verified = list(
        user.contact_addresses.filter(verified_at__isnull=False).values_list("email", flat=True)
    )
    form = NotificationForm(user, verified, request.POST)
    if form.is_valid():
        try:
            actions.set_notification_addresses(
                user, {kind: form.cleaned_data[kind] for kind in NotificationKind.values}
            )
        except ActionRefused as refusal:
            add_refusal(form, refusal, refusal.extra.get("kind"))
        else:
            messages.success(request, _("Saved: where each kind of mail goes."))
            return redirect(reverse("portal:profile") + "#notifications")
    return _profile(request, notification_form=form)
