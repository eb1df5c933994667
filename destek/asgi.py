"""The ASGI application: pages and API through Django, WebSockets (live chat) through Channels.

`make run` serves both from one uvicorn process on one origin; in production `destek ws`
serves it for /ws/ (the proxy sends /ws/ there) and `destek web` serves HTTP through WSGI."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "destek.settings")
# Django first: the routes import models, which need the apps loaded.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from destek.chat.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_application, "websocket": websocket_application()})
