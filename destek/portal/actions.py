"""Status lookup without signing in: a code to the ticket's own address, then a read-only view."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from destek.lib.errors import ActionRefused
from destek.notify.actions import AutoSubmitted, queue_mail
from destek.notify.threads import Thread
from destek.portal.models import StatusLookup
from destek.tickets.models import Ticket

CODE_LIFETIME = timedelta(minutes=15)
ATTEMPTS = 5
#: How long a verified code keeps the ticket's page open in that browser.
VIEW_LIFETIME = timedelta(minutes=30)


def _hash(lookup_id: uuid.UUID, code: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{lookup_id}:{code}".encode(), hashlib.sha256
    ).hexdigest()


@transaction.atomic
def start_lookup(number: str, email: str) -> uuid.UUID:
    """Returns an id whether or not the pair matches; a code is mailed only when it does."""
    lookup_id = uuid.uuid4()
    email = email.strip().lower()
    try:
        ticket = Ticket.objects.select_related("customer").get(number=int(number.lstrip("#")))
    except (Ticket.DoesNotExist, ValueError):
        return lookup_id
    if ticket.customer.email != email:
        return lookup_id
    code = f"{secrets.randbelow(1_000_000):06d}"
    StatusLookup.objects.create(
        id=lookup_id,
        ticket=ticket,
        email=email,
        code_hash=_hash(lookup_id, code),
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    queue_mail(
        to=email,
        template="status_code",
        context={"code": code, "number": f"#{ticket.number}", "minutes": 15},
        language=ticket.language or ticket.customer.language,
        time_zone=ticket.customer.time_zone,
        thread=Thread.of(ticket),
        auto_submitted=AutoSubmitted.GENERATED,
    )
    return lookup_id


def verify_lookup(lookup_id: uuid.UUID, code: str) -> StatusLookup:
    """Spend the code; five wrong tries (counted even though we refuse) and it is dead."""
    with transaction.atomic():
        lookup = StatusLookup.objects.select_for_update().filter(pk=lookup_id).first()
        usable = (
            lookup is not None
            and lookup.verified_at is None
            and lookup.expires_at > timezone.now()
            and lookup.attempts < ATTEMPTS
        )
        if (
            lookup is not None
            and usable
            and hmac.compare_digest(lookup.code_hash, _hash(lookup.id, code.strip()))
        ):
            lookup.verified_at = timezone.now()
            lookup.save(update_fields=["verified_at"])
            return lookup
        if lookup is not None:
            StatusLookup.objects.filter(pk=lookup.pk).update(attempts=lookup.attempts + 1)
    raise ActionRefused("invalid_code", _("The code is wrong or has expired. Ask for a new one."))


def viewable(lookup_id: uuid.UUID) -> StatusLookup | None:
    """The verified lookup, while its view is still open; reading changes nothing."""
    lookup = StatusLookup.objects.select_related("ticket").filter(pk=lookup_id).first()
    if lookup is None or lookup.verified_at is None:
        return None
    if lookup.verified_at + VIEW_LIFETIME < timezone.now():
        return None
    return lookup
