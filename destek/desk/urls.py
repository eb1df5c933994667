from __future__ import annotations

from django.urls import path

from destek.desk import views

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("phone/", views.phone, name="phone"),
    path("tickets/<int:number>/", views.ticket, name="ticket"),
    path("tickets/<int:number>/thread/", views.thread, name="thread"),
    path("tickets/<int:number>/<str:what>/", views.act, name="act"),
]
