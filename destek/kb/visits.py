"""Filing attempts ("visits") for deflection: the new-ticket form issues a random id, the
suggestions carry it into the articles they open, filing the form settles it.

Only ids this browser's session was issued count, so a shared link with someone else's
`?visit=` cannot inflate another visit's numbers."""

from __future__ import annotations

import hashlib
import re
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from destek.lib.ratelimit import client_ip

SESSION_KEY = "kb_visits"
KEEP = 20
_FORM = re.compile(r"[0-9a-f]{32}")


def issue_visit(request: HttpRequest, current: str | None = None) -> str:
    """The visit id of this form page: the one the form sent back (when it is this
    session's), else a new one remembered in the session."""
    if current and is_own_visit(request, current):
        return current
    visit = uuid.uuid4().hex
    request.session[SESSION_KEY] = [*request.session.get(SESSION_KEY, []), visit][-KEEP:]
    return visit


def is_own_visit(request: HttpRequest, visit: str | None) -> bool:
    return bool(visit and _FORM.fullmatch(visit) and visit in request.session.get(SESSION_KEY, []))


def has_session(request: HttpRequest) -> bool:
    """Whether the browser brought a live session. Only then may counting views write to it:
    writing to the session of a reader without one makes a session row for every anonymous
    article view (crawlers and readers alike)."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    request.session.get(SESSION_KEY)  # loads it: an unknown or expired key is dropped
    return request.session.session_key is not None


def first_anonymous_view(request: HttpRequest, article_id: int, window_seconds: int) -> bool:
    """For a reader without a session: whether this is the first view of the article from
    this client (its address and browser, hashed) in the current window of the clock; only
    the shared cache remembers it, for one window."""
    bucket = int(time.time() // window_seconds)
    client = "|".join(
        [
            client_ip(request),
            request.headers.get("User-Agent", "")[:300],
            request.headers.get("Accept-Language", "")[:100],
            str(article_id),
            str(bucket),
        ]
    )
    key = "kb-view:" + hashlib.sha256(client.encode()).hexdigest()[:32]
    try:
        return bool(cache.add(key, 1, timeout=window_seconds + 1))
    except Exception:  # the cache is down: count (the per-address cap still holds)
        return True
