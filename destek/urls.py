from __future__ import annotations

from django.contrib import admin
from django.urls import path

from destek.api.api import api
from destek.api.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
