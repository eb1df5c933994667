"""Subscribing to status notices: the public form, the confirmation and unsubscribe pages,
following an incident, and a signed-in customer's own "Status notices" page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from destek.accounts.models import User
from destek.announcements import subscribing
from destek.announcements.choices import NoticeVia
from destek.announcements.models import Area, AutomaticOptOut, Incident, Service, Subscription
from destek.announcements.notices import carrier
from destek.announcements.texts import pick
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import Limit, client_ip, hit_all

#: Subscribe requests per client address and per subscribed address in an hour.
PER_CLIENT_PER_HOUR = 10
PER_ADDRESS_PER_HOUR = 3


def _number(value: str) -> int | None:
    """A plain ASCII number (str.isdigit also accepts "²" and other digits int() refuses)."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _ids(request: HttpRequest, name: str) -> list[int]:
    """The chosen ids; what is no id (a forged form) is ignored."""
    return [n for n in map(_number, request.POST.getlist(name)) if n is not None]


def _choices() -> dict[str, Any]:
    return {
        "services": list(Service.objects.select_related("group").order_by("position", "name")),
        "areas": list(Area.objects.order_by("position", "name")),
    }


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """E-mail or phone, to everything or chosen services and areas; a link is sent to the
    address to confirm. The answer is the same whether or not it was subscribed already."""
    values: dict[str, Any] = {**_choices(), "error": None, "form": request.POST}
    if request.method == "POST":
        try:
            via, address = subscribing.clean_address(
                email=request.POST.get("email", ""), phone=request.POST.get("phone", "")
            )
            if not hit_all(
                Limit("status-subscribe", client_ip(request), PER_CLIENT_PER_HOUR, 3600)
            ):
                raise ActionRefused(
                    "rate_limited",
                    _("Too many attempts. Please try again later."),
                    status=429,
                )
            send = hit_all(Limit("status-subscribe-to", address, PER_ADDRESS_PER_HOUR, 3600))
            subscribing.subscribe_address(
                via=via,
                address=address,
                everything=request.POST.get("scope", "all") == "all",
                services=_ids(request, "services"),
                areas=_ids(request, "areas"),
                send=send,
            )
        except ActionRefused as refused:
            values["error"] = refused
            return render(request, "announcements/subscribe.html", values, status=refused.status)
        return render(request, "announcements/subscribe_sent.html", {"via": via})
    return render(request, "announcements/subscribe.html", values)


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what will be confirmed (mail scanners open links); the button confirms."""
    subscription = subscribing.pending(token)
    if subscription is None:
        return render(request, "announcements/confirm.html", {"subscription": None}, status=404)
    done = False
    if request.method == "POST":
        subscription = subscribing.confirm(token)
        done = True
    return render(
        request, "announcements/confirm.html", {"subscription": subscription, "done": done}
    )


@csrf_exempt  # RFC 8058 one-click: the mail provider POSTs without our cookie; the token
@require_http_methods(["GET", "POST"])  # in the path is the proof.
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a page and changes nothing; its one POST unsubscribes."""
    from destek.announcements.notices import read_unsubscribe_token

    read = read_unsubscribe_token(token)
    if read is None:
        return render(request, "announcements/unsubscribe.html", {"valid": False}, status=404)
    done = False
    if request.method == "POST":
        done = subscribing.unsubscribe(token)
    address = read[0].partition(":")[2]
    return render(
        request,
        "announcements/unsubscribe.html",
        {"valid": True, "done": done, "address": address, "token": token},
    )


