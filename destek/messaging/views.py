"""The platforms' webhooks: check the secret, store the update once, queue the work, answer
at once. Outside /api/v1/: Telegram calls it, not our clients."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from destek.messaging import actions, graph
from destek.messaging.choices import ChannelKind
from destek.messaging.models import MessagingChannel
from destek.messaging.platform import BadEvent


def _error(status: int, code: str) -> JsonResponse:
    return JsonResponse({"ok": False, "code": code}, status=status)


def _too_large(request: HttpRequest) -> bool:
    limit = settings.DESTEK_MESSAGING_WEBHOOK_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > limit or len(request.body) > limit


@csrf_exempt
@require_http_methods(["GET", "POST"])
def meta_webhook(request: HttpRequest, kind: str, channel_id: int) -> HttpResponse:
    """Meta's webhook: GET is the verification challenge (the verify token is the channel's
    secret), POST a batch signed with the app secret (`X-Hub-Signature-256`)."""
    channel = (
        MessagingChannel.objects.filter(pk=channel_id, kind=kind)
        .exclude(kind=ChannelKind.TELEGRAM)
        .first()
    )
    if request.method == "GET":
        given = request.GET.get("hub.verify_token", "")
        expected = channel.webhook_secret if channel is not None else "-"
        same = hmac.compare_digest(given.encode(), expected.encode())
        if request.GET.get("hub.mode") != "subscribe" or not same or channel is None:
            return _error(403, "bad_verify_token")
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    if channel is None:
        return _error(403, "bad_signature")
    if _too_large(request):
        return _error(413, "too_large")
    if not graph.signature_ok(
        channel, request.body, request.headers.get("X-Hub-Signature-256", "")
    ):
        return _error(403, "bad_signature")
    try:
        actions.receive(channel, json.loads(request.body))
    except (ValueError, BadEvent):
        return _error(400, "bad_update")
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def telegram_webhook(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = MessagingChannel.objects.filter(pk=channel_id, kind=ChannelKind.TELEGRAM).first()
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    expected = channel.webhook_secret if channel is not None else "-"
    # Constant-time, and an unknown channel answers like a wrong secret.
    if not hmac.compare_digest(given.encode(), expected.encode()) or channel is None:
        return _error(403, "bad_secret")
    limit = settings.DESTEK_MESSAGING_WEBHOOK_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _error(413, "too_large")
    body = request.body
    if len(body) > limit:
        return _error(413, "too_large")
    try:
        actions.receive(channel, json.loads(body))
    except (ValueError, BadEvent):
        return _error(400, "bad_update")
    return JsonResponse({"ok": True})
