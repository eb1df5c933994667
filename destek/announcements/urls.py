from __future__ import annotations

from django.urls import path

from destek.announcements import views

app_name = "announcements"

urlpatterns = [
    path("", views.status_page, name="status"),
    path("feed.atom", views.StatusFeed(), name="feed"),
    path("<slug:slug>/feed.atom", views.StatusFeed(), name="service_feed"),
]
