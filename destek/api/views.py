from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from destek.lib.health import worker_heartbeat_age


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the server can serve: the database answers. The worker's age is reported."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not ready"
        return JsonResponse({"status": "error", "database": repr(exc)[:200]}, status=503)
    age = worker_heartbeat_age()
    return JsonResponse(
        {
            "status": "ok",
            "database": connection.vendor,
            "worker_heartbeat_age_seconds": None if age is None else round(age, 1),
        }
    )
