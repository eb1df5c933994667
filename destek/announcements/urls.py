from __future__ import annotations

from django.urls import path

from destek.announcements import views

app_name = "announcements"

urlpatterns = [
    path("", views.status_page, name="status"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("feed.atom", views.StatusFeed(), name="feed"),
    path("<slug:slug>/feed.atom", views.StatusFeed(), name="service_feed"),
]
