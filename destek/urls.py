from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _

from destek.api.api import api
from destek.api.views import healthz
from destek.messaging.views import meta_webhook, telegram_webhook
from destek.portal.account_views import admin_sign_in
from destek.portal.language_views import choose_language

# The admin's own sign-in form would skip two-factor sign-in: admins use the portal's.
admin.site.login = admin_sign_in  # type: ignore[method-assign]
# The product's name in the admin's header and tab, not "Django administration".
admin.site.site_header = admin.site.site_title = _("Destek administration")

# Errors outside a view's own answers: JSON under /api/, 503 for an outage (destek/lib/outage.py).
handler400 = "destek.lib.error_views.bad_request"
handler403 = "destek.lib.error_views.permission_denied"
handler404 = "destek.lib.error_views.page_not_found"
handler500 = "destek.lib.error_views.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path(
        "channels/telegram/<int:channel_id>/webhook",
        telegram_webhook,
        name="telegram_webhook",
    ),
    re_path(
        r"^channels/(?P<kind>whatsapp|messenger|instagram)/(?P<channel_id>[0-9]+)/webhook$",
        meta_webhook,
        name="meta_webhook",
    ),
    path("i18n/setlang/", choose_language, name="set_language"),
    path("desk/", include("destek.desk.urls")),
    path("kb/", include("destek.kb.urls")),
    path("survey/", include("destek.surveys.urls")),
    path("", include("destek.portal.urls")),
    # After the portal: GET /status/ reaches the status page through the portal's
    # `status_start` (its POST looks up a ticket); the feeds are only here.
    path("status/", include("destek.announcements.urls")),
]
