from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from destek.lib.health import worker_heartbeat_age

log = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the server can serve: the database answers. The worker's age is reported."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not ready"; the detail goes to the log
        log.exception("healthz: the database does not answer")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    age = worker_heartbeat_age()
    return JsonResponse(
        {
            "status": "ok",
            "database": connection.vendor,
            "worker_heartbeat_age_seconds": None if age is None else round(age, 1),
        }
    )
