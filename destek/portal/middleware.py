"""The signed-in person's own language and time zone for every page they see."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from destek.lib.dates import activate_calendar


class PersonalLocaleMiddleware:
    """Language: the switcher's cookie, then the user's preference, then Accept-Language
    (LocaleMiddleware has already done the last). Time zone: the user's, else the site's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            activate_calendar(user.calendar)
        else:
            activate_calendar("solar_hijri")
        response = self.get_response(request)
        timezone.deactivate()
        return response
