from __future__ import annotations

from django.urls import path

from destek.surveys import views

app_name = "surveys"

urlpatterns = [
    path("<str:token>/", views.answer, name="answer"),
]
