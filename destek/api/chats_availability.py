"""`GET /chats/availability?department=<slug>`: whether anyone can take a chat now, for the
widget to say so honestly before the visitor types (destek/chat/availability.py decides).

Public and cheap; rate-limited per address like the knowledge-base suggestions it sits beside
in the widget. An unknown department answers 422 in the caller's language."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import P, QueryEx, Router, Schema

from destek.chat.availability import availability
from destek.lib.errors import ActionRefused
from destek.lib.ratelimit import client_ip, hit
from destek.tickets import config as tickets_config

router = Router(tags=["chat"])

PER_MINUTE = 60


class ErrorOut(Schema):
    detail: str
    code: str


class AvailabilityOut(Schema):
    online: bool
    estimated_wait_seconds: int | None


@router.get(
    "/chats/availability",
    auth=None,
    response={200: AvailabilityOut, 422: ErrorOut, 429: ErrorOut},
    summary="Whether an agent can take a chat now, and the recent average wait",
)
def chat_availability(
    request: HttpRequest, department: QueryEx[str, P(max_length=50)] = ""
) -> AvailabilityOut:
    """`online` false: nobody of the department (any department when none is given) is online
    with a free seat, or the queue is full; a chat started then is filed as a ticket.
    `estimated_wait_seconds`: the average real wait of the day's chats, null when unknown."""
    if not hit("chat-availability", client_ip(request), limit=PER_MINUTE, window_seconds=60):
        raise ActionRefused(
            "rate_limited", _("Too many requests. Please wait a while and try again."), status=429
        )
    chosen = None
    if department:
        chosen = tickets_config.department_by_slug(department)
        if chosen is None:
            raise ActionRefused(
                "invalid_department",
                _("There is no department “{slug}”.").format(slug=department),
            )
    found = availability(chosen)
    return AvailabilityOut(online=found.online, estimated_wait_seconds=found.estimated_wait_seconds)
