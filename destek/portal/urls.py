from __future__ import annotations

from django.urls import path

from destek.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="login"),
    path("status/", views.status_start, name="status_start"),
    path("status/<uuid:lookup_id>/", views.status, name="status"),
    path("sign-out/", views.sign_out, name="logout"),
    path("my/tickets/", views.tickets, name="tickets"),
    path("my/tickets/new/", views.new_ticket, name="new"),
    path("my/tickets/<int:number>/", views.ticket, name="ticket"),
    path("my/tickets/<int:number>/reply/", views.reply, name="reply"),
    path("my/tickets/<int:number>/close/", views.transition, {"action": "close"}, name="close"),
    path("my/tickets/<int:number>/reopen/", views.transition, {"action": "reopen"}, name="reopen"),
]
