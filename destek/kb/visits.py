"""Filing attempts ("visits") for deflection: the new-ticket form issues a random id, the
suggestions carry it into the articles they open, filing the form settles it.

Only ids this browser's session was issued count, so a shared link with someone else's
`?visit=` cannot inflate another visit's numbers."""

from __future__ import annotations

import re
import uuid

from django.http import HttpRequest

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
