from __future__ import annotations

from django.urls import path

from destek.desk import views

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("tickets/<int:number>/", views.ticket, name="ticket"),
    path("tickets/<int:number>/<str:what>/", views.act, name="act"),
]
