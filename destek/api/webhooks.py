"""Webhook targets and their delivery log (admins only): `POST /webhooks` (201 with the id and
the secret, shown this once), `GET /webhooks`, `DELETE /webhooks/{id}`,
`GET /webhooks/{id}/deliveries` (newest first, cursor pagination) and
`POST /webhooks/deliveries/{id}/replay`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import P, QueryEx, Router, Schema, Status

from destek.accounts.http import ApiRequest
from destek.accounts.models import User
from destek.automation import webhooks
from destek.automation.models import WebhookDelivery, WebhookTarget
from destek.lib.errors import ActionRefused
from destek.tickets.selectors import keyset_page

router = Router(tags=["webhooks"])


class ErrorOut(Schema):
    detail: str
    code: str


class TargetIn(Schema):
    url: str
    #: Event names (`ticket.created`, `ticket.updated`, `ticket.closed`, `message.created`,
    #: `survey.answered`) or `["*"]` for every event.
    events: list[str]
    #: 16 to 128 characters; generated when left out.
    secret: str | None = None
    #: Send internal notes as `message.created` (with `"internal": true`) too.
    internal_notes: bool = False


class TargetOut(Schema):
    id: int
    url: str
    events: list[str]
    internal_notes: bool
    active: bool
    created_at: datetime


class TargetCreatedOut(TargetOut):
    #: The signing secret: shown only in this answer.
    secret: str


class TargetList(Schema):
    items: list[TargetOut]


class DeliveryOut(Schema):
    id: int
    delivery: str
    event: str
    status: str
    attempts: int
    response_status: int | None
    response_body: str
    duration_ms: int | None
    error: str
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    replay_of: int | None
    payload: dict[str, Any]

    @staticmethod
    def resolve_delivery(delivery: WebhookDelivery) -> str:
        return str(delivery.public_id)

    @staticmethod
    def resolve_replay_of(delivery: WebhookDelivery) -> int | None:
        return delivery.replay_of_id


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _admin(request: ApiRequest) -> User:
    user = request.auth
    if not user.is_admin:
        raise ActionRefused("admins_only", _("Only administrators manage webhooks."), status=403)
    return user


def _not_found() -> ActionRefused:
    return ActionRefused("not_found", _("Not found."), status=404)


def access_target(user: User, target_id: int) -> WebhookTarget:
    """The one door to a target: admins only, 404 when there is none."""
    if not user.is_admin:
        raise _not_found()
    target = WebhookTarget.objects.filter(pk=target_id, deleted_at__isnull=True).first()
    if target is None:
        raise _not_found()
    return target


@router.post(
    "/webhooks",
    response={201: TargetCreatedOut, **ERRORS, 422: ErrorOut},
    summary="Admins: a new webhook target; the answer carries its secret, shown only now",
)
def create(request: ApiRequest, payload: TargetIn) -> Status[WebhookTarget]:
    user = _admin(request)
    target = webhooks.create_target(
        user,
        url=payload.url,
        events=payload.events,
        secret=payload.secret,
        internal_notes=payload.internal_notes,
    )
    return Status(201, target)


@router.get("/webhooks", response={200: TargetList, **ERRORS}, summary="Admins: the targets")
def list_targets(request: ApiRequest) -> dict[str, Any]:
    _admin(request)
    live = WebhookTarget.objects.filter(deleted_at__isnull=True)
    return {"items": list(live.order_by("id")[:500])}


@router.delete(
    "/webhooks/{target_id}",
    response={204: None, **ERRORS},
    summary="Admins: remove a target and its delivery log",
)
def delete(request: ApiRequest, target_id: int) -> Status[None]:
    user = _admin(request)
    webhooks.delete_target(user, access_target(user, target_id))
    return Status(204, None)


@router.get(
    "/webhooks/{target_id}/deliveries",
    response={200: DeliveryPage, **ERRORS, 422: ErrorOut},
    summary="Admins: a target's deliveries, newest first (cursor pagination)",
)
def deliveries(
    request: ApiRequest,
    target_id: int,
    cursor: str | None = None,
    limit: QueryEx[int | None, P(ge=1, le=200)] = None,
) -> dict[str, Any]:
    user = _admin(request)
    target = access_target(user, target_id)
    page = keyset_page(
        WebhookDelivery.objects.filter(target=target),
        cursor=cursor,
        limit=limit or settings.DESTEK_API_PAGE_SIZE,
    )
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    response={201: DeliveryOut, **ERRORS},
    summary="Admins: send a delivery's payload again, as a new delivery",
)
def replay(request: ApiRequest, delivery_id: int) -> Status[WebhookDelivery]:
    user = _admin(request)
    delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        raise _not_found()
    copy = webhooks.replay(user, delivery)
    copy.refresh_from_db()
    return Status(201, copy)
