"""Bearer tokens for the API, and the caller's language."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import translation
from ninja.security import HttpBearer

from destek.accounts.actions import user_for_token
from destek.accounts.models import User


def activate_language(request: HttpRequest, user: User | None) -> None:
    """Accept-Language first; without one, the user's own preference."""
    if request.headers.get("Accept-Language") or user is None:
        return
    language = user.language or translation.get_language()
    translation.activate(language)
    request.LANGUAGE_CODE = language


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = user_for_token(token)
        if user is not None:
            activate_language(request, user)
        return user
