"""The profile's "Messengers" section: connect a Telegram chat with a one-time deep link, or
disconnect a chat. Thin: the door and the work are in destek.messaging.linking."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from destek.accounts.http import AuthenticatedHttpRequest
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import hit
from destek.messaging import linking
from destek.portal.account_views import _profile

#: Deep links one account may make in an hour.
LINKS_PER_HOUR = 10


def _back() -> HttpResponse:
    return redirect(reverse("portal:profile") + "#messengers")


@never_cache
@login_required
@require_POST
def messenger_link(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The page with the new deep link in it (rendered, not redirected to: the link is
    shown once and never stored)."""
    channel = linking.channel_to_link(request.POST.get("channel", ""))
    if channel is None:
        raise Http404
    if not hit("messenger-link-token", str(request.user.pk), limit=LINKS_PER_HOUR,
               window_seconds=3600):  # fmt: skip
        messages.error(request, _("Too many attempts. Please wait a few minutes."))
        return _back()
    try:
        link = linking.make_link_token(request.user, channel)
    except ActionRefused as refusal:
        messages.error(request, str(refusal.detail))
        return _back()
    return _profile(request, messenger_link=link)


@login_required
@require_POST
def messenger_unlink(request: AuthenticatedHttpRequest) -> HttpResponse:
    contact = linking.own_linked_contact(request.user, request.POST.get("contact", ""))
    if contact is None:
        raise Http404
    linking.unlink_contact(contact, by=request.user)
    messages.success(request, _("The chat is disconnected from your account."))
    return _back()
