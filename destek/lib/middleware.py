"""Security headers Django 5.2 does not set itself, and JSON errors under /api/."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from destek.lib.error_views import API_PREFIX, as_json

#: Pages load only our own scripts, styles and images; nothing frames us.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A view that set its own policy (attachments: a sandbox) keeps it.
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        return response


class ApiErrorsMiddleware:
    """Under /api/ every error answer is JSON with `detail` and `code` in the caller's
    language, whoever produced it (a 405 from a method check, a 400 from the request parser).
    The views' own JSON errors pass untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return as_json(request, response)
        return response
