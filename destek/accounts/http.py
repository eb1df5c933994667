"""Request types whose caller is known, so views and endpoints use `request.user` as a User.

Django types `request.user` as a user or an anonymous one; past a sign-in check it is always
ours. These are annotations only: Django and django-ninja still pass a plain HttpRequest.
"""

from __future__ import annotations

from django.http import HttpRequest

from destek.accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A page request past `login_required` (or a check like it): `user` is signed in."""

    user: User


class ApiRequest(HttpRequest):
    """An API request past the bearer-token check: `auth` is the token's user."""

    auth: User
