"""The desk's WebSocket routes, served by destek/asgi.py with chat's (chat/routing.py)."""

from __future__ import annotations

from django.urls import re_path

from destek.desk.consumers import TicketConsumer

websocket_urlpatterns = [
    re_path(r"^ws/tickets/(?P<number>[0-9]{1,9})/?$", TicketConsumer.as_asgi()),
]
