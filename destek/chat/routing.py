"""The WebSocket routes (destek/asgi.py serves them under the same origin as the pages): live
chat's, and those the floors above hand in (the desk's ticket socket), since chat imports
nothing of theirs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import URLPattern, re_path

from destek.chat.consumers import ChatConsumer, InboxConsumer, RefuseConsumer

websocket_urlpatterns = [
    re_path(r"^ws/chats/(?P<chat_id>[0-9]{1,12})/?$", ChatConsumer.as_asgi()),
    re_path(r"^ws/inbox/?$", InboxConsumer.as_asgi()),
]
# Any other path is refused by a consumer, not by an error in the router.
refusal = re_path(r"", RefuseConsumer.as_asgi())


class SameSiteOrTokenOrigin(OriginValidator):  # type: ignore[misc]
    """A browser's socket must come from a page of this site (ALLOWED_HOSTS): the embeddable
    widget runs in an iframe that Destek serves, so its Origin is Destek's own. This is what
    keeps another site from opening a socket with a signed-in agent's cookies.

    A socket without an Origin header is not a browser's (browsers always send one); it is let
    through, since it can carry no one's cookies, and the door still wants a token."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))


def websocket_application(more: Sequence[URLPattern] = ()) -> Any:
    """Chat's routes and `more`, behind the same origin check and sign-in."""
    hosts = list(settings.ALLOWED_HOSTS)
    routes = URLRouter([*websocket_urlpatterns, *more, refusal])
    return SameSiteOrTokenOrigin(AuthMiddlewareStack(routes), hosts)
