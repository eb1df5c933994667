"""The ASGI application: pages and API through Django, WebSockets (live chat, the desk's ticket
presence) through Channels.

`make run` serves both from one uvicorn process on one origin; in production `destek ws`
serves it for /ws/ (the proxy sends /ws/ there) and `destek web` serves HTTP through WSGI."""

from __future__ import annotations

import logging
import os
import re

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings")
# Django first: the routes import models, which need the apps loaded.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from destek.chat.routing import websocket_application  # noqa: E402
from destek.desk.routing import websocket_urlpatterns as desk_sockets  # noqa: E402

application = ProtocolTypeRouter(
    {"http": django_application, "websocket": websocket_application(desk_sockets)}
)

_TOKEN = re.compile(r"((?:^|[?&])token=)[^&\s\"]*")


class HideTokens(logging.Filter):
    """uvicorn logs each request's path with its query: a chat socket's `token=` (a visitor's
    or an API token) must not end up in the server's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1…", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


for _name in ("uvicorn.access", "uvicorn.error"):
    logging.getLogger(_name).addFilter(HideTokens())
