from __future__ import annotations

from django.urls import path

from destek.announcements import notice_views, views

app_name = "announcements"

urlpatterns = [
    path("", views.status_page, name="status"),
    path("incidents/<int:pk>/", views.incident_page, name="incident"),
    path("incidents/<int:pk>/follow/", notice_views.follow, name="follow"),
    path("subscribe/", notice_views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", notice_views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", notice_views.unsubscribe, name="unsubscribe"),
    path("notices/", notice_views.my_notices, name="my_notices"),
    path("feed.atom", views.StatusFeed(), name="feed"),
    path("<slug:slug>/feed.atom", views.StatusFeed(), name="service_feed"),
]
