"""The language switcher in the page header."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.i18n import set_language as django_set_language

from destek.accounts.actions import set_language


def choose_language(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (the cookie and the redirect back), and for a signed-in person
    their profile's language too, so mail and automatic answers follow the same choice."""
    response = django_set_language(request)
    language = request.POST.get("language", "") if request.method == "POST" else ""
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES):
        set_language(user, language)
    return response
