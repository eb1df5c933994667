"""What a request that failed outside a view's own answers gets.

Under /api/ every error is JSON, `{"detail": ..., "code": ...}` in the caller's language,
whatever produced it: Django's URL resolver (404), a method check (405), the request parser
(400, 413) or an unexpected exception (500). A database that does not answer or a full disk is
a 503 with `Retry-After`, for pages a short page in the visitor's language. Nothing here
touches the database: it may be the thing that is down.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

from destek.lib import outage

log = logging.getLogger("django.request")

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def api_error(status: int, code: str, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail, "code": code}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def describe(status: int) -> tuple[str, str]:
    """The code and the sentence for an error status that no view explained."""
    if status == 400:
        return "bad_request", _("The request could not be read.")
    if status == 401:
        return "unauthenticated", _("Sign in first: send a valid bearer token.")
    if status == 403:
        return "forbidden", _("You are not allowed to do this.")
    if status == 404:
        return "not_found", _("Not found.")
    if status == 405:
        return "method_not_allowed", _("This address does not accept that method.")
    if status == 413:
        return "request_too_large", _("The request is too large.")
    if status == 429:
        return "rate_limited", _("Too many requests. Please wait a little and try again.")
    if status == 503:
        return outage.DATABASE, _("The service is briefly unavailable. Please try again soon.")
    if status >= 500:
        return "server_error", _("Something went wrong on our side. Please try again later.")
    return "http_error", _("The request could not be carried out.")


def unavailable(request: HttpRequest, kind: str) -> HttpResponse:
    """503 for an outage: JSON under /api/, else a page that needs nothing but a template."""
    retry = str(outage.RETRY_AFTER)
    if kind == outage.STORAGE:
        detail = _("The server has no room to store anything right now. Please try again later.")
    else:
        detail = _("The service is briefly unavailable. Please try again soon.")
    if is_api(request):
        response: HttpResponse = api_error(503, kind, detail, Retry_After=retry)
    else:
        response = error_page(503, _("Temporarily unavailable"), detail)
        response["Retry-After"] = retry
    # Logged once per interval by `outage.log_outage`, not once per request by Django.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def error_page(status: int, title: str, detail: str) -> HttpResponse:
    html = render_to_string("errors/error.html", {"title": title, "detail": detail})
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    too_big = isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent)
    if is_api(request):
        if isinstance(exception, MultiPartParserError):
            detail = _(
                "The uploaded form could not be read: a file name or a part's headers may be "
                "too long."
            )
            return api_error(400, "invalid_multipart", detail)
        code, detail = describe(413 if too_big else 400)
        return api_error(413 if too_big else 400, code, detail)
    if too_big:
        code, detail = describe(413)
        return error_page(413, detail, detail)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return api_error(403, *describe(403))
    return error_page(403, _("Not allowed"), describe(403)[1])


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return api_error(404, *describe(404))
    return error_page(
        404, _("Page not found"), _("There is no such page, or it is not yours to see.")
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Called by Django inside the `except` block of an unhandled exception."""
    exc = sys.exc_info()[1]
    kind = outage.outage_kind(exc)
    if kind is not None and exc is not None:
        outage.log_outage(kind, request.path, exc)
        return unavailable(request, kind)
    if is_api(request):
        return api_error(500, *describe(500))
    _code, detail = describe(500)
    return error_page(500, _("Something went wrong"), detail)


def as_json(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error answer under /api/ that is not JSON yet (Django's own pages) made JSON, with
    the headers that matter kept."""
    code, detail = describe(response.status_code)
    converted = api_error(response.status_code, code, detail)
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in response:
            converted[name] = response[name]
    logged: Any = getattr(response, "_has_been_logged", False)
    converted._has_been_logged = logged  # type: ignore[attr-defined]
    return converted
