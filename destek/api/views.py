"""`/healthz`: each component the service needs, and 503 when any is beyond its threshold."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from destek.lib import outage
from destek.lib.health import worker_heartbeat_age
from destek.notify.choices import DeliveryStatus
from destek.notify.models import Delivery

log = logging.getLogger(__name__)

#: When this web process started: the worker counts as "starting" for a grace period after.
STARTED = time.monotonic()

OK, STARTING, INLINE, FAILING = "ok", "starting", "inline", "failing"


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"status": OK, "vendor": connection.vendor}


def check_queue() -> dict[str, Any]:
    from huey.contrib.djhuey import HUEY

    return {"status": OK, "pending": HUEY.pending_count()}


def check_worker() -> dict[str, Any]:
    """Jobs run in this process (tests, DESTEK_HUEY_IMMEDIATE=1): nothing to watch. Otherwise
    the heartbeat must be younger than DESTEK_HEALTH_WORKER_MAX_AGE, except during the first
    DESTEK_HEALTH_STARTUP_GRACE seconds of this web process, when a missing or old heartbeat
    means the worker is still starting (`make run` starts both at once)."""
    age = worker_heartbeat_age()
    rounded = None if age is None else round(age, 1)
    if settings.HUEY_IMMEDIATE:
        return {"status": INLINE, "heartbeat_age_seconds": rounded}
    if age is not None and age <= settings.DESTEK_HEALTH_WORKER_MAX_AGE:
        return {"status": OK, "heartbeat_age_seconds": rounded}
    if time.monotonic() - STARTED < settings.DESTEK_HEALTH_STARTUP_GRACE:
        return {"status": STARTING, "heartbeat_age_seconds": rounded}
    return {"status": FAILING, "heartbeat_age_seconds": rounded}


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_cache() -> dict[str, Any]:
    """The shared cache (Redis when scaled out): rate limits and heartbeats live there. Not in
    the `web` group: without it requests are still served (rate limits let them through)."""
    cache.get("destek:health:probe")
    return {"status": OK}


def check_disk() -> dict[str, Any]:
    """Free space where the data and the attachments are written (the attachments only when
    they are files here, not objects in a bucket)."""
    minimum = settings.DESTEK_HEALTH_DISK_MIN_MB
    places = {"data": Path(settings.DATA_DIR)}
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        places["media"] = Path(settings.MEDIA_ROOT)
    free = {name: shutil.disk_usage(_existing(path)).free // 2**20 for name, path in places.items()}
    low = min(free.values()) < minimum
    return {"status": FAILING if low else OK, "free_mb": free, "minimum_mb": minimum}


def check_outbox() -> dict[str, Any]:
    """Mail and SMS due but not sent: how many, and how long the oldest has waited."""
    now = timezone.now()
    due = Delivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
    found = due.aggregate(count=Count("pk"), oldest=Min("next_attempt_at"))
    waited = None if found["oldest"] is None else (now - found["oldest"]).total_seconds()
    too_many = found["count"] > settings.DESTEK_HEALTH_OUTBOX_MAX_DUE
    too_old = waited is not None and waited > settings.DESTEK_HEALTH_OUTBOX_MAX_DELAY
    return {
        "status": FAILING if too_many or too_old else OK,
        "due": found["count"],
        "oldest_due_age_seconds": None if waited is None else round(waited, 1),
        "max_due": settings.DESTEK_HEALTH_OUTBOX_MAX_DUE,
        "max_delay_seconds": settings.DESTEK_HEALTH_OUTBOX_MAX_DELAY,
    }


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "cache": check_cache,
    "queue": check_queue,
    "worker": check_worker,
    "disk": check_disk,
    "outbox": check_outbox,
}
#: `?component=web` and `/readyz`: what a web process needs to serve (for a load balancer).
#: Not the cache: a Redis restart would otherwise empty the pool of every web process at once,
#: while they can serve without it.
GROUPS = {"web": ["database", "disk"]}


def _run(name: str) -> dict[str, Any]:
    try:
        return CHECKS[name]()
    except Exception as exc:  # a failing component is reported, never a 500
        kind = outage.outage_kind(exc) or f"healthz_{name}"
        outage.log_outage(kind, f"healthz {name}", exc)
        return {"status": FAILING, "error": type(exc).__name__}


def _report(names: list[str]) -> JsonResponse:
    components = {name: _run(name) for name in names}
    failing = [name for name, result in components.items() if result["status"] == FAILING]
    body: dict[str, Any] = {"status": "failing" if failing else "ok", "failing": failing}
    if "database" in components:
        database = components["database"]
        body["database"] = database.get("vendor", "unavailable")
    if "worker" in components:
        body["worker_heartbeat_age_seconds"] = components["worker"]["heartbeat_age_seconds"]
    body["components"] = components
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with `{"status": "ok", ...}` when every component asked for is fine, else 503
    with `"status": "failing"`. `?component=database,worker` (or `web`: database and disk)
    checks only those. For monitoring: it also fails when the cache, the workers or the outbox
    do, which no web process can mend, so a load balancer asks `/readyz` instead."""
    asked: list[str] = []
    for part in request.GET.get("component", "").split(","):
        part = part.strip()
        asked += GROUPS.get(part, [part] if part else [])
    unknown = [name for name in asked if name not in CHECKS]
    if unknown:
        return JsonResponse(
            {"status": "error", "unknown_components": unknown, "components": list(CHECKS)},
            status=400,
        )
    return _report(asked or list(CHECKS))


# --- the load balancer's probes (answered by `Probes`, below, before any other middleware) ----


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness, for a load balancer: whether this process can serve requests now, i.e. its
    database and its disk answer (the `web` group of /healthz). 503 takes it out of the pool
    until it answers again."""
    return _report(GROUPS["web"])


def livez(request: HttpRequest) -> JsonResponse:
    """Liveness, for a supervisor (systemd, a container runtime): the process answers at all.
    It reads nothing, so an outage of the database does not get every process restarted."""
    return JsonResponse({"status": OK})


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {"/livez": livez, "/readyz": readyz}


class Probes:
    """Answers `/livez` and `/readyz` first of all middleware: a load balancer or a container
    runtime asks with the backend's own address as Host (not in DESTEK_ALLOWED_HOSTS) and over
    plain HTTP (DESTEK_HTTPS would redirect it), and its probe needs no session or language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = probe(request)
        response["Cache-Control"] = "no-store"
        return response
