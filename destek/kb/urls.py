from __future__ import annotations

from django.urls import path

from destek.kb import views

app_name = "kb"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search_page, name="search"),
    path("files/<uuid:public_id>/", views.article_file, name="file"),
    path("<str:lang>/<str:slug>/", views.article, name="article"),
    path("<str:lang>/<str:slug>/feedback/", views.feedback, name="feedback"),
]
