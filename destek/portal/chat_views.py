"""The chat widget's page, /chat/widget/: the pre-chat form, the knowledge-base suggestions,
the conversation and its end, driven by chat-widget.js against the chat API.

The one page other sites may frame (chat-embed.js puts it in an iframe): its frame-ancestors
come from DESTEK_CHAT_FRAME_ANCESTORS, every other page keeps denying framing. Who the
visitor is comes from the portal's session (a signed-in customer) or from a site that signed
its user (`site`, `uid`, `email`, `ts`, `sig` in the query; destek/chat/identity.py); the page
hands its script a Destek-signed identity token either way, because inside another site's
iframe the browser sends no Destek cookie to the API.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from destek.accounts.models import User
from destek.announcements.selectors import banner_for
from destek.chat import identity as chat_identity
from destek.chat.availability import availability
from destek.portal.chat_strings import widget_strings
from destek.tickets import config as tickets_config
from destek.tickets.selectors import upload_limits

#: The widget's own policy: the site's (destek/lib/middleware.py) with the API's WebSocket
#: spelled out (older browsers do not count ws: as 'self') and the configured ancestors.
WIDGET_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self' {sockets}; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)


def _language(request: HttpRequest) -> None:
    """`?lang=` (the embedding page's language) wins over the cookie and the browser's."""
    wanted = request.GET.get("lang", "")[:16].lower()
    codes = {code for code, _name in settings.LANGUAGES}
    if wanted not in codes:
        wanted = wanted.split("-")[0]
    if wanted in codes:
        translation.activate(wanted)
        request.LANGUAGE_CODE = wanted


def _visitor(request: HttpRequest) -> tuple[chat_identity.Identity | None, str]:
    """The known visitor, or None; and why a site's signature was refused ("" when none)."""
    user = request.user
    if user.is_authenticated and user.is_customer:
        return chat_identity.for_customer(user), ""
    query = request.GET
    if "sig" not in query:
        return None, ""
    try:
        return chat_identity.verify_site_signature(
            query.get("site", ""),
            query.get("uid", ""),
            query.get("email", ""),
            query.get("ts", ""),
            query.get("sig", ""),
            name=query.get("name", ""),
        ), ""
    except chat_identity.IdentityRefused as refusal:
        return None, refusal.message


def _banner_reader(request: HttpRequest, known: chat_identity.Identity | None) -> User | None:
    """Whose services the banner is about: the known customer, else nobody (a visitor)."""
    if known is None or known.user_id is None:
        return None
    if request.user.is_authenticated and request.user.pk == known.user_id:
        return request.user
    return User.objects.filter(pk=known.user_id, is_active=True).first()


def _storage_key(known: chat_identity.Identity | None) -> str:
    if known is None:
        return "destek-chat"
    if known.user_id is not None:
        return f"destek-chat:user:{known.user_id}"
    return f"destek-chat:site:{known.site}:{known.external_id}"


def _ancestors() -> str:
    """Who may frame the widget: the configured sites, and always the portal itself (its
    chat button opens the widget in a panel)."""
    allowed = settings.DESTEK_CHAT_FRAME_ANCESTORS.split()
    if "*" in allowed:
        return "*"
    return " ".join(["'self'", *(source for source in allowed if source != "'none'")])


@never_cache
@xframe_options_exempt
@require_GET
def widget(request: HttpRequest) -> HttpResponse:
    _language(request)
    known, refused = _visitor(request)
    departments = tickets_config.departments()
    chosen = tickets_config.department_by_slug(request.GET.get("department", "")[:50])
    if chosen is None and len(departments) == 1:
        chosen = departments[0]
    now = availability(chosen)
    limits = upload_limits()
    config: dict[str, Any] = {
        "api": "/api/v1",
        "socket": "/ws/chats/",
        "language": translation.get_language(),
        "identity": chat_identity.issue(known) if known else "",
        "known": known is not None,
        "known_name": known.name if known else "",
        "known_email": known.email if known else "",
        # For a signed-in customer's session (the chat API checks CSRF on session writes).
        "csrf": get_token(request) if request.user.is_authenticated else "",
        "max_bytes": limits["max_bytes"],
        "max_mb": limits["max_mb"],
        "embedded": request.GET.get("embed") == "1",
        # Where a reload finds its chat: one per known person, so another person signing in
        # on the same browser does not continue it.
        "storage_key": _storage_key(known),
    }
    response = render(
        request,
        "portal/chat_widget.html",
        {
            "known": known,
            "refused": refused,
            "departments": [(d.slug, d.display_name()) for d in departments],
            "chosen": chosen.slug if chosen else "",
            "online": now.online,
            "config": config,
            # Before a chat starts: "we know about it" while an incident concerns the
            # visitor (a signed-in customer's services; a visitor's: outages of any).
            "banner": banner_for(_banner_reader(request, known)),
            "strings": widget_strings(),
            # The survey at the end: each question, and its short name in a refusal (the
            # survey page's and the survey action's words).
            "survey_questions": [
                ("speed", _("How fast was our first answer?"), _("Speed of the first answer")),
                ("clarity", _("How clear were our answers?"), _("Clarity")),
                ("tone", _("How polite were we?"), _("Politeness")),
            ],
            "survey_scores": (1, 2, 3, 4, 5),
        },
    )
    host = request.get_host()
    response["Content-Security-Policy"] = WIDGET_CSP.format(
        sockets=f"ws://{host} wss://{host}", ancestors=_ancestors()
    )
    return response