@require_POST
def follow(request: HttpRequest, pk: int) -> HttpResponse:
    """Signed in: one click follows the incident. Otherwise an e-mail address, told once it
    confirms the mailed link (the same answer whether or not it followed already)."""
    incident = get_object_or_404(Incident, pk=pk)
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        subscribing.follow_incident(user, incident)
        return HttpResponseRedirect(reverse("announcements:incident", args=[pk]) + "?following=1")
    try:
        via, address = subscribing.clean_address(email=request.POST.get("email", ""))
        if not hit_all(Limit("status-subscribe", client_ip(request), PER_CLIENT_PER_HOUR, 3600)):
            raise ActionRefused(
                "rate_limited",
                _("Too many attempts. Please try again later."),
                status=429,
            )
        send = hit_all(Limit("status-subscribe-to", address, PER_ADDRESS_PER_HOUR, 3600))
        subscribing.subscribe_address(via=via, address=address, incident=incident, send=send)
    except ActionRefused as refused:
        return HttpResponseRedirect(
            reverse("announcements:incident", args=[pk]) + f"?follow_error={refused.code}"
        )
    return render(request, "announcements/subscribe_sent.html", {"via": via, "incident": incident})


@login_required
@require_http_methods(["GET", "POST"])
def my_notices(request: HttpRequest) -> HttpResponse:
    """A signed-in customer's status notices: by e-mail (their announcements address), SMS
    (their verified phone) and Telegram (if linked), the services they use, and the incidents
    they follow."""
    user = request.user
    assert isinstance(user, User)
    error: ActionRefused | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "automatic":
                subscribing.set_automatic(user, on=request.POST.get("on") == "1")
            elif action == "unfollow":
                incident_id = _number(request.POST.get("incident", ""))
                if incident_id is None:
                    raise ActionRefused(
                        "invalid_incident",
                        _("Choose an incident to stop following."),
                        status=400,
                        field="incident",
                    )
                subscribing.unfollow_incident(user, incident_id)
            elif action == "set":
                via = request.POST.get("via", "")
                scope = request.POST.get("scope", "off")
                if scope == "off":
                    subscribing.unsubscribe_account(user, via=via)
                else:
                    subscribing.subscribe_account(
                        user,
                        via=via,
                        everything=scope == "all",
                        services=_ids(request, "services"),
                        areas=_ids(request, "areas"),
                    )
            if error is None:
                return HttpResponseRedirect(reverse("announcements:my_notices") + "?saved=1")
        except ActionRefused as refused:
            error = refused
    from destek.accounts.selectors import notification_address

    language = (translation.get_language() or "en").split("-")[0]

    mine = {
        s.via: s
        for s in Subscription.objects.filter(user=user, incident__isnull=True).prefetch_related(
            "services", "areas"
        )
    }
    telegram = carrier(NoticeVia.TELEGRAM)
    ways = [
        {
            "via": NoticeVia.EMAIL,
            "label": NoticeVia.EMAIL.label,
            "address": notification_address(user, "announcements"),
            "subscription": mine.get(NoticeVia.EMAIL),
        },
        {
            "via": NoticeVia.SMS,
            "label": NoticeVia.SMS.label,
            "address": user.phone if user.phone and user.phone_verified_at else "",
            "subscription": mine.get(NoticeVia.SMS),
        },
        {
            "via": NoticeVia.TELEGRAM,
            "label": NoticeVia.TELEGRAM.label,
            "address": "Telegram" if telegram and telegram.reach(user) else "",
            "subscription": mine.get(NoticeVia.TELEGRAM),
        },
    ]
    for way in ways:
        chosen: Subscription | None = way["subscription"]  # type: ignore[assignment]
        way["service_ids"] = {s.pk for s in chosen.services.all()} if chosen else set()
        way["area_ids"] = {a.pk for a in chosen.areas.all()} if chosen else set()
    used = user.used_services.select_related("service", "area")
    organisation_used = (
        user.organisation.used_services.select_related("service", "area")
        if user.organisation_id and user.organisation
        else []
    )
    return render(
        request,
        "announcements/my_notices.html",
        {
            **_choices(),
            "ways": ways,
            "used": [*used, *organisation_used],
            "automatic": not AutomaticOptOut.objects.filter(user=user).exists(),
            "following": [
                {"incident": row.incident, "title": pick(row.incident.title, language)}
                for row in Subscription.objects.filter(user=user, incident__isnull=False)
                .select_related("incident")
                .order_by("-created_at")
                if row.incident is not None
            ],
            "error": error,
            "saved": request.GET.get("saved") == "1",
        },
        status=error.status if error else 200,
    )
